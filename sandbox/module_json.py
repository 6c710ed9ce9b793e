"""Checking the module descriptions a sandbox returns.

They were produced by untrusted code, so they are treated as data of unknown
shape: only the known keys are kept, with the expected types and bounded
lengths, and a module may only describe types inside its own packages.
"""

from __future__ import annotations

from thymis_controller.schema import MAX_ICON_CHARS

__all__ = ["MalformedResult", "clean_module", "clean_setting"]


class MalformedResult(ValueError):
    """The sandbox's answer does not have the expected shape."""


def _str_or_none(value, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) else None


def clean_setting(entry: dict) -> dict:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise MalformedResult("the sandbox returned a malformed setting description")
    clean = {
        "name": entry["name"][:200],
        "display_name": _str_or_none(entry.get("display_name"), 200) or entry["name"][:200],
        "type": _str_or_none(entry.get("type"), 50) or "unknown",
        "description": _str_or_none(entry.get("description"), 4000),
        "default": entry.get("default"),
        "example": _str_or_none(entry.get("example"), 4000),
        "nix_attr_name": _str_or_none(entry.get("nix_attr_name"), 500),
        "order": entry.get("order") if isinstance(entry.get("order"), int) else 0,
    }
    if clean["type"] == "select-one":
        clean["options"] = [
            {"label": str(o.get("label"))[:200], "value": o.get("value")}
            for o in entry.get("options") or []
            if isinstance(o, dict)
        ]
    elif clean["type"] == "list":
        clean["element_name"] = _str_or_none(entry.get("element_name"), 200)
        clean["element_key"] = _str_or_none(entry.get("element_key"), 200)
        clean["settings"] = [clean_setting(s) for s in entry.get("settings") or []]
    elif clean["type"] == "textarea-code":
        clean["language"] = _str_or_none(entry.get("language"), 50)
    elif clean["type"] == "secret":
        clean["allowed_types"] = [t[:50] for t in entry.get("allowed_types") or [] if isinstance(t, str)][:10]
    elif clean["type"] == "systemd-timer":
        defaults = entry.get("timer_defaults")
        clean["timer_defaults"] = {k[:50]: v for k, v in defaults.items() if isinstance(k, str)} \
            if isinstance(defaults, dict) and len(defaults) <= 20 else {}
    return clean


def clean_module(entry, packages: list[str]) -> dict:
    if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
        raise MalformedResult("the sandbox returned a malformed module description")
    module_type = entry["type"]
    if not any(module_type.startswith(p + ".") for p in packages):
        raise MalformedResult(f"the sandbox reported module `{module_type[:200]}` outside the repository's packages")
    icons = {}
    for key in ("icon", "icon_dark"):
        value = entry.get(key)
        ok = isinstance(value, str) and value.startswith("data:image/") and len(value) <= MAX_ICON_CHARS
        icons[key] = value if ok else None
    return {
        "type": module_type[:300],
        "display_name": _str_or_none(entry.get("display_name"), 200) or module_type.rsplit(".", 1)[-1],
        "description": _str_or_none(entry.get("description"), 4000),
        "category": _str_or_none(entry.get("category"), 100),
        **icons,
        "api": "2024" if entry.get("api") == "2024" else "current",
        "package": next(p for p in packages if module_type.startswith(p + ".")),
        "settings": [clean_setting(s) for s in entry.get("settings") or []],
    }

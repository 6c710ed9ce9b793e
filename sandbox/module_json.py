"""Checking the module descriptions a sandbox returns.

They were produced by untrusted code, so they are treated as data of unknown
shape: only the known keys are kept, with the expected types, and a module may
only describe types inside its own packages. Every value has a size limit
(``LIMITS``, ``MAX_*``); a value over its limit fails the modules step with the
module, setting and field named, rather than being cut or stored.
"""

from __future__ import annotations

import json

from thymis_controller.schema import MAX_ICON_CHARS

__all__ = ["LIMITS", "MAX_OPTIONS", "MAX_SETTINGS", "MAX_VALUE_BYTES", "MalformedResult", "clean_module",
           "clean_setting"]

LIMITS = {  # characters per text field
    "type": 300, "display_name": 200, "description": 4000, "category": 100, "name": 200, "example": 4000,
    "nix_attr_name": 500, "element_name": 200, "element_key": 200, "allowed_types": 50, "language": 50,
    "processing": 50, "on_device": 1000,
    "setting type": 50, "label": 200,
    "icon": MAX_ICON_CHARS, "icon_dark": MAX_ICON_CHARS,
}
MAX_VALUE_BYTES = 64 * 1024  # a setting's default or an option's value, as JSON
MAX_OPTIONS = 500  # options of one select-one setting
MAX_SETTINGS = 200  # settings of one module, or of one list setting's element
MAX_NESTING = 4  # list settings inside list settings


class MalformedResult(ValueError):
    """The sandbox's answer does not have the expected shape, or a value is over its limit."""


def _text(entry: dict, key: str, where: str, limit_key: str | None = None) -> str | None:
    value = entry.get(key)
    if not isinstance(value, str):
        return None
    limit = LIMITS[limit_key or key]
    if len(value) > limit:
        raise MalformedResult(f"{where}{key} is {len(value)} characters long, over the limit of {limit}")
    return value


def _value(value, where: str, what: str):
    try:
        size = len(json.dumps(value, ensure_ascii=False).encode())
    except (TypeError, ValueError, RecursionError):
        raise MalformedResult(f"{where}{what} is not a plain JSON value") from None
    if size > MAX_VALUE_BYTES:
        raise MalformedResult(f"{where}{what} is {size} bytes as JSON, over the limit of {MAX_VALUE_BYTES}")
    return value


def _list(entry: dict, key: str, where: str, limit: int) -> list:
    items = entry.get(key) or []
    if not isinstance(items, list):
        raise MalformedResult(f"{where}{key} is not a list")
    if len(items) > limit:
        raise MalformedResult(f"{where}{key} has {len(items)} entries, over the limit of {limit}")
    return items


def clean_setting(entry: dict, module: str = "", depth: int = 0) -> dict:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise MalformedResult("the sandbox returned a malformed setting description")
    where = f"module `{module}`: " if module else ""
    name = _text(entry, "name", where)
    where = f"{where}setting `{name}`: "
    clean = {
        "name": name,
        "display_name": _text(entry, "display_name", where) or name,
        "type": _text(entry, "type", where, "setting type") or "unknown",
        "description": _text(entry, "description", where),
        "default": _value(entry.get("default"), where, "default"),
        "example": _text(entry, "example", where),
        "nix_attr_name": _text(entry, "nix_attr_name", where),
        "order": entry.get("order") if isinstance(entry.get("order"), int) else 0,
    }
    if clean["type"] == "select-one":
        options = [o for o in _list(entry, "options", where, MAX_OPTIONS) if isinstance(o, dict)]
        clean["options"] = [
            {"label": _text({"label": str(o.get("label"))}, "label", f"{where}option {i}: "),
             "value": _value(o.get("value"), f"{where}option {i}: ", "value")}
            for i, o in enumerate(options, 1)
        ]
    elif clean["type"] == "list":
        if depth >= MAX_NESTING:
            raise MalformedResult(f"{where}list settings are nested deeper than {MAX_NESTING} levels")
        clean["element_name"] = _text(entry, "element_name", where)
        clean["element_key"] = _text(entry, "element_key", where)
        clean["settings"] = [clean_setting(s, module, depth + 1)
                             for s in _list(entry, "settings", where, MAX_SETTINGS)]
    elif clean["type"] == "textarea-code":
        clean["language"] = _text(entry, "language", where)
    elif clean["type"] == "secret":
        clean["allowed_types"] = [_text({"allowed_types": t}, "allowed_types", where)
                                  for t in _list(entry, "allowed_types", where, 10) if isinstance(t, str)]
        clean["processing"] = _text(entry, "processing", where) or "none"
        asked = entry.get("on_device") if isinstance(entry.get("on_device"), dict) else {}
        clean["on_device"] = {key: _text(asked, key, f"{where}on_device ", "on_device")
                              for key in ("path", "owner", "group", "mode")}
    elif clean["type"] == "systemd-timer":
        defaults = entry.get("timer_defaults")
        clean["timer_defaults"] = _value(defaults, where, "timer_defaults") if isinstance(defaults, dict) else {}
    return clean


def clean_module(entry, packages: list[str]) -> dict:
    if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
        raise MalformedResult("the sandbox returned a malformed module description")
    module_type = entry["type"]
    if not any(module_type.startswith(p + ".") for p in packages):
        raise MalformedResult(f"the sandbox reported module `{module_type[:200]}` outside the repository's packages")
    if len(module_type) > LIMITS["type"]:
        raise MalformedResult(f"module `{module_type[:200]}…`: its type is {len(module_type)} characters long, "
                              f"over the limit of {LIMITS['type']}")
    where = f"module `{module_type}`: "
    icons = {}
    for key in ("icon", "icon_dark"):
        value = _text(entry, key, where)
        icons[key] = value if value and value.startswith("data:image/") else None
    return {
        "type": module_type,
        "display_name": _text(entry, "display_name", where) or module_type.rsplit(".", 1)[-1],
        "description": _text(entry, "description", where),
        "category": _text(entry, "category", where),
        **icons,
        "api": "2024" if entry.get("api") == "2024" else "current",
        "package": next(p for p in packages if module_type.startswith(p + ".")),
        "settings": [clean_setting(s, module_type) for s in _list(entry, "settings", where, MAX_SETTINGS)],
    }

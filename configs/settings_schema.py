"""Checking module settings against a module's declared schema: one code path for pages and the JSON API.

A schema is the `settings` list of a module description (see thymis_controller.schema): each entry has
`name`, `type` (bool, int, string, path, package, textarea, textarea-code, select-one, list, ...), and for
select-one `options`, for list `settings` (the sub-settings of each entry). Stored settings hold only
the values an operator set; an unset value is absent, and the module's default applies.
"""
from __future__ import annotations

import re
from typing import Any

from validation import Validation

TEXT_TYPES = {"string", "path", "textarea", "textarea-code", "package"}
PACKAGE_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_'+-]*(\.[A-Za-z_][A-Za-z0-9_'+-]*)*$")
MAX_TEXT = 100_000
ROW_MESSAGE = "settings must be an object of setting names to values"


def _text_problem(kind: str, label: str, value: str) -> str | None:
    if len(value) > MAX_TEXT or "\0" in value:
        return f"{label} is too long or contains a NUL character"
    if kind == "package" and not PACKAGE_PATTERN.match(value.strip()):
        return f"{label} must be a package attribute name such as htop or python3Packages.flask"
    if kind == "path" and not value.startswith("/"):
        return f"{label} must be an absolute path starting with /"
    return None


def _check_value(entry: dict, v: Validation, name: str) -> Any:
    """The clean value of one setting (None: unset or invalid, the error recorded in ``v``)."""
    kind = entry.get("type")
    label = entry.get("display_name") or entry["name"]
    if kind == "bool":
        return v.boolean(name, message=f"{label} must be true or false")
    if kind == "int":
        return v.integer(name, message=f"{label} must be a whole number", min=1 - 2 ** 63, max=2 ** 63 - 1,
                         out_of_range=f"{label} is too large")
    if kind in TEXT_TYPES:
        value = v.text(name, strip=False, wrong_type=f"{label} must be text")
        problem = _text_problem(kind, label, value) if value is not None else None
        if problem:
            v.error(name, problem)
            return None
        return value.strip() if kind == "package" and value is not None else value
    if kind == "select-one":
        options = [o["value"] for o in entry.get("options", [])]
        return v.choice(name, options, message=f"{label} must be one of: {', '.join(str(o) for o in options)}")
    if kind == "list":
        rows = v.objects(name, message=f"{label} must be a list", item_message=ROW_MESSAGE)
        return None if rows is None else [check_settings(entry.get("settings", []), row, require_all=True)
                                          if row is not None else {} for row in rows]
    if kind == "secret":  # the name of a secret (secret_store); its value never enters the settings
        from secret_store.service import check_setting_value
        value = v.raw(name)
        problem = check_setting_value(value, entry.get("allowed_types"), label)
        if problem:
            v.error(name, problem)
            return None
        return value
    # Types this controller does not edit (artifact, ...): kept as given if plain JSON.
    return v.raw(name)


def _check_placements(schema: list[dict], v: Validation, clean: dict) -> None:
    """A secret setting whose placement would be refused at deploy (secret_store.placement) is refused now,
    on the entry's own path/owner/group/mode when it set it (Files-style lists), else on the setting."""
    from secret_store.placement import problem_at_save
    for entry in schema:
        if entry.get("type") == "secret" and isinstance(clean.get(entry["name"]), str):
            problem = problem_at_save(entry, clean[entry["name"]], clean, entry.get("display_name") or entry["name"])
            if problem:
                v.error(problem[0] or entry["name"], problem[1])


def check_settings(schema: list[dict], v: Validation, *, require_all: bool = False) -> dict:
    """Validate the settings object ``v`` against ``schema``: errors name ``<path>.<setting>``; returns the clean
    values (a value left empty in a settings form is unset)."""
    by_name = {entry["name"]: entry for entry in schema}
    clean: dict = {}
    for name in v.names():
        entry = by_name.get(name)
        if entry is None:
            v.unknown_field(name, f"unknown setting '{name}'")
            continue
        if not v.has(name) or v.raw(name, "") is None:
            continue
        result = _check_value(entry, v, name)
        if result is not None:
            clean[name] = result
    _check_placements(schema, v, clean)
    if require_all:
        for entry in schema:
            if (entry["name"] not in clean and entry.get("default") is None
                    and entry.get("type") not in ("bool", "list")):
                v.error(entry["name"], f"{entry.get('display_name') or entry['name']} is required", "required")
    return clean

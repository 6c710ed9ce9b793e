"""Checking module settings against a module's declared schema: one code path for pages and the JSON API.

A schema is the `settings` list of a module description (see thymis_controller.schema): each entry has
`name`, `type` (bool, int, string, path, package, textarea, textarea-code, select-one, list, ...), and for
select-one `options`, for list `settings` (the sub-settings of each entry). Stored settings hold only
the values an operator set; an unset value is absent, and the module's default applies.
"""
from __future__ import annotations

import re
from typing import Any

from errors import FieldError

TEXT_TYPES = {"string", "path", "textarea", "textarea-code", "package"}
PACKAGE_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_'+-]*(\.[A-Za-z_][A-Za-z0-9_'+-]*)*$")
TRUE_WORDS = {"true", "on", "1", "yes"}
FALSE_WORDS = {"false", "off", "0", "no", ""}
MAX_TEXT = 100_000


def _check_scalar(entry: dict, value: Any, field: str, from_form: bool):
    """Returns (clean value or None for unset, error message or None)."""
    kind = entry.get("type")
    label = entry.get("display_name") or entry["name"]
    if from_form and isinstance(value, str) and value == "" and kind not in ("bool",):
        return None, None
    if kind == "bool":
        if from_form and isinstance(value, str):
            word = value.strip().lower()
            if word in TRUE_WORDS:
                return True, None
            if word in FALSE_WORDS:
                return False, None
        if isinstance(value, bool):
            return value, None
        return None, f"{label} must be true or false"
    if kind == "int":
        if from_form and isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                return None, f"{label} must be a whole number"
        if isinstance(value, int) and not isinstance(value, bool):
            if abs(value) >= 2 ** 63:
                return None, f"{label} is too large"
            return value, None
        return None, f"{label} must be a whole number"
    if kind in TEXT_TYPES:
        if not isinstance(value, str):
            return None, f"{label} must be text"
        if len(value) > MAX_TEXT or "\0" in value:
            return None, f"{label} is too long or contains a NUL character"
        if kind == "package" and not PACKAGE_PATTERN.match(value.strip()):
            return None, f"{label} must be a package attribute name such as htop or python3Packages.flask"
        if kind == "path" and not value.startswith("/"):
            return None, f"{label} must be an absolute path starting with /"
        return (value.strip() if kind == "package" else value), None
    if kind == "select-one":
        options = [o["value"] for o in entry.get("options", [])]
        for option in options:
            if value == option or (from_form and isinstance(value, str) and value == str(option)):
                return option, None
        shown = ", ".join(str(o) for o in options)
        return None, f"{label} must be one of: {shown}"
    # Types this controller does not edit (secret, artifact, ...): kept as given if plain JSON.
    return value, None


def check_settings(schema: list[dict], values: Any, field: str, errors: list[FieldError], *,
                   from_form: bool = False, require_all: bool = False) -> dict:
    """Validate `values` (a dict) against `schema`; append errors naming `field`.<setting> and return clean values."""
    if not isinstance(values, dict):
        errors.append(FieldError(field, "settings must be an object of setting names to values"))
        return {}
    by_name = {entry["name"]: entry for entry in schema}
    clean: dict = {}
    for name, value in values.items():
        path = f"{field}.{name}"
        entry = by_name.get(name)
        if entry is None:
            errors.append(FieldError(path, f"unknown setting '{name}'"))
            continue
        if value is None:
            continue
        if entry.get("type") == "list":
            if not isinstance(value, list):
                errors.append(FieldError(path, f"{entry.get('display_name') or name} must be a list"))
                continue
            clean[name] = [check_settings(entry.get("settings", []), item, f"{path}[{i}]", errors,
                                          from_form=from_form, require_all=True) for i, item in enumerate(value)]
            continue
        result, problem = _check_scalar(entry, value, path, from_form)
        if problem:
            errors.append(FieldError(path, problem))
        elif result is not None:
            clean[name] = result
    if require_all:
        for entry in schema:
            if entry["name"] not in clean and entry.get("default") is None and entry.get("type") not in ("bool", "list"):
                errors.append(FieldError(f"{field}.{entry['name']}",
                                         f"{entry.get('display_name') or entry['name']} is required", "required"))
    return clean

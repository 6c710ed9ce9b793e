"""Validation of device and tag bodies (form or JSON), shared by pages, API and tests."""
from __future__ import annotations

from typing import Any, Mapping

from configs.settings_schema import check_settings
from deploy.targets import TargetError, parse_target
from errors import FieldError, InputError
from repos.inputs import check_name

MIN_PRIORITY, MAX_PRIORITY = 1, 1500


def check_target(value: Any) -> str | None:
    """None when ``value`` is a target deploy.targets.parse_target accepts, else why not."""
    try:
        parse_target(value)
    except TargetError as exc:
        return str(exc)
    return None


def check_modules(raw: Any, existing: list[dict], catalog: dict, errors: list[FieldError], *,
                  from_form: bool = False) -> list[dict]:
    """Each entry {type, settings}: a known module, settings valid for its schema, each type once.

    A module that is no longer available is accepted unchanged, so saving a configuration never drops the
    settings of a module whose repository is gone for now.
    """
    if not isinstance(raw, list):
        errors.append(FieldError("modules", "modules must be a list of {type, settings}"))
        return []
    clean, seen = [], set()
    for index, item in enumerate(raw):
        path = f"modules[{index}]"
        if not isinstance(item, dict):
            errors.append(FieldError(path, "each module must be an object with 'type' and 'settings'"))
            continue
        for key in item:
            if key not in ("type", "settings"):
                errors.append(FieldError(f"{path}.{key}", f"unknown field '{key}'"))
        module_type = item.get("type")
        if not isinstance(module_type, str) or not module_type:
            errors.append(FieldError(f"{path}.type", "the module type is required", "required"))
            continue
        if module_type in seen:
            errors.append(FieldError(f"{path}.type", f"module {module_type} is listed twice"))
            continue
        seen.add(module_type)
        settings = item.get("settings", {})
        module = catalog.get(module_type)
        before = next((m for m in existing if m["type"] == module_type), None)
        if before is not None and settings == before["settings"]:
            # Unchanged: kept as saved, even if the module's schema changed since (or it is unavailable now).
            clean.append(before)
            continue
        if module is None:
            if before is not None and settings == {}:
                clean.append(before)
            else:
                errors.append(FieldError(f"{path}.type", f"no module of type {module_type} is available "
                                                         "(built-in or from a repository's active commit)"))
            continue
        checked = check_settings(module["settings"], settings, f"{path}.settings", errors, from_form=from_form)
        clean.append({"type": module_type, "settings": checked})
    return clean


def _text_field(data: Mapping, key: str, errors: list, required: bool, label: str, limit: int = 100):
    value = data.get(key)
    if value is None:
        if required:
            errors.append(FieldError(key, f"{label} is required", "required"))
        return None
    if not isinstance(value, str):
        errors.append(FieldError(key, f"{label} must be a string"))
        return None
    value = value.strip()
    if not value:
        errors.append(FieldError(key, f"{label} is required", "required"))
        return None
    if len(value) > limit or any(ord(c) < 32 for c in value):
        errors.append(FieldError(key, f"{label} must be at most {limit} printable characters"))
        return None
    return value


def parse_config(data: Mapping, *, kind: str, known_fields: set, catalog: dict, existing: dict | None,
                 from_form: bool = False) -> dict:
    """Common part of device and tag bodies. existing=None creates (name and display name required)."""
    errors: list[FieldError] = []
    creating = existing is None
    values: dict = {}
    for key in data:
        if key not in known_fields | {"name", "display_name", "modules", "csrf_token"}:
            errors.append(FieldError(key, f"unknown field '{key}'"))
    name = _text_field(data, "name", errors, creating, f"the {kind} identifier", 63)
    if name is not None:
        if not creating and name != existing["name"]:
            errors.append(FieldError("name", f"the {kind} identifier cannot be changed; duplicate the {kind} instead"))
        elif creating:
            problem = check_name(name, f"{kind} identifier", "because it becomes a Nix attribute name")
            if problem:
                errors.append(FieldError("name", problem))
            values["name"] = name
    display_name = _text_field(data, "display_name", errors, creating, "a display name")
    if display_name is not None:
        values["display_name"] = display_name
    if "modules" in data:
        values["modules"] = check_modules(data["modules"], (existing or {}).get("modules", []), catalog, errors,
                                          from_form=from_form)
    if kind == "device":
        if "target" in data or creating:
            target = data.get("target", "local")
            problem = check_target(target)
            if problem:
                errors.append(FieldError("target", problem))
            else:
                values["target"] = target
        if "tags" in data:
            tags = data["tags"]
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                errors.append(FieldError("tags", "tags must be a list of tag identifiers"))
            else:
                values["tags"] = list(dict.fromkeys(tags))
    if kind == "tag" and ("priority" in data or creating):
        priority = data.get("priority", 90)
        if from_form and isinstance(priority, str):
            priority = int(priority) if priority.strip().lstrip("-").isdigit() else priority
        if not isinstance(priority, int) or isinstance(priority, bool) or not MIN_PRIORITY <= priority <= MAX_PRIORITY:
            errors.append(FieldError("priority", f"the priority must be a whole number from {MIN_PRIORITY} to "
                                                 f"{MAX_PRIORITY} (lower wins; devices use 80)"))
        else:
            values["priority"] = priority
    if errors:
        raise InputError(errors)
    return values

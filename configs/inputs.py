"""Validation of device and tag bodies (form or JSON), shared by pages, API and tests."""
from __future__ import annotations

from typing import Any

from configs.settings_schema import ROW_MESSAGE, check_settings
from deploy.targets import TargetError, parse_target
from repos.inputs import check_name
from validation import Validation

MIN_PRIORITY, MAX_PRIORITY = 1, 1500


def check_target(value: Any) -> str | None:
    """None when ``value`` is a target deploy.targets.parse_target accepts or empty (not set yet: the device can
    be built but not deployed), else why not."""
    if value in ("", None):
        return None
    try:
        parse_target(value)
    except TargetError as exc:
        return str(exc)
    return None


def check_modules(v: Validation, existing: list[dict], catalog: dict) -> list[dict] | None:
    """``modules``: each entry {type, settings}: a known module, settings valid for its schema, each type once.

    A module that is no longer available is accepted unchanged, so saving a configuration never drops the
    settings of a module whose repository is gone for now. None when the body has no modules.
    """
    items = v.objects("modules", message="modules must be a list of {type, settings}",
                      item_message="each module must be an object with 'type' and 'settings'")
    if items is None:
        return None
    clean, seen = [], set()
    for item in items:
        if item is None:
            continue
        item.unknown(("type", "settings"))
        module_type = item.raw("type")
        if not isinstance(module_type, str) or not module_type:
            item.error("type", "the module type is required", "required")
            continue
        if module_type in seen:
            item.error("type", f"module {module_type} is listed twice")
            continue
        seen.add(module_type)
        settings = item.raw("settings", {})
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
                item.error("type", f"no module of type {module_type} is available "
                                   "(built-in or from a repository's active commit)")
            continue
        if settings is None:
            item.error("settings", ROW_MESSAGE)
            continue
        values = item.nested("settings", message=ROW_MESSAGE)
        checked = check_settings(module["settings"], values) if values is not None else {}
        clean.append({"type": module_type, "settings": checked})
    return clean


def _text_field(v: Validation, key: str, required: bool, label: str, limit: int = 100) -> str | None:
    message = f"{label} must be at most {limit} printable characters"
    if not required and v.raw(key) is None:  # absent (or null): unchanged
        return None
    return v.text(key, required=f"{label} is required", max_len=limit, too_long=message, control=message,
                  wrong_type=f"{label} must be a string")


def _common(v: Validation, kind: str, known: set, catalog: dict, existing: dict | None) -> dict:
    """The part of device and tag bodies they share. existing=None creates (name and display name required)."""
    creating = existing is None
    values: dict = {}
    v.unknown(known | {"name", "display_name", "modules", "csrf_token"})
    name = _text_field(v, "name", creating, f"the {kind} identifier", 63)
    if name is not None:
        if not creating and name != existing["name"]:
            v.error("name", f"the {kind} identifier cannot be changed; duplicate the {kind} instead")
        elif creating:
            problem = check_name(name, f"{kind} identifier", "because it becomes a Nix attribute name")
            if problem:
                v.error("name", problem)
            values["name"] = name
    display_name = _text_field(v, "display_name", creating, "a display name")
    if display_name is not None:
        values["display_name"] = display_name
    modules = check_modules(v, (existing or {}).get("modules", []), catalog) if v.has("modules") else None
    if modules is not None:
        values["modules"] = modules
    return values


def parse_device(data, *, catalog: dict, existing: dict | None) -> dict:
    """A device body or form: name, display_name, target, tags, modules. Raises InputError with every error."""
    v = Validation.of(data)
    values = _common(v, "device", {"target", "tags"}, catalog, existing)
    if v.has("target") or existing is None:
        target = v.raw("target", "")  # never "local" unless asked for: that would switch this appliance
        problem = check_target(target)
        if problem:
            v.error("target", problem)
        else:
            values["target"] = target or ""
    tags = v.list("tags", message="tags must be a list of tag identifiers")
    if tags is not None:
        values["tags"] = tags
    v.raise_if_errors()
    return values


def parse_tag(data, *, catalog: dict, existing: dict | None) -> dict:
    """A tag body or form: name, display_name, priority, modules. Raises InputError with every error."""
    v = Validation.of(data)
    values = _common(v, "tag", {"priority"}, catalog, existing)
    priority = v.integer("priority", min=MIN_PRIORITY, max=MAX_PRIORITY, default=90 if existing is None else None,
                         message=f"the priority must be a whole number from {MIN_PRIORITY} to {MAX_PRIORITY} "
                                 "(lower wins; devices use 80)")
    if priority is not None:
        values["priority"] = priority
    v.raise_if_errors()
    return values

"""Where secrets are used: the secret settings of the modules of every device and tag.

A secret setting (schema type ``secret``, see thymis_controller.schema) holds a secret's name, also inside the
entries of a list setting.
"""
from __future__ import annotations

from collections.abc import Iterator


def secret_values(schema: list[dict], settings: dict, path: str = "") -> Iterator[tuple[str, dict, str]]:
    """(setting path, schema entry, secret name) for each secret setting set in ``settings``."""
    by_name = {entry["name"]: entry for entry in schema}
    for name, value in (settings or {}).items():
        entry = by_name.get(name)
        if entry is None:
            continue
        here = f"{path}.{name}" if path else name
        if entry.get("type") == "secret" and isinstance(value, str) and value:
            yield here, entry, value
        elif entry.get("type") == "list" and isinstance(value, list):
            for i, row in enumerate(value):
                if isinstance(row, dict):
                    yield from secret_values(entry.get("settings", []), row, f"{here}[{i}]")


def _owners():
    from models import Device, Tag
    for device in Device.select(Device.name, Device.modules).order_by(Device.name):
        yield "device", device.name, device.modules or []
    for tag in Tag.select(Tag.name, Tag.modules).order_by(Tag.name):
        yield "tag", tag.name, tag.modules or []


def all_usages(catalog: dict | None = None) -> dict[str, list[dict]]:
    """secret name -> [{kind: device|tag, name, module, setting, allowed_types}], one pass over devices and tags."""
    from configs.catalog import available_modules
    catalog = available_modules() if catalog is None else catalog
    found: dict[str, list[dict]] = {}
    for kind, owner, modules in _owners():
        for module in modules:
            described = catalog.get(module.get("type"))
            if described is None:
                continue
            for path, entry, secret in secret_values(described["settings"], module.get("settings")):
                found.setdefault(secret, []).append(
                    {"kind": kind, "name": owner, "module": module["type"], "setting": path,
                     "allowed_types": list(entry.get("allowed_types") or [])})
    return found

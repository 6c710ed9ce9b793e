"""The core device module's NixOS state version: what the effective view shows is what the build uses.

A core module added to a device (or a device created with one) stores the state version in force then
(sticky: a later default does not change a device that exists). A device whose modules or tags use the core
module without anyone setting the state version gets the default the effective view shows, written at the
device's level.
"""
from __future__ import annotations

CORE = "thymis_controller.modules.thymis.ThymisDevice"
STATE_VERSION = "nix_state_version"


def default_state_version(catalog: dict) -> str | None:
    described = catalog.get(CORE) or {}
    entry = next((s for s in described.get("settings", []) if s.get("name") == STATE_VERSION), {})
    return entry.get("default")


def _sets_state_version(modules: list[dict]) -> bool:
    return any(m["type"] == CORE and (m.get("settings") or {}).get(STATE_VERSION) not in (None, "") for m in modules)


def sticky_state_version(modules: list[dict], catalog: dict, tag_modules: list[list[dict]] = (),
                         before: list[dict] = ()) -> list[dict]:
    """``modules`` with the default state version stored in a newly added core module (one not in ``before``,
    e.g. a device being created) that has none, when none of the device's tags (``tag_modules``) sets one."""
    default = default_state_version(catalog)
    if (default is None or any(m["type"] == CORE for m in before)
            or any(_sets_state_version(ms) for ms in tag_modules)):
        return modules
    return [{**m, "settings": {**m["settings"], STATE_VERSION: default}}
            if m["type"] == CORE and m.get("settings", {}).get(STATE_VERSION) in (None, "") else m
            for m in modules]


def with_state_version(device_modules: list[dict], tag_modules: list[list[dict]], catalog: dict) -> list[dict]:
    """The device's modules as built: when the core module is used (by the device or a tag) and no one sets
    the state version, the device's core module carries the default (added if only tags use the module)."""
    every = [device_modules, *tag_modules]
    if not any(m["type"] == CORE for ms in every for m in ms) or any(_sets_state_version(ms) for ms in every):
        return device_modules
    if any(m["type"] == CORE for m in device_modules):
        return sticky_state_version(device_modules, catalog)
    default = default_state_version(catalog)
    return device_modules + ([{"type": CORE, "settings": {STATE_VERSION: default}}] if default else [])

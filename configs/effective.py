"""A device's effective configuration: every module that applies and which source's value is in force."""
from __future__ import annotations

from configs.catalog import available_modules
from configs.service import DEVICE_PRIORITY, device_tags


def _sources(device):
    """(label, priority, order, modules) for the device and each of its tags, in tie-break order."""
    yield f"device {device.name}", DEVICE_PRIORITY, 0, device.modules
    for order, tag in enumerate(device_tags(device), start=1):
        yield f"tag {tag.name}", tag.priority, order, tag.modules


def effective_configuration(device, catalog: dict | None = None) -> list[dict]:
    """[{type, display_name, available, sources, settings: [{name, display_name, value, source, overridden}]}].

    The lowest priority number wins, as with lib.mkOverride; on equal priority the device comes first, then
    tags in their order. `overridden` lists the values that lost.
    """
    catalog = available_modules() if catalog is None else catalog
    by_type: dict[str, list] = {}
    for label, priority, order, modules in _sources(device):
        for module in modules:
            by_type.setdefault(module["type"], []).append((priority, order, label, module["settings"]))
    result = []
    for module_type, sources in by_type.items():
        sources.sort(key=lambda s: (s[0], s[1]))
        described = catalog.get(module_type)
        names = [s["name"] for s in described["settings"]] if described else sorted(
            {key for _, _, _, settings in sources for key in settings})
        schema = {s["name"]: s for s in described["settings"]} if described else {}
        settings = []
        for name in names:
            values = [(label, prio, settings[name]) for prio, _, label, settings in sources if name in settings]
            if values:
                (source, _, value), losers = values[0], values[1:]
            else:
                source, value, losers = "default", schema.get(name, {}).get("default"), []
            settings.append({"name": name, "display_name": schema.get(name, {}).get("display_name", name),
                             "value": value, "source": source,
                             "overridden": [{"source": label, "value": v} for label, _, v in losers]})
        result.append({"type": module_type, "available": described is not None,
                       "display_name": described["display_name"] if described else module_type,
                       "sources": [label for _, _, label, _ in sources], "settings": settings})
    return result

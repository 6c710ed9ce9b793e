"""Lists of devices and tags as the API returns them, in a constant number of queries whatever their length."""
from __future__ import annotations

from configs import service
from models import Device, DeviceTag, Tag


def tags_by_device(device_ids: list[int]) -> dict[int, list[Tag]]:
    """device id -> its tags in their order, in one query."""
    result: dict[int, list[Tag]] = {device_id: [] for device_id in device_ids}
    if device_ids:
        links = (DeviceTag.select(DeviceTag, Tag).join(Tag).where(DeviceTag.device.in_(device_ids))
                 .order_by(DeviceTag.device, DeviceTag.position))
        for link in links:
            result[link.device_id].append(link.tag)
    return result


def devices_by_tag(tag_ids: list[int]) -> dict[int, list[str]]:
    """tag id -> the names of the devices that use it (in the order they were tagged), in one query."""
    result: dict[int, list[str]] = {tag_id: [] for tag_id in tag_ids}
    if tag_ids:
        links = (DeviceTag.select(DeviceTag.tag, Device.name).join(Device).where(DeviceTag.tag.in_(tag_ids))
                 .order_by(DeviceTag.id))
        for link in links:
            result[link.tag_id].append(link.device.name)
    return result


def devices_json(devices, catalog: dict) -> list[dict]:
    devices = list(devices)
    tags = tags_by_device([d.id for d in devices])
    return [service.device_json(d, catalog, tags=tags[d.id]) for d in devices]


def tags_json(tags, catalog: dict) -> list[dict]:
    tags = list(tags)
    devices = devices_by_tag([t.id for t in tags])
    return [service.tag_json(t, catalog, devices=devices[t.id]) for t in tags]

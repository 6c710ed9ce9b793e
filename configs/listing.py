"""Lists of devices and tags as the API returns them, in a constant number of queries whatever their length."""
from __future__ import annotations

from peewee import fn

from configs import service
from configs.catalog import grouped_modules
from models import Deployment, DeploymentKind, Device, DeviceTag, Tag, isoformat


def tags_by_device(device_ids: list[int]) -> dict[int, list[Tag]]:
    """device id -> its tags in their order: the links as plain rows, then each tag once (two queries)."""
    result: dict[int, list[Tag]] = {device_id: [] for device_id in device_ids}
    if not device_ids:
        return result
    links = list(DeviceTag.select(DeviceTag.device, DeviceTag.tag).where(DeviceTag.device.in_(device_ids))
                 .order_by(DeviceTag.device, DeviceTag.position).tuples())
    tag_ids = sorted({tag_id for _, tag_id in links})
    tags = {tag.id: tag for tag in Tag.select().where(Tag.id.in_(tag_ids))} if tag_ids else {}
    for device_id, tag_id in links:
        result[device_id].append(tags[tag_id])
    return result


def devices_by_tag(tag_ids: list[int]) -> dict[int, list[str]]:
    """tag id -> the names of the devices that use it (in the order they were tagged), in one query."""
    result: dict[int, list[str]] = {tag_id: [] for tag_id in tag_ids}
    if tag_ids:
        links = (DeviceTag.select(DeviceTag.tag, Device.name).join(Device).where(DeviceTag.tag.in_(tag_ids))
                 .order_by(DeviceTag.id).tuples())
        for tag_id, name in links:
            result[tag_id].append(name)
    return result


def last_deployments(names: list[str]) -> dict[str, Deployment]:
    """device name -> its latest deploy or rollback (running, succeeded, failed or rolled back; builds do not change
    a device), in one query."""
    if not names:
        return {}
    latest = (Deployment.select(fn.MAX(Deployment.id)).where(Deployment.device_name.in_(names),
                                                            Deployment.kind != DeploymentKind.BUILD)
              .group_by(Deployment.device_name))
    return {d.device_name: d for d in Deployment.select().where(Deployment.id.in_(latest))}


def last_deploy_json(row: Deployment | None) -> dict | None:
    """A device's last deploy or rollback as the API shows it (the devices page's Last deploy column), or None."""
    if row is None:
        return None
    return {"kind": row.kind, "state": row.state, "started_at": isoformat(row.started_at),
            "finished_at": isoformat(row.finished_at), "job_id": row.job_id}


def devices_json(devices, catalog: dict) -> list[dict]:
    """Devices with their tags and last deploy, loaded for all of them at once (three queries)."""
    devices = list(devices)
    tags = tags_by_device([d.id for d in devices])
    last = last_deployments([d.name for d in devices])
    return [service.device_json(d, catalog, tags=tags[d.id], last_deploy=last.get(d.name)) for d in devices]


def tags_json(tags, catalog: dict) -> list[dict]:
    tags = list(tags)
    devices = devices_by_tag([t.id for t in tags])
    return [service.tag_json(t, catalog, devices=devices[t.id]) for t in tags]


def _contains(field, text: str):
    return fn.instr(fn.lower(field), text.lower()) > 0


def matching_devices(text: str | None = None, tag: str | None = None):
    """Devices whose name or display name contains ``text`` (any case) and that carry the tag named ``tag``."""
    query = Device.select()
    if text:
        query = query.where(_contains(Device.name, text) | _contains(Device.display_name, text))
    if tag:
        tagged = DeviceTag.select(DeviceTag.device).join(Tag).where(Tag.name == tag)
        query = query.where(Device.id.in_(tagged))
    return query


def matching_tags(text: str | None = None):
    query = Tag.select()
    if text:
        query = query.where(_contains(Tag.name, text) | _contains(Tag.display_name, text))
    return query


def matching_modules(text: str | None = None, source: str | None = None) -> list[dict]:
    """The catalogue's modules (built-in first, then by repository and display name) that contain ``text`` in
    their type, display name or description and come from ``source`` (``built-in`` or a repository name)."""
    needle = (text or "").lower()
    modules = [m for _, group in grouped_modules() for m in group]
    return [m for m in modules if (not source or m["source"] == source)
            and (not needle or any(needle in (m.get(key) or "").lower()
                                   for key in ("type", "display_name", "description")))]

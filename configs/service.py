"""Devices and tags: create, change, duplicate, delete; saved atomically, a failed validation changes nothing."""
from __future__ import annotations

from peewee import IntegrityError

from configs.catalog import available_modules
from configs.core import sticky_state_version
from configs.inputs import parse_device, parse_tag
from configs.render_check import check_modules_render
from errors import FieldError, InputError, NotFound
from jobs import cancel_jobs_of
from models import Device, DeviceTag, Tag, database

DEVICE_PRIORITY = 80


def get_device(name: str) -> Device:
    device = Device.get_or_none(Device.name == name)
    if device is None:
        raise NotFound(f"no device named '{name}'")
    return device


def get_tag(name: str) -> Tag:
    tag = Tag.get_or_none(Tag.name == name)
    if tag is None:
        raise NotFound(f"no tag named '{name}'")
    return tag


def device_tags(device: Device) -> list[Tag]:
    return list(Tag.select().join(DeviceTag).where(DeviceTag.device == device).order_by(DeviceTag.position))


def _as_dict(row) -> dict:
    return {"name": row.name, "modules": row.modules or []}


def _resolve_tags(names: list[str]) -> list[Tag]:
    tags = {t.name: t for t in Tag.select().where(Tag.name.in_(names))} if names else {}
    missing = [n for n in names if n not in tags]
    if missing:
        raise InputError([FieldError("tags", f"no tag named '{missing[0]}'")])
    return [tags[n] for n in names]


def _conflict(kind: str, name: str) -> InputError:
    return InputError([FieldError("name", f"a {kind} named '{name}' already exists", "conflict")], status=409)


def _check_rendered(values: dict, catalog: dict, existing, priority: int, path: str, checked=None) -> list | None:
    """422 naming each setting the module itself rejects (configs.render_check); nothing is stored. Returns the
    modules checked; ``checked``: modules already checked (not rendered again)."""
    if "modules" not in values:
        return None
    if values["modules"] != checked:
        check_modules_render(values["modules"], catalog, existing.modules if existing else [], priority, path)
    return values["modules"]


def _device_modules(values: dict, catalog: dict, existing, tags) -> None:
    """A core module added now stores the state version in force (configs.core)."""
    if "modules" in values:
        in_force = tags if tags is not None else (device_tags(existing) if existing else [])
        values["modules"] = sticky_state_version(values["modules"], catalog, [t.modules for t in in_force],
                                                 existing.modules if existing else [])


def _device_values(data, catalog: dict, existing) -> tuple[dict, list | None]:
    values = parse_device(data, catalog=catalog, existing=_as_dict(existing) if existing else None)
    tags = _resolve_tags(values.pop("tags")) if "tags" in values else None
    _device_modules(values, catalog, existing, tags)
    return values, tags


def save_device(data, existing: Device | None = None) -> Device:
    """``data``: a JSON body, a submitted form or a Validation (see validation.py).

    An edit re-reads the device inside its write transaction and changes only the fields it was given, so
    two concurrent edits of different fields both land. The modules render in the sandbox before the
    transaction (that takes time); only modules that changed in between are checked again inside it."""
    catalog = available_modules()
    values, _tags = _device_values(data, catalog, existing)
    name = existing.name if existing else values["name"]
    checked = _check_rendered(values, catalog, existing, DEVICE_PRIORITY, f"hosts/{name}")
    try:
        with database.atomic():
            if existing is not None:
                existing = get_device(existing.name)  # as it is now, under the write lock
            values, tags = _device_values(data, catalog, existing)
            _check_rendered(values, catalog, existing, DEVICE_PRIORITY, f"hosts/{name}", checked)
            if existing is None:
                device = Device.create(**{"target": "", "modules": [], **values})
            else:
                device = existing
                if values:
                    Device.update(**values).where(Device.id == device.id).execute()
            if tags is not None:
                DeviceTag.delete().where(DeviceTag.device == device).execute()
                for position, tag in enumerate(tags):
                    DeviceTag.create(device=device, tag=tag, position=position)
    except IntegrityError:
        raise _conflict("device", values.get("name")) from None
    return Device.get_by_id(device.id)


def _tag_check(values: dict, catalog: dict, existing, checked=None) -> list | None:
    priority = values.get("priority", existing.priority if existing else 90)
    return _check_rendered(values, catalog, existing, priority, f"tags/{existing.name if existing else values['name']}",
                           checked)


def save_tag(data, existing: Tag | None = None) -> Tag:
    catalog = available_modules()
    checked = _tag_check(parse_tag(data, catalog=catalog, existing=_as_dict(existing) if existing else None),
                         catalog, existing)
    try:
        with database.atomic():
            if existing is not None:
                existing = get_tag(existing.name)
            values = parse_tag(data, catalog=catalog, existing=_as_dict(existing) if existing else None)
            _tag_check(values, catalog, existing, checked)
            if existing is None:
                return Tag.create(**{"modules": [], **values})
            if values:
                Tag.update(**values).where(Tag.id == existing.id).execute()
            return Tag.get_by_id(existing.id)
    except IntegrityError:
        raise _conflict("tag", values.get("name")) from None


def duplicate_device(device: Device, name: str, display_name: str | None = None) -> Device:
    copy = save_device({"name": name, "display_name": display_name or f"{device.display_name} (copy)",
                        "target": device.target, "tags": [t.name for t in device_tags(device)]})
    Device.update(modules=device.modules).where(Device.id == copy.id).execute()  # as saved, even unavailable ones
    return Device.get_by_id(copy.id)


def delete_device(device: Device) -> None:
    """Delete the device; its queued or running build, deploy or rollback is cancelled with it."""
    from deploy.jobs import DEVICE_JOB_KINDS
    with database.atomic():
        cancel_jobs_of(f"cancelled: the device {device.name} was removed", subject=device.name,
                       kinds_of_job=DEVICE_JOB_KINDS)
        device.delete_instance(recursive=True)


def delete_tag(tag: Tag) -> None:
    tag.delete_instance(recursive=True)


def unavailable_warnings(modules: list[dict], catalog: dict) -> list[str]:
    return [f"module {m['type']} is no longer available; its settings are kept and it is left out until it "
            "returns" for m in modules if m["type"] not in catalog]


def _modules_json(modules: list[dict], catalog: dict) -> list[dict]:
    return [{"type": m["type"], "settings": m["settings"], "available": m["type"] in catalog,
             "display_name": catalog.get(m["type"], {}).get("display_name", m["type"])} for m in modules]


_LOOK_UP = object()


def device_json(device: Device, catalog: dict | None = None, tags: list[Tag] | None = None,
                last_deploy=_LOOK_UP) -> dict:
    """The API's device object; a list passes the tags and last deploys (a Deployment or None) it loaded for all
    devices at once (configs/listing.py)."""
    from configs.listing import last_deploy_json, last_deployments
    catalog = available_modules() if catalog is None else catalog
    tags = device_tags(device) if tags is None else tags
    if last_deploy is _LOOK_UP:
        last_deploy = last_deployments([device.name]).get(device.name)
    return {"name": device.name, "display_name": device.display_name, "target": device.target or None,
            "tags": [t.name for t in tags], "modules": _modules_json(device.modules, catalog),
            "warnings": unavailable_warnings(device.modules, catalog), "last_deploy": last_deploy_json(last_deploy)}


def tag_json(tag: Tag, catalog: dict | None = None, devices: list[str] | None = None) -> dict:
    catalog = available_modules() if catalog is None else catalog
    if devices is None:
        devices = [d.name for d in Device.select(Device.name).join(DeviceTag).where(DeviceTag.tag == tag)
                   .order_by(DeviceTag.id)]
    return {"name": tag.name, "display_name": tag.display_name, "priority": tag.priority,
            "modules": _modules_json(tag.modules, catalog), "warnings": unavailable_warnings(tag.modules, catalog),
            "devices": devices}

"""What an action touches, for its confirmation page: the devices of a tag, the users of a repository's modules."""
from __future__ import annotations

from configs.catalog import available_modules
from models import Device, DeviceTag, Repository, Tag


def devices_of_tag(tag: Tag) -> list[Device]:
    return list(Device.select().join(DeviceTag).where(DeviceTag.tag == tag).order_by(Device.name))


def repository_users(repo: Repository) -> dict[str, list]:
    """The devices and tags that use a module of the repository's active commit."""
    types = {t for t, m in available_modules().items() if m.get("source") == repo.name}
    if not types:
        return {"devices": [], "tags": []}
    uses = lambda row: any(m["type"] in types for m in row.modules)  # noqa: E731
    return {"devices": [d for d in Device.select().order_by(Device.name) if uses(d)],
            "tags": [t for t in Tag.select().order_by(Tag.name) if uses(t)]}

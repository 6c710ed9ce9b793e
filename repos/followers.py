"""Devices and tags that follow a repository (issue 17): when a new commit of it becomes active (a fetch, or an
approval in review), their devices are built again, or deployed when the follower says "deploy automatically".

A device followed directly and through a tag is started once (deploy wins over build); a device whose own
build or deploy is unfinished is skipped (the job log says so). A tag that deploys automatically gets one tag
deploy job (jobs of its devices as children), as from its page.
"""
from __future__ import annotations

from errors import InputError, NotFound
from jobs import JobConflict
from models import Device, DeviceTag, RepositoryFollower, Tag, database
from validation import Validation

KINDS = ("device", "tag")
ITEM = "each follower is {\"kind\": \"device\" or \"tag\", \"name\": ..., \"deploy\": true or false}"


def followers_json(repo) -> list[dict]:
    rows = list(RepositoryFollower.select().where(RepositoryFollower.repository == repo.id))
    devices = {d.id: d.name for d in Device.select(Device.id, Device.name).where(
        Device.id.in_([r.device_id for r in rows if r.device_id]))}
    tags = {t.id: t.name for t in Tag.select(Tag.id, Tag.name).where(Tag.id.in_([r.tag_id for r in rows if r.tag_id]))}
    found = [{"kind": "device", "name": devices[r.device_id], "deploy": r.deploy} if r.device_id else
             {"kind": "tag", "name": tags[r.tag_id], "deploy": r.deploy} for r in rows]
    return sorted(found, key=lambda f: (f["kind"], f["name"]))


def set_followers(repo, data) -> list[dict]:
    """Replace the repository's followers with ``{"followers": [...]}``; 422 naming the bad entry."""
    v = Validation.of(data)
    v.unknown({"followers"})
    rows = v.objects("followers", message="followers must be a list", item_message=ITEM)
    if rows is None and not v.has("followers"):
        v.error("followers", "followers is required (a list; [] for none)", "required")
    wanted: dict[tuple[str, str], bool] = {}
    found = {"device": {}, "tag": {}}
    for item in rows or []:
        if item is None:
            continue
        item.unknown({"kind", "name", "deploy"})
        kind = item.choice("kind", KINDS, message="kind must be device or tag", required=True)
        name = item.text("name", required="a device or tag name is required")
        deploy = item.boolean("deploy", message="deploy must be true or false") or False
        if kind and name:
            model = Device if kind == "device" else Tag
            row = model.get_or_none(model.name == name)
            if row is None:
                item.error("name", f"no {kind} named '{name}'", "not_found")
            else:
                found[kind][name] = row
                wanted[(kind, name)] = deploy
    v.raise_if_errors()
    with database.atomic():
        RepositoryFollower.delete().where(RepositoryFollower.repository == repo.id).execute()
        for (kind, name), deploy in wanted.items():
            RepositoryFollower.create(repository=repo.id, deploy=deploy, **{kind: found[kind][name]})
    return followers_json(repo)


def _plan(repo_id: int) -> tuple[dict[str, bool], list[str]]:
    """(device name -> deploy?, tags to deploy as a whole) for the repository's followers."""
    devices: dict[str, bool] = {}
    tags: list[str] = []
    for row in RepositoryFollower.select().where(RepositoryFollower.repository == repo_id):
        if row.device_id:
            name = Device.get_by_id(row.device_id).name
            devices[name] = devices.get(name, False) or row.deploy
        elif row.deploy:
            tags.append(Tag.get_by_id(row.tag_id).name)
        else:
            for device in Device.select(Device.name).join(DeviceTag).where(DeviceTag.tag == row.tag_id):
                devices.setdefault(device.name, False)
    if tags:  # a device of a tag deployed as a whole is deployed by that tag's job
        covered = {d.name for d in Device.select(Device.name).join(DeviceTag).join(Tag).where(Tag.name.in_(tags))}
        devices = {name: deploy for name, deploy in devices.items() if name not in covered}
    return devices, sorted(tags)


def start_followers(repo_id: int, commit: str, log) -> list:
    """After ``commit`` became the repository's active commit: start the followers' jobs. Returns them."""
    from deploy.service import build_device, deploy_device, deploy_tag
    devices, tags = _plan(repo_id)
    if devices or tags:
        log(f"{commit[:7]} is new: starting the jobs of the devices and tags that follow this repository")
    started = []
    for tag in tags:
        started.append(_start(lambda: deploy_tag(tag), f"tag {tag}: deploy", log))
    for name, deploy in sorted(devices.items()):
        action = deploy_device if deploy else build_device
        started.append(_start(lambda: action(name), f"{name}: {'deploy' if deploy else 'build'}", log))
    return [job for job in started if job is not None]


def _start(start, what: str, log):
    """Start one follower's job; a failure to start is logged, never raised (the commit is active already)."""
    try:
        job = start()
    except JobConflict as exc:
        log(f"{what} skipped: job {exc.job.id} ({exc.job.kind}) is unfinished")
        return None
    except NotFound as exc:  # removed meanwhile
        log(f"{what} skipped: {exc}")
        return None
    except InputError as exc:  # e.g. a device without a target yet: "set a target first"
        log(f"{what} skipped: {exc.first.message}")
        return None
    log(f"{what}: job {job.id}")
    return job

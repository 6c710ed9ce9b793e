"""Starting device jobs: at most one build, deploy or rollback per device at a time."""
from __future__ import annotations

import audit
from configs.affected import devices_of_tag
from configs.service import get_device, get_tag
from deploy.jobs import BUILD, DEPLOY, DEPLOY_TAG, DEVICE_JOB_KINDS, ROLLBACK
from deploy.targets import TARGET_HELP, no_target
from errors import FieldError, InputError
from jobs import JobConflict, enqueue
from models import Deployment, DeploymentKind, DeploymentState, Job, JobState, database


def _busy(subject: str, kinds) -> Job | None:
    return Job.select().where(Job.subject == subject, Job.kind.in_(kinds),
                              Job.state.in_((JobState.QUEUED, JobState.RUNNING))).first()


def needs_target(device) -> None:
    """A device without a target (created or imported without one) is never deployed or rolled back: 409 with
    "set a target first", on pages and in JSON alike."""
    if not device.target:
        raise InputError([FieldError("target", no_target(device.name), "no_target")], status=409)


def start_device_job(kind: str, name: str, payload: dict | None = None) -> Job:
    device = get_device(name)
    if kind != BUILD:
        needs_target(device)
    with database.atomic():
        running = _busy(device.name, DEVICE_JOB_KINDS)
        if running is not None:
            raise JobConflict(running)
        return enqueue(kind, subject=device.name, payload={"device": device.name, **(payload or {}),
                                                           "requested_by": audit.current_actor()})


def build_device(name: str) -> Job:
    return start_device_job(BUILD, name)


def deploy_device(name: str) -> Job:
    return start_device_job(DEPLOY, name)


CHOOSE_GENERATION = "choose the generation to roll back to: its number in the device's generations"


def _generation_number(value) -> int | None:
    """A generation number from JSON (an integer) or a form (digits); None when it is neither."""
    if isinstance(value, str) and value.isdigit() and len(value) < 10:
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def rollback_device(name: str, generation=None, store_path=None) -> Job:
    """Roll back to generation number ``generation`` of the target's profile (checked by the job, which reads
    the profile on the target); ``store_path`` (a system this device was built or deployed with) is the older
    way to name one."""
    needs_target(get_device(name))
    if generation is not None or store_path is None:
        number = _generation_number(generation)
        if number is None:
            raise InputError([FieldError("generation", CHOOSE_GENERATION)])
        return start_device_job(ROLLBACK, name, {"generation": number})
    known = {d.store_path for d in Deployment.select().where(Deployment.device_name == name,
                                                            Deployment.store_path.is_null(False))}
    if not isinstance(store_path, str) or store_path not in known:
        raise InputError([FieldError("store_path", "choose a store path this device was built or deployed with "
                                                   "(see its generations)")])
    return start_device_job(ROLLBACK, name, {"store_path": store_path})


def tag_needs_targets(tag) -> None:
    """A tag deploy starts only when every device of the tag has a target (409 naming those without)."""
    untargeted = [d.name for d in devices_of_tag(tag) if not d.target]
    if untargeted:
        raise InputError([FieldError("target", f"set a target first: {', '.join(untargeted)} of tag {tag.name} "
                                               f"have no deployment target yet ({TARGET_HELP})", "no_target")],
                         status=409)


def deploy_tag(name: str) -> Job:
    tag = get_tag(name)
    tag_needs_targets(tag)
    with database.atomic():
        running = _busy(f"tag:{tag.name}", (DEPLOY_TAG,))
        if running is not None:
            raise JobConflict(running)
        return enqueue(DEPLOY_TAG, subject=f"tag:{tag.name}", payload={"tag": tag.name,
                                                                   "requested_by": audit.current_actor()})


def preview(name: str, settings):
    """The device's generated files now and their diff against the last successful build of it."""
    from deploy.compose import compose, thymis_url
    from deploy.preview import preview_device
    from deploy.render import GenerationError, render_project
    from repos.thymis_override import thymis_choice
    from sandbox import SandboxError
    device = get_device(name)
    url = thymis_url(settings)
    try:
        composition = compose(settings)
    except SandboxError:
        problems = device_problems(device, settings)
        if not problems:
            raise
        raise GenerationError("the configuration has problems:\n" + "\n".join(problems)) from None
    rendered = render_project(composition.devices, composition.inputs, url, thymis_choice())
    return preview_device(settings.project_dir, rendered, device.name, active_commit(device.name))


def active_commit(device: str) -> str | None:
    """The project commit of the system the device runs: its last successful deploy or rollback (a rollback
    runs the commit an earlier record built that system from); else its last successful build."""
    done = Deployment.select().where(Deployment.device_name == device, Deployment.state == DeploymentState.SUCCEEDED)
    last = (done.where(Deployment.kind.in_((DeploymentKind.DEPLOY, DeploymentKind.ROLLBACK)))
            .order_by(Deployment.id.desc()).first())
    if last is not None and last.project_commit is None and last.store_path:
        last = (done.where(Deployment.store_path == last.store_path, Deployment.project_commit.is_null(False))
                .order_by(Deployment.id.desc()).first())
    if last is None:
        last = done.where(Deployment.project_commit.is_null(False)).order_by(Deployment.id.desc()).first()
    return last.project_commit if last else None


def device_problems(device, settings) -> list[str]:
    """Every problem of the device's own and its tags' modules, in plain words (see configs.render_check)."""
    from configs.catalog import available_modules
    from configs.render_check import active_checkouts, owner_problems
    from configs.service import DEVICE_PRIORITY, device_tags
    catalog, checkouts = available_modules(), active_checkouts(settings)
    found = owner_problems(f"device {device.name}", device.modules, catalog, checkouts, DEVICE_PRIORITY,
                           f"hosts/{device.name}")
    for tag in device_tags(device):
        found += owner_problems(f"tag {tag.name}", tag.modules, catalog, checkouts, tag.priority, f"tags/{tag.name}")
    return found


def deployment_json(row: Deployment) -> dict:
    from models import isoformat
    return {"id": row.id, "kind": row.kind, "state": row.state, "project_commit": row.project_commit,
            "store_path": row.store_path, "error": row.error, "job_id": row.job_id,
            "started_at": isoformat(row.started_at), "finished_at": isoformat(row.finished_at),
            "duration": row.duration}

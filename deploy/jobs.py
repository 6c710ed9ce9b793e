"""Jobs that generate the project, build devices, activate them, deploy a tag's devices and roll back."""
from __future__ import annotations

import time

import audit
from deploy.activate import DEFAULT_PROFILE, ActivationError
from deploy.build import BuildError, build
from deploy.compose import compose, thymis_url
from deploy.device_ssh import device_ssh
from deploy.flake import GenerationError, LockError, generate_project
from deploy.generations import find_generation
from deploy.hosts import CopyError, TargetError
from deploy.many import DeployTarget, deploy_device, deploy_many, summary
from jobs import JobCancelled, JobFailed
from jobs.context import JobContext
from jobs.queue import finish as finish_job
from jobs.queue import worker_id
from models import (
    ACTIVE_JOB_STATES,
    Deployment,
    DeploymentKind,
    DeploymentState,
    Device,
    DeviceTag,
    Job,
    JobState,
    Tag,
    database,
    utcnow,
)
from repos.thymis_override import thymis_choice
from sandbox import SandboxError
from secret_store.delivery import secrets_for

BUILD, DEPLOY, DEPLOY_TAG, DEPLOY_CHILD, ROLLBACK = "build", "deploy", "deploy-tag", "deploy-device", "rollback"
DEVICE_JOB_KINDS = (BUILD, DEPLOY, DEPLOY_CHILD, ROLLBACK)


class DeviceFailure(Exception):
    """A deploy outcome that was not ok, carried to the record keeping."""

    def __init__(self, message: str, rolled_back_to: str | None = None):
        super().__init__(message)
        self.rolled_back_to = rolled_back_to


EXPECTED_FAILURES = (GenerationError, LockError, BuildError, SandboxError, ActivationError, CopyError, TargetError,
                     DeviceFailure)




def generate(ctx) -> str:
    settings = ctx.settings
    url = thymis_url(settings)
    ctx.progress("generating", force=True)
    composition = compose(settings)
    for note in composition.skipped:
        ctx.log(f"left out: {note}")
    settings.ssh_dir.mkdir(mode=0o700, exist_ok=True)
    result = generate_project(settings.project_dir, devices=composition.devices, inputs=composition.inputs,
                              thymis_url=url, thymis_from=thymis_choice())
    ctx.log(f"project {result.commit[:7]}: {result.message if result.changed else 'unchanged'}")
    return result.commit


def _record(ctx, device_name: str, kind: str, **fields) -> Deployment:
    """The job's deployment record, made only while the job runs (a cancelled job records nothing more)."""
    with database.atomic():
        if not Job.select().where(Job.id == ctx.job_id, Job.state == JobState.RUNNING).exists():
            raise JobCancelled(f"job {ctx.job_id} no longer runs")
        device = Device.get_or_none(Device.name == device_name)
        return Deployment.create(device=device, device_name=device_name, kind=kind, job=ctx.job_id, **fields)


def _finish(record: Deployment, state: str, **fields) -> bool:
    """End a running record; one already ended (its job cancelled or reaped) stays as it was ended (False)."""
    return Deployment.update(state=state, finished_at=utcnow(), **fields).where(
        Deployment.id == record.id, Deployment.state == DeploymentState.RUNNING).execute() > 0


AUDITED = {DeploymentKind.DEPLOY: audit.DEPLOY, DeploymentKind.ROLLBACK: audit.ROLLBACK}


def _finish_audited(ctx, record: Deployment, state: str, tag: str | None = None, **fields) -> None:
    """End the record and, for a deploy or rollback, add its outcome to the audit log in the same transaction
    (who: the one who started the job, kept in its payload)."""
    with database.atomic():
        if _finish(record, state, **fields) and record.kind in AUDITED:
            store_path = fields.get("store_path") or Deployment.get_by_id(record.id).store_path
            detail = {"outcome": state, "store_path": store_path, "error": fields.get("error"),
                      "job_id": record.job_id}
            if tag:
                detail["tag"] = tag
            audit.record(AUDITED[record.kind], record.device_name, ctx.payload.get("requested_by") or "controller",
                         detail)


def _run(ctx, kind: str, work) -> None:
    """Record one device operation; expected failures end the job with their message, kept on the record."""
    name = ctx.payload["device"]
    record = _record(ctx, name, kind)
    started = time.monotonic()  # the record's duration: the whole operation (generate, build, copy, switch)
    try:
        fields = work(record)
    except EXPECTED_FAILURES as exc:
        state = DeploymentState.ROLLED_BACK if getattr(exc, "rolled_back_to", None) else DeploymentState.FAILED
        _finish_audited(ctx, record, state, error=str(exc), duration=time.monotonic() - started)
        raise JobFailed(str(exc)) from None
    _finish_audited(ctx, record, DeploymentState.SUCCEEDED, **{**fields, "duration": time.monotonic() - started})


def deploy_target(device, settings, *, with_secrets: bool = False) -> DeployTarget:
    """``with_secrets``: a deploy, which places the device's secrets before the switch (a rollback does not).
    THYMIS_SYSTEM_PROFILE is this machine's profile: a device over SSH keeps NixOS's system profile (its boot
    entries come from there). SSH devices get the controller's key (created on first need) and their host keys
    on record (deploy.device_ssh)."""
    profile = str(settings.system_profile) if device.target == "local" else DEFAULT_PROFILE
    ssh = device_ssh(device, settings)
    return DeployTarget(name=device.name, target=device.target, profile=profile,
                        activation_command=settings.local_activation_command or None,
                        lock_dir=settings.project_path / "locks",
                        files=secrets_for(device, settings) if with_secrets else None,
                        ssh=ssh.options if ssh else None)


def learn_host_keys(device_name: str, settings) -> None:
    """After a connection to a device without a host key on record: record what ssh accepted."""
    device = Device.get_or_none(Device.name == device_name)
    ssh = device_ssh(device, settings, known_hosts_file=settings.ssh_dir / "device-known-hosts" / device_name,
                     rewrite=False) if device else None
    if ssh:
        ssh.learn(settings)


def _target(ctx, *, with_secrets: bool = False) -> DeployTarget:
    return deploy_target(Device.get(Device.name == ctx.payload["device"]), ctx.settings, with_secrets=with_secrets)


def build_job(ctx) -> None:
    def work(record):
        commit = generate(ctx)
        Deployment.update(project_commit=commit).where(Deployment.id == record.id).execute()
        result = build(ctx.settings.project_dir, commit, ctx.payload["device"], ctx)
        ctx.log(f"built {result.store_path} in {result.duration:.1f} s")
        return {"store_path": result.store_path, "duration": result.duration}
    _run(ctx, DeploymentKind.BUILD, work)


def _outcome_fields(outcome) -> dict:
    return {"store_path": outcome.build.store_path if outcome.build else None, "duration": outcome.duration}


def deploy_job(ctx) -> None:
    def work(record):
        commit = generate(ctx)
        Deployment.update(project_commit=commit).where(Deployment.id == record.id).execute()
        try:
            outcome = deploy_device(ctx.settings.project_dir, commit, _target(ctx, with_secrets=True), ctx)
        finally:
            learn_host_keys(ctx.payload["device"], ctx.settings)
        fields = _outcome_fields(outcome)
        if not outcome.ok:
            Deployment.update(**fields).where(Deployment.id == record.id).execute()
            raise DeviceFailure(outcome.error, outcome.rolled_back_to)
        return fields  # the activation logged its "switched ..." line itself
    _run(ctx, DeploymentKind.DEPLOY, work)


def rollback_job(ctx) -> None:
    """Roll back to generation ``payload["generation"]`` of the target's profile (or to ``store_path``)."""
    def work(record):
        device = _target(ctx)
        try:
            where, number, store_path = device.where(), ctx.payload.get("generation"), ctx.payload.get("store_path")
            if number is not None:
                listed = where.generations(profile=device.profile, ctx=ctx)
                store_path = find_generation(listed, number, device.profile, device.target).store_path
                ctx.log(f"generation {number} of {device.profile} is {store_path}")
            result = where.rollback(store_path, ctx, profile=device.profile, generation=number)
        finally:
            learn_host_keys(ctx.payload["device"], ctx.settings)
        return {"store_path": result.store_path}
    _run(ctx, DeploymentKind.ROLLBACK, work)


def deploy_tag_job(ctx) -> None:
    """Deploy every device with the tag, in parallel up to the limit, one child job per device."""
    tag = Tag.get(Tag.name == ctx.payload["tag"])
    devices = list(Device.select().join(DeviceTag).where(DeviceTag.tag == tag).order_by(Device.name))
    if not devices:
        ctx.log(f"no device has the tag {tag.name}")
        return
    try:
        commit = generate(ctx)
    except EXPECTED_FAILURES as exc:
        raise JobFailed(str(exc)) from None
    children, records = {}, {}
    with database.atomic():  # a device with its own build or deploy running is left out, not switched twice
        busy = {j.subject for j in Job.select(Job.subject).where(Job.subject.in_([d.name for d in devices]),
                                                                Job.kind.in_(DEVICE_JOB_KINDS),
                                                                Job.state.in_((JobState.QUEUED, JobState.RUNNING)))}
        for device in devices:
            if device.name in busy:
                continue
            children[device.name] = Job.create(kind=DEPLOY_CHILD, subject=device.name, parent=ctx.job_id,
                                               state=JobState.RUNNING, phase="waiting", worker=worker_id(),
                                               started_at=utcnow(), heartbeat_at=utcnow(),
                                               payload={"device": device.name})
            records[device.name] = Deployment.create(device=device, device_name=device.name, kind=DeploymentKind.DEPLOY,
                                                     job=children[device.name], project_commit=commit)
    for name in sorted(busy):
        ctx.log(f"{name}: skipped, another build or deploy of it is running")
    targets = [deploy_target(d, ctx.settings, with_secrets=True) for d in devices if d.name in children]
    ctx.progress("deploying", 0, len(targets), force=True)
    contexts = {name: JobContext(child, ctx.settings) for name, child in children.items()}
    try:
        outcomes = deploy_many(ctx.settings.project_dir, commit, targets, limit=ctx.settings.deploy_parallel,
                               ctx_for=contexts.get)
    finally:
        for target in targets:
            learn_host_keys(target.name, ctx.settings)
    for name, outcome in outcomes.items():
        contexts[name].flush()
        state = (DeploymentState.SUCCEEDED if outcome.ok
                 else DeploymentState.ROLLED_BACK if outcome.rolled_back_to else DeploymentState.FAILED)
        _finish_audited(ctx, records[name], state, tag=tag.name, error=outcome.error, **_outcome_fields(outcome))
        finish_job(children[name].id, ok=outcome.ok, error=outcome.error)
    text = summary(outcomes) + (f"; skipped (busy): {', '.join(sorted(busy))}" if busy else "")
    ctx.log(text)
    ctx.progress("done", sum(o.ok for o in outcomes.values()), len(outcomes), force=True)
    if busy or not all(o.ok for o in outcomes.values()):
        raise JobFailed(text)


def _what(kind: str) -> str:
    return {"build": "the build", "rollback": "the rollback"}.get(kind, "the deployment")


def abort_device_job(job: Job) -> None:
    """Called in the transaction that cancels or reaps a build, deploy, rollback or tag deploy: its records
    (and those of a tag deploy's device jobs) end failed with the reason, never stay running."""
    jobs = [job.id] + [c.id for c in Job.select(Job.id).where(Job.parent == job.id)]
    for record in Deployment.select().where(Deployment.job.in_(jobs), Deployment.state == DeploymentState.RUNNING):
        reaped = job.state != JobState.CANCELLED and (job.error or "").startswith("the controller stopped")
        reason = f"the controller stopped during {_what(record.kind)}" if reaped else (job.error or "cancelled")
        ended = Deployment.update(state=DeploymentState.FAILED, error=reason, finished_at=utcnow()).where(
            Deployment.id == record.id, Deployment.state == DeploymentState.RUNNING).execute()
        if ended and record.kind in AUDITED:
            audit.record(AUDITED[record.kind], record.device_name, (job.payload or {}).get("requested_by")
                         or "controller", {"outcome": DeploymentState.FAILED, "store_path": record.store_path,
                                           "error": reason, "job_id": record.job_id})


def settle_stuck_deployments() -> None:
    """Records left running with no unfinished job (a controller that stopped before this code reaped it)."""
    live = Job.select(Job.id).where(Job.state.in_(ACTIVE_JOB_STATES))
    for record in Deployment.select().where(Deployment.state == DeploymentState.RUNNING,
                                            Deployment.job.is_null() | Deployment.job.not_in(live)):
        Deployment.update(state=DeploymentState.FAILED, finished_at=utcnow(),
                          error=f"the controller stopped during {_what(record.kind)}").where(
            Deployment.id == record.id, Deployment.state == DeploymentState.RUNNING).execute()

"""Retrying an ended job: the same kind of job for the same subject, started the way its page or API starts it
(so the one-job-per-device/repository rules hold). A tag deploy's per-device job is retried as a deploy of that
device."""
from __future__ import annotations

from errors import FieldError, InputError
from models import Job


def retry(job: Job) -> Job:
    from deploy import jobs as kinds
    from deploy import service as deploy
    from repos import repositories
    from repos.repositories import FETCH_JOB

    if job.active:
        raise InputError([FieldError("job", f"job {job.id} is still {job.state}; it can be retried when it ends",
                                     "conflict")], status=409)
    payload = job.payload or {}
    if job.kind == FETCH_JOB:
        if job.repository is None:
            raise _gone(job, "its repository was removed")
        return repositories.refresh_repository(job.repository)
    if job.kind in (kinds.BUILD, kinds.DEPLOY, kinds.DEPLOY_CHILD):
        device = payload.get("device") or job.subject
        kind = kinds.BUILD if job.kind == kinds.BUILD else kinds.DEPLOY
        return deploy.start_device_job(kind, device)
    if job.kind == kinds.ROLLBACK:
        return deploy.rollback_device(payload.get("device") or job.subject, payload.get("generation"),
                                      payload.get("store_path"))
    if job.kind == kinds.DEPLOY_TAG:
        return deploy.deploy_tag(payload.get("tag") or (job.subject or "").removeprefix("tag:"))
    raise _gone(job, f"jobs of kind {job.kind} cannot be retried")


def _gone(job: Job, why: str) -> InputError:
    return InputError([FieldError("job", f"job {job.id} cannot be retried: {why}", "conflict")], status=409)

"""A job table in SQLite: enqueue, claim atomically, record progress, reap jobs of dead workers.

Jobs live in the database, so any gunicorn worker (or the CLI) can run them and a restart loses nothing:
a job whose worker process is gone is marked failed by whoever looks next.
"""
from __future__ import annotations

import datetime as dt
import os
import socket

from peewee import IntegrityError

from models import Job, JobState, database, utcnow

STALE_AFTER = dt.timedelta(seconds=120)
LOG_LIMIT = 200_000


_wakers: list = []


def on_enqueue(callback) -> None:
    """Runners in this process register here to start a new job at once instead of at their next poll."""
    _wakers.append(callback)


def off_enqueue(callback) -> None:
    if callback in _wakers:
        _wakers.remove(callback)


class JobConflict(Exception):
    def __init__(self, job: Job):
        super().__init__(f"job {job.id} ({job.kind}) is already {job.state} for this repository")
        self.job = job


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def enqueue(kind: str, *, repository=None, subject: str | None = None, payload: dict | None = None) -> Job:
    try:
        with database.atomic():
            job = Job.create(kind=kind, repository=repository, subject=subject or getattr(repository, "name", None),
                             payload=payload)
    except IntegrityError:
        existing = active_job_for(repository)
        if existing is None:
            raise
        raise JobConflict(existing) from None
    for wake in list(_wakers):  # a copy: another thread may add a waker meanwhile
        wake()
    return job


def active_job_for(repository) -> Job | None:
    if repository is None:
        return None
    return (Job.select().where(Job.repository == repository, Job.state.in_((JobState.QUEUED, JobState.RUNNING)))
            .order_by(Job.id.desc()).first())


def claim(job_id: int | None = None) -> Job | None:
    """Take a queued job (the oldest, or the given one) for this process; None when there is none."""
    with database.atomic():
        query = Job.select(Job.id).where(Job.state == JobState.QUEUED)
        if job_id is not None:
            query = query.where(Job.id == job_id)
        row = query.order_by(Job.id).first()
        if row is None:
            return None
        now = utcnow()
        updated = (Job.update(state=JobState.RUNNING, phase="starting", worker=worker_id(), started_at=now,
                              heartbeat_at=now)
                   .where(Job.id == row.id, Job.state == JobState.QUEUED).execute())
        return Job.get_by_id(row.id) if updated else None


def finish(job_id: int, *, ok: bool, error: str | None = None) -> None:
    """End a running job; one already reaped as failed stays failed (its outcome was reported already)."""
    Job.update(state=JobState.SUCCEEDED if ok else JobState.FAILED, phase="done" if ok else "failed", error=error,
               finished_at=utcnow(), heartbeat_at=utcnow()
               ).where(Job.id == job_id, Job.state == JobState.RUNNING).execute()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_orphans() -> int:
    """Fail running jobs whose process is gone (same host) or silent for too long (any host)."""
    host = socket.gethostname()
    reaped = 0
    for job in Job.select().where(Job.state == JobState.RUNNING):
        owner_host, _, pid = (job.worker or ":").rpartition(":")
        dead = owner_host == host and pid.isdigit() and not _pid_alive(int(pid))
        stale = job.heartbeat_at is None or utcnow() - job.heartbeat_at > STALE_AFTER
        if dead or stale:
            reaped += (Job.update(state=JobState.FAILED, phase="failed", finished_at=utcnow(),
                                  error="the controller stopped while this job was running",
                                  log=Job.log.concat("\nthe controller stopped while this job was running\n"))
                       .where(Job.id == job.id, Job.state == JobState.RUNNING).execute())
    return reaped

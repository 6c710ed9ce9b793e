"""A job table in SQLite: enqueue, claim atomically, record progress, reap jobs of dead workers.

Jobs live in the database, so any gunicorn worker (or the CLI) can run them and a restart loses nothing:
a job whose worker process is gone is marked failed by whoever looks next (jobs/ending.py).
"""
from __future__ import annotations

import os
import socket

from peewee import IntegrityError

from models import ACTIVE_JOB_STATES, Job, JobState, database, utcnow

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
    """Queue a job; raises JobConflict naming the queued or running job of the same repository.

    The check and the insert share one write transaction (begun IMMEDIATE: no other writer in between), so
    concurrent enqueues of one repository give one job and conflicts, never a constraint error."""
    for _attempt in range(5):
        try:
            with database.atomic():
                existing = active_job_for(repository)
                if existing is not None:
                    raise JobConflict(existing)
                job = Job.create(kind=kind, repository=repository, payload=payload,
                                 subject=subject or getattr(repository, "name", None))
            break
        except IntegrityError:
            # Only possible inside an outer transaction that did not hold the lock: look again.
            existing = active_job_for(repository)
            if existing is not None:
                raise JobConflict(existing) from None
    else:
        raise RuntimeError(f"could not queue a {kind} job: the job table kept changing")
    for wake in list(_wakers):  # a copy: another thread may add a waker meanwhile
        wake()
    return job


def active_job_for(repository) -> Job | None:
    if repository is None:
        return None
    return (Job.select().where(Job.repository == repository, Job.state.in_(ACTIVE_JOB_STATES))
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
    """End a running job; one already reaped or cancelled stays so (its outcome was reported already)."""
    Job.update(state=JobState.SUCCEEDED if ok else JobState.FAILED, phase="done" if ok else "failed", error=error,
               finished_at=utcnow(), heartbeat_at=utcnow()
               ).where(Job.id == job_id, Job.state == JobState.RUNNING).execute()


def requeue(job_id: int, note: str) -> bool:
    """Put a job this process was running back in the queue (a graceful stop ran out of time): any worker
    may claim it again. Its handler here, if it still runs, changes nothing more (writes are bound to the
    job running in this process)."""
    return Job.update(state=JobState.QUEUED, phase="queued", worker=None, started_at=None, heartbeat_at=None,
                      log=Job.log.concat(f"\n{note}\n")).where(
        Job.id == job_id, Job.state == JobState.RUNNING, Job.worker == worker_id()).execute() > 0

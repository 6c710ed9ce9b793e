"""Jobs that end without their handler finishing: cancelled by an operator (or with their subject), or
reaped because the process running them is gone. Either way the job's kind puts its subject right in the
same transaction (``JobKinds.abort``), and the job's own later writes change nothing (they are bound to the
job still running: see pipeline/fetch_job.py and deploy/jobs.py)."""
from __future__ import annotations

import datetime as dt
import logging
import socket

from jobs import processes
from models import ACTIVE_JOB_STATES, Job, JobState, database, utcnow

log = logging.getLogger(__name__)

STALE_AFTER = dt.timedelta(seconds=120)


class NotCancellable(Exception):
    def __init__(self, job: Job):
        super().__init__(f"job {job.id} ({job.kind}) has already ended ({job.state}); only a queued or running "
                         "job can be cancelled")
        self.job = job


def _end(job: Job, state: str, reason: str, kinds) -> bool:
    """Mark ``job`` (and its unfinished children) ended with ``reason``; False when it had ended already."""
    ended = (Job.update(state=state, phase=state, error=reason, finished_at=utcnow(),
                        log=Job.log.concat(f"\n{reason}\n"))
             .where(Job.id == job.id, Job.state.in_(ACTIVE_JOB_STATES)).execute())
    if not ended:
        return False
    job = Job.get_by_id(job.id)
    if kinds is not None:
        kinds.abort(job)
    for child in Job.select().where(Job.parent == job.id, Job.state.in_(ACTIVE_JOB_STATES)):
        _end(child, state, reason, kinds)
    return True


def _kinds(kinds):
    if kinds is None:
        from jobs.registry import installed
        kinds = installed()
    return kinds


def cancel_job(job: Job, kinds=None, reason: str = "cancelled by an operator") -> Job:
    """Cancel a queued or running job: its subject is left as it was before the job; the worker running it
    sees the change within a second and ends the job's processes. Raises NotCancellable for an ended job."""
    with database.atomic():
        if not _end(job, JobState.CANCELLED, reason, _kinds(kinds)):
            raise NotCancellable(Job.get_by_id(job.id))
    return Job.get_by_id(job.id)


def cancel_jobs_of(reason: str, *, repository=None, subject: str | None = None, kinds_of_job=None,
                   kinds=None) -> list[int]:
    """Cancel every unfinished job of a repository or a subject (call inside the transaction that deletes it)."""
    query = Job.select().where(Job.state.in_(ACTIVE_JOB_STATES))
    if repository is not None:
        query = query.where(Job.repository == repository)
    if subject is not None:
        query = query.where(Job.subject == subject)
    if kinds_of_job is not None:
        query = query.where(Job.kind.in_(kinds_of_job))
    return [job.id for job in query if _end(job, JobState.CANCELLED, reason, _kinds(kinds))]


def stopped_reason(job: Job) -> str:
    """"the controller stopped during building" (or "during validating (modules)"): what the job was doing."""
    phase = job.phase if job.phase not in (None, "", "starting", "queued", "running") else None
    if not phase:
        return "the controller stopped while this job was running"
    head, _, detail = phase.partition(": ")
    return f"the controller stopped during {head}" + (f" ({detail})" if detail else "")


def reap_orphans(kinds=None) -> int:
    """Fail running jobs whose process is gone (same host) or silent for too long (any host), put their
    subjects right, then let each kind settle subjects left half-way without any job."""
    host = socket.gethostname()
    reaped = 0
    orphans = processes.end_orphans()
    if orphans:
        log.warning("ended %d process group(s) left by jobs of a controller process that is gone", orphans)
    for job in Job.select().where(Job.state == JobState.RUNNING):
        owner_host, _, pid = (job.worker or ":").rpartition(":")
        dead = owner_host == host and pid.isdigit() and not processes.pid_alive(int(pid))
        stale = job.heartbeat_at is None or utcnow() - job.heartbeat_at > STALE_AFTER
        if dead or stale:
            with database.atomic():
                reaped += _end(job, JobState.FAILED, stopped_reason(job), kinds)
    if kinds is not None:
        try:
            kinds.sweep()
        except Exception:  # noqa: BLE001 - a busy database: the next reap tries again
            log.exception("settling subjects left half-way failed")
    return reaped

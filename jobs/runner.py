"""Running jobs: background threads that claim queued jobs (a server), or the caller's own thread (inline).

``Settings.start_job_worker`` is the one switch: True starts the worker threads; False is the inline mode
the CLI and tests use, where a queued job runs only when someone calls ``JobRunner.run_now`` for it.
"""
from __future__ import annotations

import atexit
import logging
import threading
import time
import traceback

from errors import disk_full_message, hide_paths, is_disk_full
from jobs import processes, queue, registry
from jobs.context import JobContext
from jobs.ending import reap_orphans
from jobs.registry import JobKinds
from jobs.scheduler import Scheduler
from models import Job, JobState, utcnow

log = logging.getLogger(__name__)


class JobFailed(Exception):
    """An expected failure a handler reports: its message becomes the job's error."""


HEARTBEAT_SECONDS = 30
WATCH_SECONDS = 1.0


def _watch(ctx: JobContext, stop: threading.Event) -> None:
    """Keep a running job (and its running children) marked alive while its handler is silent, e.g. waiting
    for nix or for a parallel slot: the reaper fails only jobs whose process is gone or has stopped beating.
    Every second, look whether the job was cancelled (by any worker): then end its processes at once."""
    beat_due = time.monotonic() + HEARTBEAT_SECONDS
    while not stop.wait(min(WATCH_SECONDS, HEARTBEAT_SECONDS)):
        try:
            row = Job.select(Job.state).where(Job.id == ctx.job_id).first()
            if row is None or row.state != JobState.RUNNING:
                ctx.cancelled.set()
                children = [c.id for c in Job.select(Job.id).where(Job.parent == ctx.job_id)]
                ended = processes.end([ctx.job_id, *children])
                log.info("job %s ended from outside (%s); %d process group(s) stopped", ctx.job_id,
                         row.state if row else "deleted", ended)
                return
            if time.monotonic() >= beat_due:
                beat_due = time.monotonic() + HEARTBEAT_SECONDS
                Job.update(heartbeat_at=utcnow()).where(
                    ((Job.id == ctx.job_id) | (Job.parent == ctx.job_id))
                    & (Job.state == JobState.RUNNING)).execute()
        except Exception:  # a busy database now and then is fine; the next look retries
            log.debug("watching job %s failed", ctx.job_id, exc_info=True)


def run_job(job: Job, settings, kinds: JobKinds) -> None:
    """Run one claimed job to its end; failures (an unknown kind too) are recorded on the job, never raised.
    A job cancelled meanwhile stays cancelled: finish() changes only a job that is still running."""
    ctx = JobContext(job, settings)
    stop = threading.Event()
    threading.Thread(target=_watch, args=(ctx, stop), name=f"job-{job.id}-watch", daemon=True).start()
    processes.bind_thread(job.id)
    try:
        kinds.handler_for(job.kind)(ctx)
    except Exception as exc:  # a job's failure is data, the worker goes on
        message = hide_paths(str(exc)) or exc.__class__.__name__
        if is_disk_full(exc):
            message = disk_full_message(settings.project_path)
        if ctx.cancelled.is_set():
            log.info("job %s (%s) stopped after it was cancelled: %s", job.id, job.kind, message)
        else:
            log.warning("job %s (%s) failed: %s", job.id, job.kind, message)
            log.debug("job %s traceback:\n%s", job.id, traceback.format_exc())
        _record_end(ctx, kinds, ok=False, error=message)
    else:
        _record_end(ctx, kinds, ok=True)
    finally:
        stop.set()
        processes.bind_thread(None)
        processes.end([job.id])  # nothing it started outlives it


FINISH_RETRY_SECONDS = 600


def _record_end(ctx: JobContext, kinds: JobKinds, *, ok: bool, error: str | None = None) -> None:
    """Record the outcome; while the disk is full, try again every second (for up to 10 minutes), so the
    job ends with its own reason as soon as there is room, and its subject is not left half-way."""
    deadline = time.monotonic() + FINISH_RETRY_SECONDS
    while True:
        try:
            if error and not ctx.cancelled.is_set():
                ctx.log(f"failed: {error}")
            ctx.flush()
            queue.finish(ctx.job_id, ok=ok, error=error)
            if not ok:
                ended = Job.get_or_none(Job.id == ctx.job_id)
                if ended is not None and ended.state == JobState.FAILED:
                    kinds.abort(ended)  # a subject the handler could not settle (the disk was full, say)
            return
        except Exception as exc:  # noqa: BLE001
            if not is_disk_full(exc) or time.monotonic() > deadline:
                log.exception("could not record the end of job %s", ctx.job_id)
                return
            error = disk_full_message(ctx.settings.project_path) if not ok else error
            time.sleep(1)


class JobRunner:
    """Runs the jobs of the registered ``kinds``: in ``threads`` background threads once started, or inline
    (``run_now``)."""

    def __init__(self, settings, kinds: JobKinds, threads: int = 2, poll_seconds: float = 1.0):
        self.settings = settings
        self.kinds = kinds
        registry.install(kinds)
        self.threads = threads
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._running: set[int] = set()
        self.scheduler = Scheduler(getattr(settings, "scheduler_seconds", 10.0))  # periodic tasks, started here

    def start(self) -> None:
        reap_orphans(self.kinds)
        queue.on_enqueue(self.wake)
        for number in range(self.threads):
            thread = threading.Thread(target=self._loop, name=f"job-worker-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self.scheduler.start()
        # gunicorn's worker leaves through sys.exit after a SIGTERM: let running jobs finish first.
        atexit.register(self.shutdown)

    def wake(self) -> None:
        self._wake.set()

    def run_now(self, job: Job) -> bool:
        """Run the queued ``job`` in this thread to its end; False when another worker has taken it already."""
        claimed = queue.claim(job.id)
        if claimed is None:
            return False
        run_job(claimed, self.settings, self.kinds)
        return True

    def stop(self, timeout: float = 10) -> None:
        atexit.unregister(self.shutdown)
        queue.off_enqueue(self.wake)
        self._stop.set()
        self._wake.set()
        self.scheduler.stop(min(timeout, 5))
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0))

    def shutdown(self, grace: float | None = None) -> list[int]:
        """Stop claiming jobs, let the running ones finish for ``grace`` seconds (THYMIS_JOB_GRACE_SECONDS),
        and put those still running back in the queue for another worker (or the next start). Returns them."""
        grace = self.settings.job_grace_seconds if grace is None else grace
        self.stop(grace)
        left = sorted(self._running)
        for job_id in left:
            requeued = queue.requeue(job_id, f"the controller stopped before this job ended (waited {grace:g} s); "
                                             "queued again")
            log.warning("job %s %s", job_id, "queued again" if requeued else "had ended meanwhile")
        return left

    def _loop(self) -> None:
        reap_every = 30
        tick = 0
        while not self._stop.is_set():
            try:
                tick += 1
                if tick % reap_every == 0:
                    reap_orphans(self.kinds)
                if self._stop.is_set():
                    break
                job = queue.claim()
                if job is not None:
                    self._running.add(job.id)
                    try:
                        run_job(job, self.settings, self.kinds)
                    finally:
                        self._running.discard(job.id)
                    continue
            except Exception:  # e.g. database busy; try again next tick
                log.exception("job worker error")
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

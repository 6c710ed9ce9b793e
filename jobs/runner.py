"""Running jobs: background threads that claim queued jobs (a server), or the caller's own thread (inline).

``Settings.start_job_worker`` is the one switch: True starts the worker threads; False is the inline mode
the CLI and tests use, where a queued job runs only when someone calls ``JobRunner.run_now`` for it.
"""
from __future__ import annotations

import logging
import threading
import traceback

from errors import hide_paths
from jobs import queue
from jobs.context import JobContext
from jobs.registry import JobKinds
from models import Job, utcnow

log = logging.getLogger(__name__)


class JobFailed(Exception):
    """An expected failure a handler reports: its message becomes the job's error."""


HEARTBEAT_SECONDS = 30


def _beat(job_id: int, stop: threading.Event) -> None:
    """Keep a running job (and its running children) marked alive while its handler is silent, e.g. waiting
    for nix or for a parallel slot: the reaper fails only jobs whose process is gone or has stopped beating."""
    while not stop.wait(HEARTBEAT_SECONDS):
        try:
            Job.update(heartbeat_at=utcnow()).where(
                ((Job.id == job_id) | (Job.parent == job_id)) & (Job.state == "running")).execute()
        except Exception:  # a busy database now and then is fine; the next beat retries
            log.debug("heartbeat of job %s failed", job_id, exc_info=True)


def run_job(job: Job, settings, kinds: JobKinds) -> None:
    """Run one claimed job to its end; failures (an unknown kind too) are recorded on the job, never raised."""
    ctx = JobContext(job, settings)
    stop = threading.Event()
    threading.Thread(target=_beat, args=(job.id, stop), name=f"job-{job.id}-heartbeat", daemon=True).start()
    try:
        kinds.handler_for(job.kind)(ctx)
    except Exception as exc:  # a job's failure is data, the worker goes on
        message = hide_paths(str(exc)) or exc.__class__.__name__
        log.warning("job %s (%s) failed: %s", job.id, job.kind, message)
        log.debug("job %s traceback:\n%s", job.id, traceback.format_exc())
        ctx.log(f"failed: {message}")
        ctx.flush()
        queue.finish(job.id, ok=False, error=message)
    else:
        ctx.flush()
        queue.finish(job.id, ok=True)
    finally:
        stop.set()


class JobRunner:
    """Runs the jobs of the registered ``kinds``: in ``threads`` background threads once started, or inline
    (``run_now``)."""

    def __init__(self, settings, kinds: JobKinds, threads: int = 2, poll_seconds: float = 1.0):
        self.settings = settings
        self.kinds = kinds
        self.threads = threads
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        queue.reap_orphans()
        queue.on_enqueue(self.wake)
        for number in range(self.threads):
            thread = threading.Thread(target=self._loop, name=f"job-worker-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

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
        queue.off_enqueue(self.wake)
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)

    def _loop(self) -> None:
        reap_every = 30
        tick = 0
        while not self._stop.is_set():
            try:
                tick += 1
                if tick % reap_every == 0:
                    queue.reap_orphans()
                job = queue.claim()
                if job is not None:
                    run_job(job, self.settings, self.kinds)
                    continue
            except Exception:  # e.g. database busy; try again next tick
                log.exception("job worker error")
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

"""Background threads that claim queued jobs and run their handlers, started by the app itself."""
from __future__ import annotations

import logging
import threading
import traceback

from jobs import queue
from jobs.context import JobContext
from models import Job

log = logging.getLogger(__name__)
HANDLERS: dict = {}


def handler(kind: str):
    def register(fn):
        HANDLERS[kind] = fn
        return fn
    return register


def run_job(job: Job, settings) -> None:
    """Run one claimed job to its end; failures are recorded on the job, never raised."""
    ctx = JobContext(job, settings)
    fn = HANDLERS.get(job.kind)
    try:
        if fn is None:
            raise RuntimeError(f"no handler for jobs of kind {job.kind!r}")
        fn(ctx)
    except Exception as exc:  # noqa: BLE001 - a job's failure is data, the worker goes on
        message = str(exc) or exc.__class__.__name__
        log.warning("job %s (%s) failed: %s", job.id, job.kind, message)
        log.debug("job %s traceback:\n%s", job.id, traceback.format_exc())
        ctx.log(f"failed: {message}")
        ctx.flush()
        queue.finish(job.id, ok=False, error=message)
    else:
        ctx.flush()
        queue.finish(job.id, ok=True)


class JobRunner:
    def __init__(self, settings, threads: int = 2, poll_seconds: float = 1.0):
        self.settings = settings
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
                    run_job(job, self.settings)
                    continue
            except Exception:  # noqa: BLE001 - e.g. database busy; try again next tick
                log.exception("job worker error")
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

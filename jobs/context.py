"""What a running job handler gets: progress and log reporting that lands in the job row."""
from __future__ import annotations

import threading
import time

from peewee import fn

from jobs.queue import LOG_LIMIT
from models import Job, JobState, utcnow

FLUSH_SECONDS = 0.5


class JobCancelled(Exception):
    """Raised inside a handler (by JobContext.progress and check) once its job was cancelled or reaped."""


class JobContext:
    """Log lines are buffered and appended in batches (a build can print thousands of lines); progress is
    thinned out. Call flush() when the job ends; the runner does."""

    def __init__(self, job: Job, settings):
        self.job_id = job.id
        self.kind = job.kind
        self.repository_id = job.repository_id
        self.payload = job.payload or {}
        self.settings = settings
        self._last_progress = 0.0
        self._last_flush = time.monotonic()
        self._pending: list[str] = []
        self._lock = threading.Lock()
        self.cancelled = threading.Event()  # set by the runner's watcher when the job ended from outside

    def check(self) -> None:
        """Stop here (raise JobCancelled) if the job was cancelled meanwhile."""
        if self.cancelled.is_set():
            raise JobCancelled(f"job {self.job_id} was cancelled")

    def log(self, line: str) -> None:
        stamp = utcnow().strftime("%H:%M:%S")
        with self._lock:
            self._pending.append(f"[{stamp}] {line.rstrip()}\n")
            due = time.monotonic() - self._last_flush > FLUSH_SECONDS
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            text, self._pending = "".join(self._pending), []
            self._last_flush = time.monotonic()
        if not text:
            return
        Job.update(log=Job.log.concat(text[-LOG_LIMIT:]), heartbeat_at=utcnow()).where(Job.id == self.job_id).execute()
        # Keep the end, where the outcome is.
        Job.update(log=fn.substr(Job.log, -LOG_LIMIT)).where(Job.id == self.job_id,
                                                             fn.length(Job.log) > LOG_LIMIT).execute()

    def progress(self, phase: str, done: int = 0, total: int = 0, *, force: bool = False) -> None:
        """Record progress; frequent calls are thinned out so the database is not hammered. Raises
        JobCancelled once the job was cancelled, which stops a fetch or a build between two steps."""
        self.check()
        now = time.monotonic()
        if not force and now - self._last_progress < 0.25:
            return
        self._last_progress = now
        Job.update(phase=phase, done=max(done, 0), total=max(total, 0), heartbeat_at=utcnow()).where(
            Job.id == self.job_id, Job.state == JobState.RUNNING).execute()
        if self._pending:
            self.flush()

"""What a running job handler gets: progress and log reporting that lands in the job row."""
from __future__ import annotations

import time

from models import Job, utcnow
from jobs.queue import LOG_LIMIT


class JobContext:
    def __init__(self, job: Job, settings):
        self.job_id = job.id
        self.kind = job.kind
        self.repository_id = job.repository_id
        self.payload = job.payload or {}
        self.settings = settings
        self._last_write = 0.0

    def log(self, line: str) -> None:
        stamp = utcnow().strftime("%H:%M:%S")
        text = f"[{stamp}] {line.rstrip()}\n"
        job = Job.get_by_id(self.job_id)
        new_log = (job.log + text)[-LOG_LIMIT:]
        Job.update(log=new_log, heartbeat_at=utcnow()).where(Job.id == self.job_id).execute()

    def progress(self, phase: str, done: int = 0, total: int = 0, *, force: bool = False) -> None:
        """Record progress; frequent calls are thinned out so the database is not hammered."""
        now = time.monotonic()
        if not force and now - self._last_write < 0.25:
            return
        self._last_write = now
        Job.update(phase=phase, done=max(done, 0), total=max(total, 0), heartbeat_at=utcnow()).where(
            Job.id == self.job_id).execute()

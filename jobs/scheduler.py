"""Periodic tasks of a server process: one thread that calls each task every ``every`` seconds.

The job runner starts it with its worker threads (so only servers run it, never the CLI or an inline runner)
and stops it with them. Every gunicorn worker runs one: a task must be safe to run in several processes at
once (repos/updates.py claims each due refresh in the database before it queues it).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, every: float):
        self.every = every
        self.tasks: list[tuple[str, Callable[[], object]]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, name: str, task: Callable[[], object]) -> None:
        self.tasks.append((name, task))

    def run_once(self) -> None:
        for name, task in self.tasks:
            try:
                task()
            except Exception:  # a busy database now and then: the next tick tries again
                log.exception("periodic task %r failed", name)

    def start(self) -> None:
        if not self.tasks or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        from models import database
        while not self._stop.wait(self.every):
            with database.connection_context():
                self.run_once()

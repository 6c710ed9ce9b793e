"""The kinds of job this controller runs, registered explicitly by ``create_app``.

A kind is a name stored in the job table ("fetch", "build", ...) and the function that runs such a job
(it gets a ``jobs.context.JobContext``). Registering a kind twice is an error at start-up; a job of a
kind nobody registered fails with a message naming the kind.

A kind may also say how to put its subject right when one of its jobs ends without its handler finishing
(cancelled, or its process gone): ``abort(job)`` runs in the transaction that ends the job (job.state and
job.error say how it ended); ``sweep()`` runs when jobs are reaped and settles subjects left half-way with no
job at all (by a controller that stopped before this code existed, say).
"""
from __future__ import annotations

from collections.abc import Callable


class DuplicateJobKind(ValueError):
    """A second handler for a kind that has one."""


class UnknownJobKind(LookupError):
    """A job of a kind no handler was registered for."""


class JobKinds:
    def __init__(self) -> None:
        self._handlers: dict[str, Callable] = {}
        self._aborts: dict[str, Callable] = {}
        self._sweeps: list[Callable] = []

    def register(self, kind: str, run: Callable, *, abort: Callable | None = None,
                 sweep: Callable | None = None) -> None:
        if not isinstance(kind, str) or not kind:
            raise ValueError(f"a job kind must be a non-empty string, not {kind!r}")
        if kind in self._handlers:
            raise DuplicateJobKind(f"job kind {kind!r} is registered twice "
                                   f"({self._handlers[kind].__qualname__} and {run.__qualname__})")
        self._handlers[kind] = run
        if abort is not None:
            self._aborts[kind] = abort
        if sweep is not None and sweep not in self._sweeps:
            self._sweeps.append(sweep)

    def abort(self, job) -> None:
        """Put right what ``job`` (ended without its handler finishing) left half-way."""
        hook = self._aborts.get(job.kind)
        if hook is not None:
            hook(job)

    def sweep(self) -> None:
        for hook in self._sweeps:
            hook()

    def handler_for(self, kind: str) -> Callable:
        try:
            return self._handlers[kind]
        except KeyError:
            raise UnknownJobKind(f"no handler for jobs of kind {kind!r} (registered: "
                                 f"{', '.join(sorted(self._handlers)) or 'none'})") from None

    def __contains__(self, kind: object) -> bool:
        return kind in self._handlers

    def __iter__(self):
        return iter(sorted(self._handlers))


_current: JobKinds | None = None


def install(kinds: JobKinds) -> None:
    """The kinds this process runs (set by the JobRunner), for code that ends jobs outside a runner: a
    repository or device deleted by a request or the CLI cancels its jobs through their kinds' abort hooks."""
    global _current
    _current = kinds


def installed() -> JobKinds | None:
    return _current

"""The kinds of job this controller runs, registered explicitly by ``create_app``.

A kind is a name stored in the job table ("fetch", "build", ...) and the function that runs such a job
(it gets a ``jobs.context.JobContext``). Registering a kind twice is an error at start-up; a job of a
kind nobody registered fails with a message naming the kind.
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

    def register(self, kind: str, run: Callable) -> None:
        if not isinstance(kind, str) or not kind:
            raise ValueError(f"a job kind must be a non-empty string, not {kind!r}")
        if kind in self._handlers:
            raise DuplicateJobKind(f"job kind {kind!r} is registered twice "
                                   f"({self._handlers[kind].__qualname__} and {run.__qualname__})")
        self._handlers[kind] = run

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

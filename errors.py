"""Errors every interface (page, JSON, CLI) turns into the same message."""
from __future__ import annotations

import errno
import shutil
from dataclasses import dataclass


@dataclass
class FieldError:
    field: str
    message: str
    code: str = "invalid"


class InputError(Exception):
    """Invalid input: every problem found, each naming its field. status 422, or 409 for a conflict."""

    def __init__(self, errors: list[FieldError], status: int = 422):
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors
        self.status = status

    @property
    def first(self) -> FieldError:
        return self.errors[0]

    def for_field(self, field: str) -> str | None:
        return next((e.message for e in self.errors if e.field == field), None)


class NotFound(Exception):
    pass



def _install_paths() -> dict[str, str]:
    """Where the controller and its Python live (as named and resolved), with what is shown instead."""
    import sysconfig
    from pathlib import Path

    found = {}
    named = [(sysconfig.get_paths()[key], "<python>") for key in ("stdlib", "platstdlib", "purelib", "platlib")]
    for path, shown in [*named, (Path(__file__).parent, "<controller>")]:
        for form in (Path(path).absolute(), Path(path).resolve()):
            found[str(form).rstrip("/")] = shown
    return found


_HIDDEN = _install_paths()


def hide_paths(text: str | None) -> str | None:
    """``text`` without the server's install paths: the controller's folder and its Python's library folders
    (tracebacks, sandbox details) become ``<controller>`` and ``<python>``."""
    if not text:
        return text
    for path in sorted(_HIDDEN, key=len, reverse=True):
        if len(path) > 1:
            text = text.replace(path + "/", _HIDDEN[path] + "/")
    return text


DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def disk_full_message(data_folder) -> str:
    """The one message for a full disk, on pages, in JSON (507) and in jobs."""
    try:
        free = shutil.disk_usage(data_folder).free
    except OSError:
        free = 0
    return f"the data folder's disk is full ({free // (1024 * 1024)} MB free)"


def is_disk_full(exc: BaseException | None) -> bool:
    """True when ``exc`` (or what caused it) is "no space left" from the OS or "database or disk is full"
    from SQLite."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
            return True
        if "database or disk is full" in str(exc) or "No space left on device" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False

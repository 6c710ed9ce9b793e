"""Errors every interface (page, JSON, CLI) turns into the same message."""
from __future__ import annotations

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

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

"""Listing jobs for the jobs page and ``GET /api/jobs``: filters, pages, what runs now, and retrying one.

Filters are exact matches on ``kind``, ``state`` and ``subject`` (a device name, ``tag:<name>`` or a repository's
input name); pages count from 1, newest job first. The same parser reads the page's query string and the API's.
"""
from __future__ import annotations

from dataclasses import dataclass

from errors import FieldError, InputError
from models import Job, JobState

PER_PAGE = 25
MAX_PER_PAGE = 100
ACTIVE = (JobState.QUEUED, JobState.RUNNING)


@dataclass
class JobQuery:
    kind: str = ""
    state: str = ""
    subject: str = ""
    page: int = 1
    per_page: int = PER_PAGE

    def filters(self) -> dict[str, str]:
        return {key: value for key, value in (("kind", self.kind), ("state", self.state),
                                              ("subject", self.subject)) if value}


def _number(args, name: str, default: int, low: int, high: int, errors: list[FieldError]) -> int:
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        errors.append(FieldError(name, f"{name} must be a whole number from {low} to {high}"))
        return default
    return int(raw)


def parse_query(args) -> JobQuery:
    """``?kind=&state=&subject=&page=&per_page=``; an unknown state or a bad number is a 422 naming the field."""
    errors: list[FieldError] = []
    state = (args.get("state") or "").strip()
    states = [s.value for s in JobState]
    if state and state not in states:
        errors.append(FieldError("state", f"state must be one of {', '.join(states)}"))
    query = JobQuery(kind=(args.get("kind") or "").strip()[:100], state=state,
                     subject=(args.get("subject") or "").strip()[:300],
                     page=_number(args, "page", 1, 1, 1_000_000, errors),
                     per_page=_number(args, "per_page", PER_PAGE, 1, MAX_PER_PAGE, errors))
    if errors:
        raise InputError(errors)
    return query


def list_jobs(query: JobQuery) -> tuple[list[Job], bool]:
    """One page of jobs (newest first) and whether a next page exists."""
    select = Job.select()
    if query.kind:
        select = select.where(Job.kind == query.kind)
    if query.state:
        select = select.where(Job.state == query.state)
    if query.subject:
        select = select.where(Job.subject == query.subject)
    rows = list(select.order_by(Job.id.desc()).offset((query.page - 1) * query.per_page).limit(query.per_page + 1))
    return rows[:query.per_page], len(rows) > query.per_page


def known_kinds() -> list[str]:
    return [row.kind for row in Job.select(Job.kind).distinct().order_by(Job.kind)]


def running() -> tuple[int, Job | None]:
    """How many jobs are queued or running, and the latest job (for the top bar's indicator)."""
    count = Job.select().where(Job.state.in_(ACTIVE)).count()
    latest = Job.select().order_by(Job.id.desc()).first()
    return count, latest

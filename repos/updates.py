"""Updates on their own (issue 17): a repository's webhook secret and its refresh schedule.

- ``webhook_secret``: write-only, stored as a Fernet token with the other credentials (repos/vault.py); the API
  says only whether one is set. Forge webhooks (repos/webhooks.py) are checked against it.
- ``refresh_interval``: minutes between refreshes, or off. ``refresh_due_at`` is when the next one is due. The
  scheduler thread of every server process (jobs/scheduler.py) calls ``enqueue_due_refreshes``; a due row is
  *claimed* by a compare-and-set of ``refresh_due_at`` in the same write transaction as the enqueue, so with
  several gunicorn workers exactly one of them queues each refresh.
- A push that arrives while a fetch runs sets ``refresh_due_at`` to now: the scheduler queues the refresh once
  that fetch has ended (it may have fetched the commit before the push).
"""
from __future__ import annotations

import datetime as dt

from jobs import JobConflict, active_job_for
from models import Repository, database, isoformat, utcnow
from repos import vault
from validation import Validation

MIN_SECRET, MAX_SECRET = 16, 256
MAX_INTERVAL = 60 * 24 * 30  # minutes: 30 days
OFF = "off"
SECRET_RULE = (f"the webhook secret must have {MIN_SECRET} to {MAX_SECRET} printable characters (no spaces at "
               "either end); the forge sends or signs with the same text")
INTERVAL_RULE = f"the refresh interval must be 'off' or a whole number of minutes from 1 to {MAX_INTERVAL}"
SCHEDULE, WEBHOOK = "the refresh schedule", "a {forge} webhook ({event})"


def read_secret(v: Validation) -> str | None:
    """``webhook_secret``: None when not given (keep), "" to remove it, else the new secret."""
    if not v.has("webhook_secret"):
        return None
    value = v.raw("webhook_secret")
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        v.error("webhook_secret", SECRET_RULE)
        return None
    if not (MIN_SECRET <= len(value) <= MAX_SECRET) or value != value.strip() or not value.isprintable():
        v.error("webhook_secret", SECRET_RULE)
        return None
    return value


def read_interval(v: Validation) -> int | None | str:
    """``refresh_interval``: ``...`` (Ellipsis) when not given (keep), None for off, else minutes (a whole number
    in JSON, digits in a form)."""
    if not v.has("refresh_interval"):
        return ...
    value = v.raw("refresh_interval")
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", OFF)):
        return None
    minutes = v.integer("refresh_interval", message=INTERVAL_RULE, min=1, max=MAX_INTERVAL)
    return ... if minutes is None else minutes


def interval_delta(settings, minutes: int) -> dt.timedelta:
    """``minutes`` of the schedule (THYMIS_REFRESH_MINUTE_SECONDS shortens a minute, for tests only)."""
    return dt.timedelta(seconds=minutes * settings.refresh_minute_seconds)


def update_columns(settings, secret: str | None, interval, current: Repository | None = None) -> dict:
    """The Repository columns a create or an edit changes for ``secret`` and ``interval`` (as read above)."""
    changes = {}
    if secret == "":
        changes["webhook_secret"] = None
    elif secret is not None:
        changes["webhook_secret"] = vault.encrypt(settings, secret)
    if interval is not ... and (current is None or interval != current.refresh_interval):
        changes["refresh_interval"] = interval
        changes["refresh_due_at"] = utcnow() + interval_delta(settings, interval) if interval else None
    return changes


def updates_json(repo: Repository) -> dict:
    return {"webhook_secret_set": bool(repo.webhook_secret),
            "refresh_interval": repo.refresh_interval or OFF,
            "next_refresh_at": isoformat(repo.refresh_due_at) if repo.refresh_interval else None}


def request_refresh(repo: Repository, reason: str) -> tuple[str, object]:
    """Refresh for a push: (outcome, job). "queued": a new fetch job; "already_queued": one waits to start,
    it fetches the pushed commit too; "after_running": a fetch runs, another is queued once it ends."""
    from repos.repositories import refresh_repository
    with database.atomic():
        current = Repository.get_or_none(Repository.id == repo.id)
        if current is None:
            return "gone", None
        running = active_job_for(current)
        if running is not None and running.state == "queued":
            return "already_queued", running
        if running is not None:
            due = current.refresh_due_at
            if due is None or due > utcnow():
                Repository.update(refresh_due_at=utcnow()).where(Repository.id == current.id).execute()
            return "after_running", running
        return "queued", refresh_repository(current, reason=reason)


def due_refreshes() -> list[Repository]:
    """(id, refresh_due_at) of the repositories whose refresh is due now."""
    return list(Repository.select(Repository.id, Repository.refresh_due_at)
                .where(Repository.refresh_due_at.is_null(False), Repository.refresh_due_at <= utcnow()))


def claim_refresh(settings, row: Repository):
    """Queue the due refresh ``row`` (as due_refreshes read it) unless another process claimed it since, or a
    fetch is unfinished (it stays due: queued after that fetch). Returns the job, or None."""
    from repos.repositories import refresh_repository
    try:
        with database.atomic():
            repo = Repository.get_or_none(Repository.id == row.id)
            if repo is None or repo.refresh_due_at != row.refresh_due_at or active_job_for(repo) is not None:
                return None
            now = utcnow()
            following = now + interval_delta(settings, repo.refresh_interval) if repo.refresh_interval else None
            claimed = (Repository.update(refresh_due_at=following)
                       .where(Repository.id == repo.id, Repository.refresh_due_at == row.refresh_due_at).execute())
            return refresh_repository(repo, reason=SCHEDULE) if claimed else None
    except JobConflict:  # a fetch was queued meanwhile: the claim is rolled back, due again after it
        return None


def enqueue_due_refreshes(settings) -> list:
    """The scheduler's tick: queue a refresh of every repository that is due and has no unfinished job.
    Returns the jobs this call queued (none when another process claimed them first)."""
    return [job for job in (claim_refresh(settings, row) for row in due_refreshes()) if job is not None]

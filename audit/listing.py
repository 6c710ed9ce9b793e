"""Reading the audit log for the audit page and ``GET /api/audit``: filters, newest first, one JSON shape."""
from __future__ import annotations

from audit import KINDS
from models import AuditEvent, isoformat
from validation import Validation


def filters(v: Validation) -> dict:
    """``?kind=`` (one of KINDS) and ``?subject=`` (a repository's or device's name, exact); errors stay on ``v``."""
    kind = v.choice("kind", list(KINDS), message=f"kind must be one of {', '.join(KINDS)}")
    subject = v.text("subject", max_len=200, too_long="subject is at most 200 characters",
                     control="subject must not contain control characters")
    return {"kind": kind, "subject": subject}


def matching(kind: str | None, subject: str | None):
    """The entries with that kind and subject (either may be None: any), newest first: one query per page."""
    query = AuditEvent.select()
    if kind:
        query = query.where(AuditEvent.kind == kind)
    if subject:
        query = query.where(AuditEvent.subject == subject)
    return query.order_by(AuditEvent.id.desc())


def event_json(event: AuditEvent) -> dict:
    return {"id": event.id, "at": isoformat(event.at), "kind": event.kind, "subject": event.subject,
            "actor": event.actor, "detail": event.detail or {}}

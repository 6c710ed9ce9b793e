"""The audit log: what happened to which repository or device, who did it, when, kept in the database.

Call ``record(kind, subject, actor, detail)`` inside the transaction that makes the change, so the entry and
the change are written together or not at all. ``actor`` defaults to who sent the current request
(``session`` or ``token:<name>``), ``cli`` in an operator command, else ``controller`` (a job, the scheduler).

Kinds (``KINDS``) and what their ``subject`` is:

- ``activation``: a repository (input name): a commit became active; detail: ``commit``, ``previous`` (the commit
  active before, or None), ``how`` (``auto``: it passed validation, or ``approved``: in review), ``job_id``.
- ``approval`` / ``rejection``: a repository: its candidate commit was approved or rejected; detail: ``commit``.
- ``deploy`` / ``rollback``: a device: one deploy or rollback ended; detail: ``outcome`` (a DeploymentState:
  succeeded, failed, rolled-back), ``store_path``, ``error`` (the message, shortened), ``job_id``, ``tag`` (a
  tag deploy: the tag's name).
- ``webhook``: a repository: a forge's push event arrived at ``POST /api/hooks/repositories/<name>``; detail:
  ``forge`` (github, gitlab, gitea), ``event``, ``outcome`` (e.g. ``refresh started``, ``bad signature``),
  ``job_id`` when a refresh was started. Never the secret, the signature or the body.

Details are flat: a key maps to a string, number, boolean or None. A key that names a secret (token, password,
secret, signature, key...) is refused, and strings are cut at ``MAX_TEXT`` characters.
"""
from __future__ import annotations

import re

from models import AuditEvent

ACTIVATION, APPROVAL, REJECTION, DEPLOY, ROLLBACK, WEBHOOK = (
    "activation", "approval", "rejection", "deploy", "rollback", "webhook")
KINDS = {
    ACTIVATION: "a commit of a repository became active",
    APPROVAL: "a repository's candidate commit was approved",
    REJECTION: "a repository's candidate commit was rejected",
    DEPLOY: "a deploy of a device ended",
    ROLLBACK: "a rollback of a device ended",
    WEBHOOK: "a forge's push event for a repository arrived",
}
MAX_TEXT = 500
_SECRET_KEY = re.compile(r"secret|token|password|passphrase|signature|private|credential|^key$|_key$|hmac",
                         re.IGNORECASE)
_SCALARS = (str, int, float, bool, type(None))


def current_actor() -> str:
    """Who is acting: the request's authentication (auth.guard's g.auth), ``cli`` or ``controller``."""
    from flask import g, has_request_context
    if has_request_context() and getattr(g, "auth", None):
        return g.auth
    import click
    return "cli" if click.get_current_context(silent=True) is not None else "controller"


def _clean(detail: dict | None) -> dict:
    clean = {}
    for key, value in (detail or {}).items():
        if not isinstance(key, str) or _SECRET_KEY.search(key):
            raise ValueError(f"audit detail key {key!r} is not allowed (it would name a secret)")
        if not isinstance(value, _SCALARS):
            raise ValueError(f"audit detail {key!r} must be a string, number, boolean or None")
        clean[key] = value[:MAX_TEXT] if isinstance(value, str) else value
    return clean


def record(kind: str, subject: str, actor: str | None = None, detail: dict | None = None) -> AuditEvent:
    """Add one entry to the audit log. ``kind`` must be one of KINDS (a typo is a programming error)."""
    if kind not in KINDS:
        raise ValueError(f"unknown audit kind {kind!r}; known: {', '.join(KINDS)}")
    return AuditEvent.create(kind=kind, subject=subject, actor=actor or current_actor(), detail=_clean(detail))

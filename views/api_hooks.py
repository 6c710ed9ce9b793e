"""POST /api/hooks/repositories/<name>: a forge's push webhook starts a refresh (see repos/webhooks.py).

The one JSON endpoint without a session or token (auth/guard.py exempts exactly this endpoint, POST only, and
no CSRF token: a forge has none); the repository's webhook secret authenticates the delivery instead.
"""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request

import audit
from auth import json_error
from auth.throttle import webhook_throttle
from models import Repository
from repos import webhooks
from repos.updates import WEBHOOK, request_refresh
from views.rendering import settings

blueprint = Blueprint("api_hooks", __name__, url_prefix="/api/hooks")
log = logging.getLogger(__name__)

REFUSED = ("the webhook signature or token is missing or wrong (or this repository takes no webhooks: set its "
           "webhook secret)")


def _audit(name: str, delivery, outcome: str, job=None, reason: str | None = None) -> None:
    """One audit entry per delivery, refused ones too (for any name: the same work whether it exists or not);
    never the secret, the signature or the body."""
    audit.record(audit.WEBHOOK, name[:100], f"webhook:{delivery.forge or 'unknown'}",
                 {"forge": delivery.forge, "event": delivery.event[:100], "outcome": outcome,
                  "job_id": job.id if job else None, "reason": reason})


def _answer(status: int, delivery, outcome: str, reason: str | None = None, job=None):
    return jsonify({"outcome": outcome, "forge": delivery.forge, "event": delivery.event, "reason": reason,
                    "job_id": job.id if job else None, "job_url": f"/api/jobs/{job.id}" if job else None}), status


@blueprint.post("/repositories/<name>")
def repository_push(name: str):
    client = request.remote_addr or "unknown"
    wait = webhook_throttle.wait_seconds(client)
    if wait:  # guessing: no work, no audit entry (it would let anyone fill the log)
        return json_error(429, "too_many_requests", f"too many refused webhook deliveries from this address; "
                                                    f"try again in {wait} s")[0], 429, {"Retry-After": str(wait)}
    request.max_content_length = webhooks.MAX_BYTES
    body = request.get_data(cache=True)  # the raw bytes the forge signed (raises 413 beyond the limit)
    delivery = webhooks.identify(request.headers)
    repo = Repository.get_or_none(Repository.name == name)
    secret = webhooks.stored_secret(settings(), repo)
    if not webhooks.authentic(delivery, request.headers, body, secret):
        why = ("no such repository" if repo is None else "no webhook secret set" if secret is None
               else "no forge headers" if delivery.forge is None else "wrong or missing signature")
        log.warning("webhook for repository %r refused: %s (%s)", name, why, delivery.forge or "unknown forge")
        _audit(name, delivery, "refused", reason=why)
        webhook_throttle.failed(client)
        return json_error(401, "unauthenticated", REFUSED)
    if delivery.event == webhooks.PING:
        _audit(name, delivery, "pong")
        return _answer(200, delivery, "pong", "the webhook works; pushes will refresh the repository")
    if delivery.event != webhooks.PUSH:
        reason = f"only push events refresh a repository, not {delivery.event!r}"
        _audit(name, delivery, "ignored", reason=reason)
        return _answer(200, delivery, "ignored", reason)
    try:
        push = webhooks.read_push(delivery, body, request.mimetype)
    except webhooks.BadDelivery as exc:
        _audit(name, delivery, "bad request", reason=str(exc))
        return json_error(400, "bad_request", str(exc))
    reason = webhooks.ignored_because(push, repo.ref)
    if reason:
        log.info("webhook (%s push) for %s ignored: %s", delivery.forge, name, reason)
        _audit(name, delivery, "ignored", reason=reason)
        return _answer(200, delivery, "ignored", reason)
    outcome, job = request_refresh(repo, WEBHOOK.format(forge=delivery.forge, event=push.ref))
    _audit(name, delivery, outcome, job, reason=f"push to {push.ref}")
    log.info("webhook (%s push to %s) for %s: %s (job %s)", delivery.forge, push.ref, name, outcome,
             job.id if job else "-")
    if job is None:  # removed meanwhile: as if it never existed
        return json_error(401, "unauthenticated", REFUSED)
    reasons = {"already_queued": f"a fetch is queued already (job {job.id}); it fetches this push",
               "after_running": f"a fetch is running (job {job.id}); another starts once it ends"}
    return _answer(202, delivery, outcome, reasons.get(outcome), job)

"""Forge push webhooks (GitHub, GitLab, Gitea/Forgejo): which forge sent a delivery, is it authentic, what
was pushed, and does the repository follow it.

Authenticity, each against the repository's ``webhook_secret`` (repos/updates.py), compared in constant time:
- GitHub: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>``;
- GitLab: ``X-Gitlab-Token: <the secret>``;
- Gitea/Forgejo: ``X-Gitea-Signature`` (or ``X-Forgejo-Signature``): the hex HMAC-SHA256 of the raw body.

An unknown repository, one without a secret and a wrong or missing signature get the same answer after the
same work (the HMAC is computed, and a stored secret decrypted, with a stand-in secret), so a caller cannot
learn which repositories exist.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import urllib.parse
from dataclasses import dataclass

from repos import vault

GITHUB, GITLAB, GITEA = "github", "gitlab", "gitea"
PUSH, PING = "push", "ping"
MAX_BYTES = 1 << 20  # a push of many commits stays well below; bigger bodies get 413 before any work
COMMIT = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?\Z")


class BadDelivery(ValueError):
    """An authentic delivery whose body is not a push event this controller can read."""


@dataclass
class Delivery:
    forge: str | None  # None: no forge's headers at all
    event: str         # "push", "ping" or the forge's own event name


def identify(headers) -> Delivery:
    """The forge and event a delivery's headers name (GitLab first: Gitea also sends GitHub-style headers)."""
    if "X-Gitlab-Event" in headers or "X-Gitlab-Token" in headers:
        event = headers.get("X-Gitlab-Event", "")
        return Delivery(GITLAB, PUSH if event in ("Push Hook", "Tag Push Hook") else event)
    gitea = headers.get("X-Forgejo-Event") or headers.get("X-Gitea-Event")
    if gitea is not None or "X-Gitea-Signature" in headers or "X-Forgejo-Signature" in headers:
        return Delivery(GITEA, (gitea or "").lower())
    if "X-GitHub-Event" in headers or "X-Hub-Signature-256" in headers:
        return Delivery(GITHUB, headers.get("X-GitHub-Event", "").lower())
    return Delivery(None, "")


_stand_in: dict[str, str] = {}
_stand_in_lock = threading.Lock()


def _stand_in_token(settings) -> str:
    """A Fernet token of a random secret, decrypted when the repository has none (the same work as a real one)."""
    with _stand_in_lock:
        if "token" not in _stand_in:
            _stand_in["token"] = vault.encrypt(settings, secrets.token_urlsafe(32))
        return _stand_in["token"]


def stored_secret(settings, repo) -> bytes | None:
    """The repository's webhook secret; None for no repository, no secret or one that cannot be decrypted."""
    real = repo is not None and bool(repo.webhook_secret)
    try:
        secret = vault.decrypt(settings, repo.webhook_secret if real else _stand_in_token(settings)).encode()
    except vault.SecretUnavailable:
        if not real:  # the key was rotated since the stand-in was made: make a new one next time
            _stand_in.clear()
        return None
    return secret if real else None


def authentic(delivery: Delivery, headers, body: bytes, secret: bytes | None) -> bool:
    """Whether the delivery carries the right signature or token for ``secret`` (None: never)."""
    key = secret if secret is not None else secrets.token_bytes(32)
    if delivery.forge == GITLAB:
        sent = headers.get("X-Gitlab-Token", "").encode()
        return hmac.compare_digest(sent, key) and secret is not None
    expected = hmac.new(key, body, hashlib.sha256).hexdigest()
    if delivery.forge == GITHUB:
        sent = headers.get("X-Hub-Signature-256", "")
        sent = sent[len("sha256="):] if sent.startswith("sha256=") else ""
    elif delivery.forge == GITEA:
        sent = headers.get("X-Forgejo-Signature") or headers.get("X-Gitea-Signature") or ""
    else:
        sent = ""
    return hmac.compare_digest(sent.strip().lower().encode(), expected.encode()) and secret is not None


@dataclass
class Push:
    ref: str                    # "refs/heads/main", "refs/tags/v1"
    after: str | None           # the pushed commit (all zeros: the ref was deleted)
    default_branch: str | None  # the forge project's default branch, when the body names it


def read_push(delivery: Delivery, body: bytes, mimetype: str) -> Push:
    """The push in an authentic delivery's body (JSON, or GitHub's form-encoded ``payload=``)."""
    try:
        if mimetype == "application/x-www-form-urlencoded":
            body = urllib.parse.parse_qs(body.decode(), max_num_fields=10).get("payload", [""])[0].encode()
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadDelivery("the webhook body is not JSON (send application/json, or GitHub's form "
                          "payload)") from None
    ref = data.get("ref") if isinstance(data, dict) else None
    if not isinstance(ref, str) or not ref:
        raise BadDelivery("the push event names no ref")
    project = data.get("project" if delivery.forge == GITLAB else "repository")
    default = project.get("default_branch") if isinstance(project, dict) else None
    after = data.get("after")
    return Push(ref, after if isinstance(after, str) else None, default if isinstance(default, str) else None)


def ignored_because(push: Push, followed_ref: str | None) -> str | None:
    """Why a push does not concern a repository that follows ``followed_ref`` (None: it does)."""
    if push.after is not None and push.after.strip("0") == "":
        return f"the push deleted {push.ref}"
    if followed_ref is None:
        if push.default_branch and push.ref != f"refs/heads/{push.default_branch}":
            return f"the push was to {push.ref}; the repository follows the default branch {push.default_branch}"
        return None
    if COMMIT.match(followed_ref):
        return f"the repository is pinned to commit {followed_ref[:12]}"
    if push.ref in (followed_ref, f"refs/heads/{followed_ref}", f"refs/tags/{followed_ref}"):
        return None
    return f"the push was to {push.ref}; the repository follows {followed_ref}"

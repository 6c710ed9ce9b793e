"""Test connection: list a remote's refs with the chosen credentials and resolve the ref. Saves nothing.

A host key seen for the first time is reported (``host_key.status == "new"``) but not recorded: the
repository's first fetch records it.
"""
from __future__ import annotations

import re

from errors import FieldError, InputError
from models import Repository
from pipeline.fetch import RemoteRefs, ls_remote
from repos.access import DEPLOY_KEY, access_row, check_kind_fits, credentials_for_input
from repos.connect import REASONS, ConnectionFailed, connection
from repos.inputs import RepositoryInput
from repos.transport import FetchError
from repos.urls import RemoteSpec, parse_remote_url
from repos.vault import SecretUnavailable
from validation import Validation

FIELDS = ("url", "ref", "access")  # what a test may take from the request; other fields are ignored
_HEX40 = re.compile(r"[0-9a-f]{40}")


def _resolve(refs: RemoteRefs, ref: str | None) -> tuple[str, str]:
    if ref is None:
        name = refs.head if refs.head in refs else "HEAD"
        if name not in refs:
            raise ConnectionFailed("unknown_ref", "unknown ref",
                                   "the remote has no default branch (HEAD): it may be empty")
        return name, refs[name]
    if _HEX40.fullmatch(ref):
        return ref, ref
    names = [ref] if ref.startswith("refs/") else [f"refs/heads/{ref}", f"refs/tags/{ref}"]
    for name in names:
        if name in refs:
            return name, refs.get(name + "^{}", refs[name])
    raise ConnectionFailed("unknown_ref", "unknown ref", f"the remote has no branch or tag named {ref!r}")


def _host_key(session, spec: RemoteSpec) -> dict | None:
    if session is None or spec.scheme != "ssh":
        return None
    if session.known:
        keys = [{"key_type": k.key_type, "fingerprint": k.fingerprint} for k in session.known]
        return {"host": spec.host, "port": spec.port or 22, "status": "recorded", "keys": keys}
    keys = [{"key_type": k.key_type, "fingerprint": k.fingerprint} for k in session.learned]
    return {"host": spec.host, "port": spec.port or 22, "status": "new", "keys": keys} if keys else None


def check_connection(spec: RemoteSpec, ref: str | None, creds, settings) -> dict:
    """``{"ok": true, ref, commit, refs, host_key, message}`` or ``{"ok": false, code, reason, message}``."""
    session = None
    try:
        with connection(creds, spec, settings) as session:
            refs = ls_remote(spec, auth=session.auth, connect_timeout=settings.fetch_connect_timeout,
                             timeout=min(60.0, settings.fetch_transfer_timeout))
        resolved, commit = _resolve(refs, ref)
    except FetchError as exc:
        return {"ok": False, "url": spec.url, "code": exc.code,
                "reason": getattr(exc, "reason", REASONS.get(exc.code, "failed")), "message": exc.message,
                "host_key": _host_key(session, spec)}
    note = " (a commit id is not listed by servers: the fetch checks it)" if resolved == ref == commit else ""
    return {"ok": True, "url": spec.url, "ref": resolved, "commit": commit, "refs": len(refs),
            "host_key": _host_key(session, spec),
            "message": f"Connected: {resolved} is at {commit[:12]}{note}; the remote lists {len(refs)} refs."}


def _parse(data, settings) -> RepositoryInput:
    return RepositoryInput.parse(Validation.of(data).only(*FIELDS), allow_local=settings.allow_local_repositories,
                                 partial=True)


def check_repository(repo: Repository, data, settings) -> dict:
    """Test ``repo`` with its saved URL, ref and access, each overridden by what ``data`` holds."""
    values = _parse(data, settings)
    spec = values.spec or parse_remote_url(repo.url, allow_local=settings.allow_local_repositories)
    ref = values.effective_ref() if values.ref_given or values.spec is not None else repo.ref
    row = access_row(repo)
    check_kind_fits(values.access.kind if values.access else row.kind, spec)
    try:
        creds = credentials_for_input(row, values.access, settings,
                                      saved_for=parse_remote_url(repo.url, allow_local=True), target=spec)
    except SecretUnavailable as exc:
        return {"ok": False, "url": spec.url, "code": "auth_failed", "reason": "credential unavailable",
                "message": str(exc), "host_key": None}
    return check_connection(spec, ref, creds, settings)


def check_new(data, settings) -> dict:
    """Test a repository that is not saved yet (no deploy key exists for it)."""
    values = _parse(data, settings)
    if values.spec is None:
        raise InputError([FieldError("url", "a repository URL is required", "required")])
    if values.access is not None:
        check_kind_fits(values.access.kind, values.spec)
        if values.access.kind == DEPLOY_KEY:
            raise InputError([FieldError("access.kind", "a deploy key is generated for a saved repository: add the "
                                                        "repository first, then generate its key and test")])
    return check_connection(values.spec, values.effective_ref(), credentials_for_input(None, values.access, settings),
                            settings)

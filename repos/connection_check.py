"""Test connection: list a remote's refs with the chosen credentials and resolve the ref. Saves nothing.

A host key seen for the first time is reported (``host_key.status == "new"``) but not recorded: the
repository's first fetch records it.
"""
from __future__ import annotations

from errors import FieldError, InputError
from models import Repository
from pipeline.fetch import ls_remote
from repos import remote_refs
from repos.access import DEPLOY_KEY, access_row, check_kind_fits, credentials_for_input
from repos.connect import REASONS, connection
from repos.inputs import RepositoryInput
from repos.transport import FetchError
from repos.urls import RemoteSpec, parse_remote_url
from repos.vault import SecretUnavailable
from validation import Validation

FIELDS = ("url", "ref", "access")  # what a test may take from the request; other fields are ignored


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
                             timeout=min(60.0, settings.fetch_transfer_timeout), prefixes=remote_refs.prefixes_for(ref),
                             max_bytes=remote_refs.MAX_ANSWER_BYTES)
        resolved, commit = remote_refs.resolve(refs, ref)
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


def target_of(repo: Repository, data, settings):
    """(spec, ref, credentials callable) for testing ``repo`` with its saved URL, ref and access, each overridden
    by what ``data`` holds. The callable may raise SecretUnavailable."""
    values = _parse(data, settings)
    spec = values.spec or parse_remote_url(repo.url, allow_local=settings.allow_local_repositories)
    ref = values.effective_ref() if values.ref_given or values.spec is not None else repo.ref
    row = access_row(repo)
    check_kind_fits(values.access.kind if values.access else row.kind, spec)
    return spec, ref, lambda: credentials_for_input(row, values.access, settings,
                                                    saved_for=parse_remote_url(repo.url, allow_local=True),
                                                    target=spec)


def unavailable(spec: RemoteSpec, exc: SecretUnavailable) -> dict:
    return {"ok": False, "url": spec.url, "code": "auth_failed", "reason": "credential unavailable",
            "message": str(exc), "host_key": None}


def check_repository(repo: Repository, data, settings) -> dict:
    """Test ``repo`` with its saved URL, ref and access, each overridden by what ``data`` holds."""
    spec, ref, creds_for = target_of(repo, data, settings)
    try:
        creds = creds_for()
    except SecretUnavailable as exc:
        return unavailable(spec, exc)
    return check_connection(spec, ref, creds, settings)


def new_target(data, settings):
    """(spec, ref, credentials) of a repository that is not saved yet (no deploy key exists for it)."""
    values = _parse(data, settings)
    if values.spec is None:
        raise InputError([FieldError("url", "a repository URL is required", "required")])
    if values.access is not None:
        check_kind_fits(values.access.kind, values.spec)
        if values.access.kind == DEPLOY_KEY:
            raise InputError([FieldError("access.kind", "a deploy key is generated for a saved repository: add the "
                                                        "repository first, then generate its key and test")])
    return values.spec, values.effective_ref(), credentials_for_input(None, values.access, settings)


def check_new(data, settings) -> dict:
    """Test a repository that is not saved yet (no deploy key exists for it)."""
    return check_connection(*new_target(data, settings), settings)

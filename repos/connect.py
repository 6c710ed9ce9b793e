"""Connecting with a repository's credentials: the Auth of one fetch or ls-remote, and its failures explained.

For SSH the private key exists on disk only inside ``connection()``: a 0700 directory under
``<data>/tmp/`` holds the key (0600) and a known_hosts file generated from the KnownHost table, and is
removed when the block ends. HTTP tokens never touch the disk: they go to Dulwich's client directly.
Host keys follow repos/known_hosts.py (trust on first use, then strict).
"""
from __future__ import annotations

import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from models import KnownHost
from repos import known_hosts, ssh_keys
from repos.access import (
    DEPLOY_KEY,
    HOST_KEY,
    HTTPS_TOKEN,
    Credentials,
    access_row,
    credentials,
)
from repos.transport import Auth, FetchError
from repos.urls import RemoteSpec
from repos.vault import SecretUnavailable, ensure_key

REASONS = {"auth_failed": "authentication failed", "auth_required": "authentication required",
           "host_key": "host key changed", "not_found": "repository not found", "timeout": "timeout",
           "unreachable": "unreachable", "unknown_ref": "unknown ref", "protocol": "protocol error"}
STALE_WORKDIR = 3600  # seconds; a fetch's key directory older than this was left by a crashed process


class ConnectionFailed(FetchError):
    """A FetchError whose message starts with a short ``reason`` ("authentication failed: ...")."""

    def __init__(self, code: str, reason: str, detail: str) -> None:
        super().__init__(code, f"{reason}: {detail}")
        self.reason = reason


@dataclass
class Session:
    auth: Auth
    known: list[KnownHost] = field(default_factory=list)            # host keys on record before connecting
    learned: list[known_hosts.HostKey] = field(default_factory=list)  # keys ssh accepted on first use


def workdir_root(settings) -> Path:
    root = Path(settings.project_path) / "tmp"
    root.mkdir(mode=0o700, exist_ok=True)
    return root


def startup(settings) -> None:
    """At app start: the secrets key exists; key directories left by crashed processes are removed."""
    ensure_key(settings)
    cutoff = time.time() - max(STALE_WORKDIR, 2 * settings.fetch_transfer_timeout)
    for child in workdir_root(settings).iterdir():
        if child.name.startswith("ssh-") and child.stat().st_mtime < cutoff:
            shutil.rmtree(child, ignore_errors=True)


@contextmanager
def connection(creds: Credentials, spec: RemoteSpec, settings, *, record_for: str | None = None):
    """Yields a Session whose ``auth`` goes to fetch()/ls_remote(). ``record_for``: the repository name
    under which a host key seen for the first time is recorded (None: report it in ``learned`` only)."""
    if spec.scheme != "ssh":
        auth = Auth(username=creds.username, password=creds.token) if creds.kind == HTTPS_TOKEN else Auth()
        try:
            yield Session(auth)
        except FetchError as exc:
            raise explain(exc, creds, spec, settings, []) from None
        return
    workdir = Path(tempfile.mkdtemp(prefix="ssh-", dir=workdir_root(settings)))
    try:
        key = None
        if creds.kind == DEPLOY_KEY:
            if not creds.private_key:
                raise ConnectionFailed("auth_failed", "no deploy key", "generate this repository's deploy key first")
            key = ssh_keys.write_private_key(workdir / "deploy_key", creds.private_key)
        elif creds.kind == HOST_KEY:
            key = ssh_keys.host_key_path(settings, create=True)
        known = known_hosts.keys_for(spec.host, spec.port)
        file = known_hosts.write_file(workdir / "known_hosts", known)
        session = Session(Auth(ssh_key_path=key, known_hosts_path=file, accept_new_host_keys=not known), known)
        try:
            yield session
        except FetchError as exc:
            raise explain(exc, creds, spec, settings, known) from None
        finally:
            if not known:
                session.learned = known_hosts.read_learned(file)
                if record_for and session.learned:
                    known_hosts.record_first_use(spec.host, spec.port, session.learned, record_for, settings)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def repository_auth(repo, spec: RemoteSpec, settings):
    """The fetch job's hook: the Auth for fetching ``repo`` with its saved access."""
    try:
        creds = credentials(access_row(repo), settings)
    except SecretUnavailable as exc:
        raise ConnectionFailed("auth_failed", "credential unavailable", str(exc)) from None
    with connection(creds, spec, settings, record_for=repo.name) as session:
        yield session.auth


def _where(spec: RemoteSpec) -> str:
    return f"{spec.host}:{spec.port or 22}"


def _host_key_changed(spec: RemoteSpec, settings, known: list[KnownHost]) -> str:
    entry = known_hosts.host_entry(spec.host, spec.port)
    recorded = "; ".join(f"{k.key_type} {k.fingerprint}, recorded {k.recorded_at:%Y-%m-%d %H:%M} UTC on "
                         f"{k.source}" + (f" by {k.recorded_by}" if k.recorded_by else "") for k in known)
    types = {k.key_type for k in known}
    now = [k for k in known_hosts.scan(spec.host, spec.port, settings.fetch_connect_timeout) if k.key_type in types]
    presented = (" It now presents " + "; ".join(f"{k.key_type} {k.fingerprint}" for k in now) + ".") if now else ""
    return (f"{_where(spec)} presented a host key that differs from the one on record ({recorded}).{presented} "
            "The connection was refused: someone may be intercepting it, or the server's keys were replaced. "
            f"If you trust the change, reset {entry} under Known hosts and try again.")


def _auth_detail(exc: FetchError, creds: Credentials, spec: RemoteSpec, settings) -> str:
    if spec.scheme != "ssh":
        return exc.message
    if creds.kind == DEPLOY_KEY:
        return (f"{_where(spec)} did not accept this repository's deploy key "
                f"({ssh_keys.public_fingerprint(creds.public_key)}): add its public key to the repository as a "
                "read-only deploy key")
    if creds.kind == HOST_KEY:
        return (f"{_where(spec)} did not accept the controller's SSH key "
                f"({ssh_keys.host_key_path(settings)}): authorize its public key for the repository")
    return f"{_where(spec)} asks for an SSH key: choose the access 'SSH deploy key' or 'Host SSH key'"


def explain(exc: FetchError, creds: Credentials, spec: RemoteSpec, settings, known: list[KnownHost]) -> FetchError:
    """``exc`` with a message that starts with its reason and says what to do; never holds a secret."""
    if isinstance(exc, ConnectionFailed):
        return exc
    code = exc.code
    if code == "host_key" and known:
        return ConnectionFailed(code, "host key changed", _host_key_changed(spec, settings, known))
    if code == "host_key":
        return ConnectionFailed(code, "unknown host key", exc.message)
    if code in ("auth_failed", "auth_required"):
        return ConnectionFailed(code, REASONS["auth_failed" if spec.scheme == "ssh" else code],
                                _auth_detail(exc, creds, spec, settings))
    if code == "unreachable" and "resolve" in exc.message.lower():
        return ConnectionFailed(code, "unknown host", exc.message)
    return ConnectionFailed(code, REASONS.get(code, "failed"), exc.message)

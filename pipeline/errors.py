"""Map what a failed Dulwich fetch raised to a FetchError with a clear, secret-free message."""

from __future__ import annotations

import errno
import re
import socket

import urllib3.exceptions
from dulwich.client import HTTPUnauthorized
from dulwich.errors import GitProtocolError, HangupException, NotGitRepository

from errors import is_disk_full
from repos.transport import Auth, Clock, FetchError
from repos.urls import RemoteSpec

_STDERR_MESSAGES = [
    ("host_key", ("REMOTE HOST IDENTIFICATION HAS CHANGED", "Host key verification failed",
                  "host key is known", "host key for")),
    ("auth_failed", ("Permission denied", "Too many authentication failures", "no such identity")),
    ("unreachable", ("Could not resolve hostname", "Connection refused", "No route to host",
                     "Network is unreachable", "Connection closed by", "Connection reset")),
    ("timeout", ("Connection timed out", "Operation timed out")),
    ("not_found", ("does not appear to be a git repository", "not a git repository", "Repository not found",
                   "No such file or directory", "no such repository", "not exported", "not found")),
]


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _where(spec: RemoteSpec) -> str:
    if spec.scheme == "file":
        return spec.path
    return f"{spec.host}:{spec.port}" if spec.port else (spec.host or spec.url)


def _scrub(text: str, auth: Auth, spec: RemoteSpec) -> str:
    for secret in (auth.password, spec.password):
        if secret:
            text = text.replace(secret, "***")
    text = re.sub(r"//[^/@\s]*:[^/@\s]*@", "//", text)  # any user:password@ that slipped into a URL
    return text.strip()


def _auth_error(spec: RemoteSpec, auth: Auth, status: int | None = None) -> FetchError:
    given = bool(auth.username or auth.password or spec.username or spec.password)
    what = f" (HTTP {status})" if status else ""
    if given:
        return FetchError("auth_failed", f"{spec.url} rejected the credentials{what}: check the user name and token")
    return FetchError("auth_required", f"{spec.url} requires authentication{what} (or does not exist): "
                                       "add a user name and token")


def _stderr_error(lines: str, spec: RemoteSpec) -> FetchError | None:
    lowered = lines.lower()
    for code, needles in _STDERR_MESSAGES:
        for needle in needles:
            if needle.lower() in lowered:
                detail = next((line for line in lines.splitlines() if needle.lower() in line.lower()), needle)
                detail = detail.strip()
                if code == "host_key" and "CHANGED" in needle:
                    return FetchError(code, f"The SSH host key of {_where(spec)} has CHANGED (a possible "
                                            "man-in-the-middle): replace it in known_hosts only if the change "
                                            "is expected")
                if code == "host_key":
                    return FetchError(code, f"The SSH host key of {_where(spec)} is not known (or does not match): "
                                            f"add it to known_hosts ({detail})")
                if code == "auth_failed":
                    return FetchError(code, f"SSH authentication to {_where(spec)} failed: {detail}")
                return FetchError(code, f"{_where(spec)}: {detail}")
    return None


def _refused(ref: str | None) -> FetchError:
    return FetchError("unknown_ref", f"The server refused to send {ref or 'the requested object'}: it does not have "
                                     "that commit, or does not allow fetching a commit by id unless it is the tip "
                                     "of a branch or tag; name a branch or tag instead")


def classify(exc: BaseException, spec: RemoteSpec, auth: Auth, clock: Clock, ref: str | None,
             wanted_commit: bool = False) -> FetchError:
    """The FetchError that explains ``exc``; ``wanted_commit``: a commit id was asked for (after the ref listing)."""
    where = _where(spec)
    for e in _chain(exc):
        if isinstance(e, FetchError):
            return e
        if is_disk_full(e):  # not the remote's fault: the caller names the data folder's free space
            return FetchError("disk_full", "no space left on the data folder's disk")
        if isinstance(e, HTTPUnauthorized):
            return _auth_error(spec, auth, 401)
        if isinstance(e, NotGitRepository):
            return FetchError("not_found", f"No git repository at {spec.url} (HTTP 404)"
                              if spec.scheme in ("http", "https") else f"No git repository at {spec.url}")
        if isinstance(e, urllib3.exceptions.NameResolutionError) or isinstance(e, socket.gaierror):
            return FetchError("unreachable", f"Cannot resolve the host name {spec.host!r}")
        if isinstance(e, urllib3.exceptions.ConnectTimeoutError) and not isinstance(
                e, urllib3.exceptions.NewConnectionError):  # urllib3 derives "refused" from ConnectTimeoutError
            return FetchError("timeout", f"Could not connect to {where} within {clock.connect:g} s")
        if isinstance(e, (urllib3.exceptions.ReadTimeoutError, TimeoutError, socket.timeout)):
            return clock.timed_out()
        if isinstance(e, ConnectionRefusedError):
            return FetchError("unreachable", f"Connection refused by {where}: no server is listening there")
        if isinstance(e, urllib3.exceptions.SSLError):
            detail = _scrub(str(e.args[-1] if e.args else e), auth, spec)
            return FetchError("protocol", f"TLS error talking to {where}: {detail}")
        if isinstance(e, OSError) and e.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EHOSTDOWN):
            return FetchError("unreachable", f"{where} is unreachable: {e.strerror}")
        if isinstance(e, HangupException) and spec.scheme in ("ssh", "file", "git"):
            found = _stderr_error(_scrub(str(e), auth, spec), spec)
            if found:
                return found
    text = _scrub(str(exc), auth, spec)
    status = re.search(r"unexpected http resp (\d{3})", text)
    if status:
        code = int(status.group(1))
        if code in (401, 403):
            return _auth_error(spec, auth, code)
        if code in (404, 410):
            return FetchError("not_found", f"No git repository at {spec.url} (HTTP {code})")
        return FetchError("protocol", f"{spec.url} answered HTTP {code}")
    if re.search(r"not our ref|unadvertised object|want .* not valid|upload-pack: not", text):
        return _refused(ref)
    if wanted_commit and isinstance(exc, GitProtocolError) and spec.scheme in ("http", "https"):
        return _refused(ref)  # over HTTP the server's reason (stderr) is lost: it just hangs up
    if "dubious ownership" in text:
        return FetchError("protocol", f"git refuses to read {spec.path}: it belongs to another user "
                                      "(see git's safe.directory setting)")
    if spec.scheme in ("ssh", "file", "git"):
        found = _stderr_error(text, spec)
        if found:
            return found
    return FetchError("protocol", f"Fetching from {spec.url} failed: {text or type(exc).__name__}")

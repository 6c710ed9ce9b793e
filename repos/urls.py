"""Parse and normalize the repository URLs operators paste.

Accepted (``parse_remote_url``):

- ``https://host/path`` and ``http://host/path`` (the latter with a warning);
  ``user:token@`` inside them is moved out into ``username``/``password``
- ``ssh://[user@]host[:port]/path`` and scp-like ``[user@]host:path``
- ``git://host[:port]/path`` (with a warning)
- Nix flake references: ``github:owner/repo[/ref]``, ``gitlab:owner/repo[/ref]``
  (both also with ``?ref=…``/``?rev=…``), ``git+https://…?ref=…&rev=…``,
  ``git+http://``, ``git+ssh://`` and, when local repositories are allowed,
  ``git+file://``
- when ``allow_local``: absolute paths and ``file:///absolute/path``

``RemoteSpec.url`` is the normalized form to store and show: it never holds
credentials, and a ref or rev named inside the pasted URL is moved out into
``ref``/``rev`` (so ``github:o/r/dev`` gives ``url="github:o/r"``, ``ref="dev"``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

HTTP_WARNING = "http:// is unencrypted: the repository and any credentials travel in clear text"
GIT_WARNING = "git:// is unencrypted and unauthenticated: anyone on the network path can change what is fetched"
LOCAL_DISABLED = (
    "Local repositories are disabled; set THYMIS_ALLOW_LOCAL_REPOSITORIES=1 to allow "
    "absolute paths and file:// URLs"
)
EXAMPLES = "https://host/owner/repo.git, ssh://git@host/owner/repo.git, git@host:owner/repo.git or github:owner/repo"

_HEX40 = re.compile(r"[0-9a-fA-F]{40}")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
_OWNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_DEFAULT_PORTS = {"https": 443, "http": 80, "ssh": 22, "git": 9418}
_KNOWN_SCHEMES = {"https", "http", "ssh", "git", "file", "git+https", "git+http", "git+ssh", "git+file"}
_UNSUPPORTED_FLAKES = {"sourcehut", "path", "tarball", "hg", "flake", "file+https", "tarball+https"}


class UrlError(ValueError):
    """An unusable repository URL; ``str(e)`` is a message for the user."""


@dataclass(frozen=True)
class RemoteSpec:
    url: str  # normalized, for storing and display: no credentials, no ref/rev
    fetch_url: str  # what the fetch layer connects to (no credentials)
    ref: str | None  # ref named inside the URL, else None
    rev: str | None  # full commit id named inside the URL (?rev=, github:o/r/<sha>), else None
    scheme: str  # "https" | "http" | "ssh" | "git" | "file"
    warning: str | None = None
    username: str | None = None  # HTTP credentials found in the URL, moved out of url/fetch_url
    password: str | None = field(default=None, repr=False)
    host: str | None = None  # lower-case host name or IP (None for file)
    port: int | None = None  # explicit non-default port, else None
    path: str = ""  # path on the server (scp-like: as given, relative to the login's home); file: the local path
    ssh_user: str | None = None  # the SSH login (kept in url: not a secret)


def validate_ref(ref: str) -> str:
    """Check a branch or tag name (git check-ref-format rules) or a full commit id.

    Returns the ref (a commit id lower-cased). Raises ValueError with a clear message.
    """
    if not isinstance(ref, str) or not ref:
        raise ValueError("The ref is empty: give a branch, a tag or a full 40-character commit id")
    if _HEX40.fullmatch(ref):
        return ref.lower()
    shown = repr(ref)
    bad = sorted({c for c in ref if ord(c) < 32 or ord(c) == 127 or c.isspace()})
    if bad:
        raise ValueError(f"The ref {shown} contains spaces or control characters")
    for c in "~^:?*[\\":
        if c in ref:
            raise ValueError(f"The ref {shown} contains {c!r}, which git does not allow in branch or tag names")
    if len(ref) > 255:
        raise ValueError("The ref is longer than 255 characters")
    if ref == "HEAD":
        raise ValueError("Leave the ref empty to follow the remote's default branch (HEAD)")
    if ref.startswith("-"):
        raise ValueError(f"The ref {shown} must not start with '-'")
    if ref == "@" or "@{" in ref:
        raise ValueError(f"The ref {shown} must not be '@' or contain '@{{'")
    if ref.startswith("/") or ref.endswith("/") or "//" in ref:
        raise ValueError(f"The ref {shown} must not start or end with '/' or contain '//'")
    if ".." in ref:
        raise ValueError(f"The ref {shown} must not contain '..'")
    if ref.endswith("."):
        raise ValueError(f"The ref {shown} must not end with '.'")
    for part in ref.split("/"):
        if part.startswith("."):
            raise ValueError(f"The ref {shown} has a part starting with '.'")
        if part.endswith(".lock"):
            raise ValueError(f"The ref {shown} has a part ending with '.lock'")
    return ref


def _validate_rev(rev: str) -> str:
    if not _HEX40.fullmatch(rev):
        raise UrlError(f"rev={rev!r} is not a full 40-character commit id")
    return rev.lower()


def _url_ref(value: str, where: str) -> str:
    try:
        return validate_ref(value)
    except ValueError as e:
        message = str(e)
        raise UrlError(f"{where}: {message[0].lower()}{message[1:]}") from None


def _check_host(host: str | None, raw: str) -> str:
    if not host:
        raise UrlError(f"The URL {raw!r} has no host name")
    if host.startswith("-"):
        raise UrlError(f"The host name {host!r} must not start with '-'")
    if ":" in host:  # IPv6, urlsplit removed the brackets
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise UrlError(f"{host!r} is not a valid IPv6 address") from None
        return host.lower()
    if not _HOSTNAME.fullmatch(host):
        raise UrlError(f"{host!r} is not a valid host name")
    return host.lower().rstrip(".")


def _netloc(host: str, port: int | None, user: str | None = None) -> str:
    text = f"[{host}]" if ":" in host else host
    if port is not None:
        text += f":{port}"
    return f"{user}@{text}" if user else text


def _query(query: str, allowed: tuple[str, ...], raw: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in allowed:
            raise UrlError(f"Unsupported parameter {key!r} in {raw!r} (supported: {', '.join(allowed)})")
        if key in params:
            raise UrlError(f"Parameter {key!r} is given twice in {raw!r}")
        params[key] = value
    return params


def _ref_rev(params: dict[str, str]) -> tuple[str | None, str | None]:
    ref = _url_ref(params["ref"], "ref= in the URL") if "ref" in params else None
    rev = _validate_rev(params["rev"]) if "rev" in params else None
    return ref, rev


def _check_text(text: object) -> str:
    if not isinstance(text, str):
        raise UrlError("The URL must be text")
    s = text.strip()
    if not s:
        raise UrlError(f"Enter the repository's URL, e.g. {EXAMPLES}")
    for c in s:
        if ord(c) < 32 or ord(c) == 127:
            raise UrlError(f"The URL contains a control character ({ord(c):#04x})")
        if c.isspace():
            if ":" not in s and "/" not in s:  # words, not a URL with a stray space
                raise UrlError(f"{s!r} is not a repository URL; use e.g. {EXAMPLES}")
            raise UrlError("The URL contains whitespace; remove it or percent-encode it as %20")
    if s.startswith("-"):
        raise UrlError("The URL must not start with '-'")
    if len(s) > 2048:
        raise UrlError("The URL is longer than 2048 characters")
    return s


def parse_remote_url(text: str, *, allow_local: bool = False) -> RemoteSpec:
    """Parse a pasted repository URL into a RemoteSpec, or raise UrlError saying what is wrong."""
    s = _check_text(text)
    helper = re.match(r"([A-Za-z0-9][A-Za-z0-9+.-]*)::", s)
    if helper:
        raise UrlError(f"Git remote helpers ({helper.group(1)}::) are not allowed")
    if s.startswith("/"):
        return _local(s, s, None, None, allow_local)
    scheme_match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", s)
    scheme = scheme_match.group(1).lower() if scheme_match else ""
    if scheme_match and s[scheme_match.end():].startswith("//"):
        return _standard(s, scheme, allow_local)
    if scheme in ("github", "gitlab"):
        return _forge(s, scheme)
    if scheme in _UNSUPPORTED_FLAKES:
        raise UrlError(f"Flake references of type {scheme}: are not supported; use a git URL or github:/gitlab:")
    if scheme in _KNOWN_SCHEMES:
        raise UrlError(f"Malformed URL {s!r}: expected {scheme}://host/path")
    colon, slash = s.find(":"), s.find("/")
    if colon > 0 and (slash == -1 or colon < slash or s.startswith("[")):
        return _scp(s)
    if allow_local:
        raise UrlError(f"Relative paths are not allowed: give an absolute path (starting with '/') instead of {s!r}")
    raise UrlError(f"{s!r} is not a repository URL; expected e.g. {EXAMPLES}")


def _standard(s: str, scheme: str, allow_local: bool) -> RemoteSpec:
    flake = scheme.startswith("git+")
    base = scheme[4:] if flake else scheme
    if base not in ("https", "http", "ssh", "git", "file") or scheme == "git+git":
        raise UrlError(f"Unsupported URL scheme {scheme}://; use https://, ssh:// or git@host:path (e.g. {EXAMPLES})")
    try:
        parts = urlsplit(s)
    except ValueError as e:  # e.g. a bad [IPv6] host
        raise UrlError(f"The URL {s!r} is malformed: {e}") from None
    if parts.fragment or s.endswith("#"):
        raise UrlError(f"The URL {s!r} must not contain a '#' fragment")
    if flake:
        ref, rev = _ref_rev(_query(parts.query, ("ref", "rev"), s))
    elif parts.query or s.endswith("?"):
        raise UrlError(
            f"A {base}:// URL cannot carry a '?' query; to name a ref use the ref field or git+{base}://…?ref=…"
        )
    else:
        ref = rev = None
    if base == "file":
        if parts.netloc:
            raise UrlError("A file:// URL must not name a host: use file:///absolute/path")
        return _local(unquote(parts.path), None, ref, rev, allow_local)
    try:
        port = parts.port
    except ValueError:
        raise UrlError(f"The URL {s!r} has an invalid port") from None
    host = _check_host(parts.hostname, s)
    if port is not None and not 0 < port < 65536:
        raise UrlError(f"The URL {s!r} has an invalid port")
    if port == _DEFAULT_PORTS[base]:
        port = None
    path = parts.path
    if path.rstrip("/") == "":
        raise UrlError(f"The URL {s!r} has no repository path after the host")
    if base != "ssh":
        path = path.rstrip("/")
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    if base in ("https", "http"):
        url = f"{base}://{_netloc(host, port)}{path}"
        return RemoteSpec(
            url=url, fetch_url=url, ref=ref, rev=rev, scheme=base,
            warning=HTTP_WARNING if base == "http" else None,
            username=user or None, password=password, host=host, port=port, path=path,
        )
    if password is not None:
        raise UrlError("An ssh:// URL must not contain a password; use an SSH key" if base == "ssh"
                       else "A git:// URL cannot carry credentials")
    if base == "git":
        if user is not None:
            raise UrlError("A git:// URL cannot carry credentials")
        url = f"git://{_netloc(host, port)}{path}"
        return RemoteSpec(url=url, fetch_url=url, ref=ref, rev=rev, scheme="git", warning=GIT_WARNING,
                          host=host, port=port, path=path)
    if user is not None and not re.fullmatch(r"[A-Za-z0-9._][A-Za-z0-9._-]*", user):
        raise UrlError(f"The SSH user name {user!r} is not valid")
    url = f"ssh://{_netloc(host, port, user)}{path}"
    return RemoteSpec(url=url, fetch_url=url, ref=ref, rev=rev, scheme="ssh", host=host, port=port,
                      path=path, ssh_user=user)


def _scp(s: str) -> RemoteSpec:
    m = re.fullmatch(r"(?:([^@/:\[\]]+)@)?(\[[^\]/]+\]|[^@/:\[\]]+):(.*)", s)
    if m is None:
        raise UrlError(f"{s!r} is not a repository URL; expected e.g. {EXAMPLES}")
    user, host, path = m.groups()
    if user is not None and not re.fullmatch(r"[A-Za-z0-9._][A-Za-z0-9._-]*", user):
        raise UrlError(f"The SSH user name {user!r} is not valid")
    host = _check_host(host.strip("[]"), s)
    if user is None and not _looks_like_a_host(host, path):
        # "javascript:alert(1)" or "data:text/html,..." would otherwise be an SSH host "javascript"
        raise UrlError(f"{s!r} is not a repository URL: {host + ':'!r} is not an SSH host (a host without a "
                       f"user, a dot or an address takes a plain path only); expected e.g. {EXAMPLES}")
    if not path.strip("/"):
        raise UrlError(f"The URL {s!r} has no repository path after '{m.group(2)}:'")
    if path.startswith("-"):
        raise UrlError("The repository path must not start with '-'")
    url = f"{_netloc(host, None, user)}:{path}"
    return RemoteSpec(url=url, fetch_url=url, ref=None, rev=None, scheme="ssh", host=host, path=path,
                      ssh_user=user)


_URI_SCHEMES = {"javascript", "vbscript", "data", "mailto", "about", "blob", "tel", "sms", "view-source",
                "livescript", "jar", "chrome", "intent"}
_PLAIN_PATH = re.compile(r"[A-Za-z0-9._~/+@-]+")


def _looks_like_a_host(host: str, path: str) -> bool:
    """Whether ``host:path`` (no user) reads as an SSH address: a dotted name, an IP, localhost, or a
    single-label name (an ssh_config alias) that is no URI scheme and is followed by a plain path."""
    if host == "localhost" or "." in host:
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    return host not in _URI_SCHEMES and _PLAIN_PATH.fullmatch(path) is not None


def _forge(s: str, kind: str) -> RemoteSpec:
    body, _, query = s[len(kind) + 1:].partition("?")
    params = _query(query, ("ref", "rev"), s) if query or s.endswith("?") else {}
    segments = body.split("/")
    if len(segments) < 2 or not segments[0] or not segments[1]:
        raise UrlError(f"{s!r} must look like {kind}:owner/repo or {kind}:owner/repo/ref")
    owner, repo, rest = unquote(segments[0]), segments[1], "/".join(segments[2:])
    repo = repo.removesuffix(".git")
    owner_parts = owner.split("/") if kind == "gitlab" else [owner]  # gitlab:group%2Fsub/repo
    for name in (*owner_parts, repo):
        if not _OWNER.fullmatch(name) or name.endswith("."):
            raise UrlError(f"{name!r} is not a valid {kind} owner or repository name in {s!r}")
    ref, rev = _ref_rev(params)
    if rest:
        piece = unquote(rest)
        if _HEX40.fullmatch(piece):
            if rev is not None:
                raise UrlError(f"{s!r} names a commit twice (in the path and as rev=)")
            rev = piece.lower()
        else:
            if ref is not None:
                raise UrlError(f"{s!r} names a ref twice (in the path and as ref=)")
            ref = _url_ref(piece, f"In {s!r}")
    host = "github.com" if kind == "github" else "gitlab.com"
    path = f"/{owner}/{repo}.git"
    return RemoteSpec(url=f"{kind}:{segments[0]}/{repo}", fetch_url=f"https://{host}{path}", ref=ref, rev=rev,
                      scheme="https", host=host, path=path)


def _local(path: str, shown: str | None, ref: str | None, rev: str | None, allow_local: bool) -> RemoteSpec:
    if not allow_local:
        raise UrlError(LOCAL_DISABLED)
    if not path.startswith("/"):
        raise UrlError("A file:// URL needs an absolute path: file:///absolute/path")
    if "\0" in path:
        raise UrlError("The path contains a NUL character")
    if path.rstrip("/") == "":
        raise UrlError("'/' is not a repository path")
    path = path.rstrip("/")
    return RemoteSpec(url=shown.rstrip("/") if shown else f"file://{path}", fetch_url=path, ref=ref, rev=rev,
                      scheme="file", path=path)

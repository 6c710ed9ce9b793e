"""How the controller gets into a repository: the access kind, its write-only secrets, the deploy key.

Kinds:

- ``none``: no credentials (public repositories; for SSH URLs ssh's own defaults of the service user).
- ``https-token``: HTTP basic authentication with an optional user name and a token or password.
- ``ssh-deploy-key``: an ed25519 key pair generated for this repository; the operator adds the public key
  as a read-only deploy key on the forge. The key pair is kept when the kind changes, until regenerated.
- ``host-ssh-key``: the controller host's key, ``THYMIS_SSH_KEY`` or ``<data>/ssh/id_ed25519``.

Secrets (token, private key) are stored encrypted (repos/vault.py) and never returned by any interface.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from errors import FieldError, InputError
from models import AccessKind, Repository, RepositoryAccess, utcnow
from repos import known_hosts, ssh_keys, vault
from repos.urls import RemoteSpec, parse_remote_url
from validation import Validation

NONE, HTTPS_TOKEN, DEPLOY_KEY, HOST_KEY = (AccessKind.NONE, AccessKind.HTTPS_TOKEN, AccessKind.DEPLOY_KEY,
                                          AccessKind.HOST_KEY)
KINDS = tuple(AccessKind)
LABELS = {NONE: "None (public)", HTTPS_TOKEN: "HTTPS token", DEPLOY_KEY: "SSH deploy key", HOST_KEY: "Host SSH key"}
SSH_KINDS = (DEPLOY_KEY, HOST_KEY)
MAX_USERNAME, MAX_TOKEN = 200, 8192


@dataclass
class AccessInput:
    """Validated access fields of one request; ``token`` None means "keep the saved token"."""
    kind: str
    username: str | None = None
    token: str | None = field(default=None, repr=False)


@dataclass
class Credentials:
    """Decrypted credentials for one connection, in memory only."""
    kind: str = NONE
    username: str | None = None
    token: str | None = field(default=None, repr=False)
    private_key: str | None = field(default=None, repr=False)  # deploy key (OpenSSH format)
    public_key: str | None = None


def _clean_text(a: Validation, name: str, limit: int) -> str | None:
    value = a.text(name, max_len=limit, too_long=f"the {name} is longer than {limit} characters",
                   control=f"the {name} contains control characters")
    if value is not None and name == "username" and ":" in value:
        a.error("username", "the user name must not contain ':'")
        return None
    return value or None


def parse_access(v: Validation, spec: RemoteSpec | None) -> AccessInput | None:
    """The access of a body (``access: {kind, username?, token?}``; a form's access_kind, access_username,
    access_token), merged with credentials in the URL. None: keep the saved access."""
    a = v.nested("access", message="access must be an object: {kind, username?, token?}")
    access = None
    if a is not None:
        a.unknown(("kind", "username", "token"), lambda key: f"unknown access field '{key}'")
        kind = a.choice("kind", KINDS, message=f"access.kind must be one of: {', '.join(KINDS)}", required=True)
        if kind is None:
            return None
        a.panel(kind == HTTPS_TOKEN, "username", "token")
        username = _clean_text(a, "username", MAX_USERNAME)
        token = _clean_text(a, "token", MAX_TOKEN)
        if kind != HTTPS_TOKEN and (username or token):
            a.error("kind", f"a user name or token only goes with access kind {HTTPS_TOKEN}")
        access = AccessInput(kind, username, token)
    if spec is not None and spec.password:
        if access is None or (access.kind == NONE and not access.username):  # the URL's credentials win over none
            return AccessInput(HTTPS_TOKEN, spec.username, spec.password)
        if access.kind != HTTPS_TOKEN:
            v.error("url", f"the URL contains a password but access is {access.kind}: "
                           "remove the credentials from the URL")
        elif access.token is None:
            access.token, access.username = spec.password, access.username or spec.username
    return access


def check_kind_fits(kind: str, spec: RemoteSpec) -> None:
    if kind == HTTPS_TOKEN and spec.scheme not in ("http", "https"):
        raise InputError([FieldError("access.kind", "an HTTPS token needs an https:// URL (or github:/gitlab:); "
                                                    f"{spec.url} is fetched over {spec.scheme}")])
    if kind in SSH_KINDS and spec.scheme != "ssh":
        raise InputError([FieldError("access.kind", "an SSH key needs an SSH URL (ssh://user@host/path or "
                                                    f"user@host:path); {spec.url} is fetched over {spec.scheme}")])


def access_row(repo: Repository) -> RepositoryAccess:
    """The saved access of a repository (an unsaved ``none`` row when it has none)."""
    row = RepositoryAccess.get_or_none(RepositoryAccess.repository == repo.id)
    return row if row is not None else RepositoryAccess(repository=repo.id, kind=NONE)


def _save(row: RepositoryAccess) -> None:
    row.updated_at = utcnow()
    if not row.save():  # the primary key is the repository: a row not yet stored updates nothing
        row.save(force_insert=True)


def _new_deploy_key(row: RepositoryAccess, repo: Repository, settings) -> None:
    pair = ssh_keys.generate_ed25519(f"thymis-controller:{repo.name}")
    row.deploy_private_key = vault.encrypt(settings, pair.private_pem)
    row.deploy_public_key = pair.public_line


def same_origin(a: RemoteSpec, b: RemoteSpec) -> bool:
    """A saved token was entered for one scheme, host and port; it is sent nowhere else."""
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


def save_access(repo: Repository, access: AccessInput | None, spec: RemoteSpec, settings,
                previous: RemoteSpec | None = None) -> bool:
    """Store ``access`` for ``repo`` (call inside the transaction that saves the repository).

    ``spec`` is the repository's URL as it will be saved: the kind must fit it; ``previous`` the URL it had.
    A saved token is kept only while the URL stays on the same origin: pointing the repository elsewhere needs
    the token entered again. Returns True when the way of connecting changed (fetch again). Raises InputError.
    """
    row = access_row(repo)
    moved = previous is not None and not same_origin(previous, spec)
    if row.kind == HTTPS_TOKEN and row.token and moved and (access is None or access.token is None):
        raise InputError([FieldError("access.token", f"the URL now points to {spec.host or spec.url}: enter the token "
                                                     "for it again (a saved token is only sent where it was entered)",
                                     "required")])
    if access is None:
        check_kind_fits(row.kind, spec)
        return False
    check_kind_fits(access.kind, spec)
    before = (row.kind, row.username, row.token, row.deploy_public_key)
    if access.kind == HTTPS_TOKEN:
        if access.token is None and not (row.kind == HTTPS_TOKEN and row.token):
            raise InputError([FieldError("access.token", "enter the token or password for HTTPS access", "required")])
        if access.token is not None:
            row.token = vault.encrypt(settings, access.token)
        row.username = access.username
    else:
        row.token = row.username = None
    if access.kind == DEPLOY_KEY and not row.deploy_private_key:
        _new_deploy_key(row, repo, settings)
    if access.kind == HOST_KEY:
        ssh_keys.host_key_path(settings, create=True)
    row.kind = access.kind
    _save(row)
    return (row.kind, row.username, row.token, row.deploy_public_key) != before


def regenerate_deploy_key(repo: Repository, settings) -> RepositoryAccess:
    """A new deploy key pair for ``repo`` (the old one stops working); the access kind is not changed."""
    row = access_row(repo)
    _new_deploy_key(row, repo, settings)
    _save(row)
    return row


def credentials(row: RepositoryAccess, settings, kind: str | None = None) -> Credentials:
    """Decrypt what ``kind`` (default: the saved kind) needs. Raises vault.SecretUnavailable."""
    kind = kind or row.kind
    creds = Credentials(kind=kind)
    if kind == HTTPS_TOKEN and row.kind == HTTPS_TOKEN:
        creds.username = row.username
        creds.token = vault.decrypt(settings, row.token) if row.token else None
    if kind == DEPLOY_KEY and row.deploy_private_key:
        creds.private_key = vault.decrypt(settings, row.deploy_private_key)
        creds.public_key = row.deploy_public_key
    return creds


def credentials_for_input(row: RepositoryAccess | None, access: AccessInput | None, settings,
                          saved_for: RemoteSpec | None = None, target: RemoteSpec | None = None) -> Credentials:
    """Credentials from request input, falling back on the saved ones (for a connection test). The saved ones
    are used only when the tested URL (`target`) is on the origin they were saved for (`saved_for`)."""
    saved = row if row is not None else RepositoryAccess(kind=NONE)
    if saved_for is not None and target is not None and not same_origin(saved_for, target):
        saved = RepositoryAccess(kind=NONE)
    if access is None:
        return credentials(saved, settings)
    creds = credentials(saved, settings, access.kind)
    if access.kind == HTTPS_TOKEN:
        creds.username = access.username
        if access.token is not None:
            creds.token = access.token
    return creds


def host_key_json(settings, *, create: bool = False) -> dict:
    """The controller host's SSH key: path, public key (None while the default key is not created yet)."""
    path = ssh_keys.host_key_path(settings, create=create)
    public = ssh_keys.public_key_of(path)
    return {"path": str(path), "public_key": public,
            "fingerprint": ssh_keys.public_fingerprint(public) if public else None}


def access_json(repo: Repository, row: RepositoryAccess | None = None, host_keys: list | None = None) -> dict:
    """What the API says about access: kind, user name, the deploy key's public half, the host's recorded
    keys. Never a secret. (The host SSH key's public half: ``host_key_json``.) A list passes the row and the
    host keys it loaded for all repositories at once (repos/listing.py)."""
    row = access_row(repo) if row is None else row
    body: dict = {"kind": row.kind}
    if row.kind == HTTPS_TOKEN:
        body["username"] = row.username
    if row.kind == DEPLOY_KEY and row.deploy_public_key:
        body["public_key"] = row.deploy_public_key
        body["fingerprint"] = ssh_keys.public_fingerprint(row.deploy_public_key)
    spec = parse_remote_url(repo.url, allow_local=True)
    if spec.scheme == "ssh":
        keys = known_hosts.keys_for(spec.host, spec.port) if host_keys is None else host_keys
        body["host_keys"] = [known_hosts.known_host_json(k) for k in keys]
    return body


_URL_PASSWORD = re.compile(r"(//[^/@:\s'\"]*):[^/@\s'\"]*@")


def redact_url(text: str) -> str:
    """``text`` with the password of any ``scheme://user:password@`` removed (the user name stays)."""
    return _URL_PASSWORD.sub(r"\1@", text)

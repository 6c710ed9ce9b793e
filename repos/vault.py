"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) with one key file in the data folder.

The key lives in ``<data>/secret.fernet`` (mode 0600), created on first start. During a key rotation
(``flask --app app secrets rotate-key``, secret_store/rotate.py) the file holds the new key first and the old
ones after it (MultiFernet): the new one encrypts, all decrypt, until every value is re-encrypted.
The database holds only Fernet tokens, so a copy of the database alone reveals no token or private key.
Losing the key file makes the stored secrets unreadable: the operator enters them again (a clear error says so).
"""
from __future__ import annotations

import base64
import os
from pathlib import Path

from settings import read_or_create_secret

KEY_FILE = "secret.fernet"


class SecretUnavailable(Exception):
    """A stored secret cannot be decrypted (the key file changed or the value is damaged)."""


def key_path(settings) -> Path:
    return Path(settings.project_path) / KEY_FILE


def ensure_key(settings) -> Path:
    """Create the key file (0600) unless it exists; several workers starting at once agree on one key."""
    path = key_path(settings)
    # A Fernet key: 32 random bytes, URL-safe base64 (cryptography is imported only when a secret is used).
    read_or_create_secret(path, make=_new_key)
    return path


def _new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def _keys(settings) -> list[bytes]:
    """The key file's keys, one a line: the first encrypts, every one decrypts (during a rotation)."""
    return [line.strip() for line in ensure_key(settings).read_bytes().splitlines() if line.strip()]


def _fernet(settings):
    from cryptography.fernet import Fernet, MultiFernet
    return MultiFernet([Fernet(key) for key in _keys(settings)])


def _write_keys(settings, keys: list[bytes]) -> None:
    """Replace the key file atomically (a private temporary file renamed into place)."""
    path = key_path(settings)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.rotate")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(b"".join(key + b"\n" for key in keys))
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)


def add_primary_key(settings) -> None:
    """Start a rotation: a new key encrypts from now on; the old ones still decrypt."""
    _write_keys(settings, [_new_key().encode("ascii"), *_keys(settings)])


def reencrypt(settings, token: str) -> str:
    """``token`` encrypted under the primary key (raises SecretUnavailable when no key decrypts it)."""
    from cryptography.fernet import InvalidToken
    try:
        return _fernet(settings).rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, ValueError):
        raise SecretUnavailable(f"a stored value cannot be decrypted with any key in {key_path(settings).name}") \
            from None


def drop_old_keys(settings) -> None:
    """End a rotation once every stored value is encrypted under the primary key."""
    _write_keys(settings, _keys(settings)[:1])


def encrypt(settings, secret: str) -> str:
    return encrypt_bytes(settings, secret.encode())


def encrypt_bytes(settings, secret: bytes) -> str:
    return _fernet(settings).encrypt(secret).decode("ascii")


def decrypt(settings, token: str) -> str:
    return decrypt_bytes(settings, token).decode()


def decrypt_bytes(settings, token: str) -> bytes:
    from cryptography.fernet import InvalidToken
    try:
        return _fernet(settings).decrypt(token.encode("ascii"))
    except (InvalidToken, ValueError):
        raise SecretUnavailable(
            f"a stored credential cannot be decrypted with {key_path(settings).name} (was the key file replaced?); "
            "enter the credential again") from None

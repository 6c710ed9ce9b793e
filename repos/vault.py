"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) with one key file in the data folder.

The key lives in ``<data>/secret.fernet`` (mode 0600), created on first start. The database holds only
Fernet tokens, so a copy of the database alone reveals no token or private key. Losing the key file makes
the stored secrets unreadable: the operator enters them again (a clear error says so).
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
    read_or_create_secret(path, make=lambda: base64.urlsafe_b64encode(os.urandom(32)).decode("ascii"))
    return path


def _fernet(settings):
    from cryptography.fernet import Fernet
    return Fernet(ensure_key(settings).read_bytes().strip())


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

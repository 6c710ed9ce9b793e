"""SSH key pairs: per-repository ed25519 deploy keys, the controller host's key, fingerprints, 0600 key files."""
from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HOST_KEY = Path("ssh") / "id_ed25519"  # inside the data folder, when THYMIS_SSH_KEY is unset


@dataclass(frozen=True)
class KeyPair:
    private_pem: str = field(repr=False)  # OpenSSH private key format, unencrypted
    public_line: str                      # "ssh-ed25519 AAAA... comment"


def generate_ed25519(comment: str) -> KeyPair:
    # cryptography (8 MB resident) is imported only when a key is made or read, not by every worker at start.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode("ascii")
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return KeyPair(private, f"{public.decode('ascii')} {comment}".strip())


def fingerprint(key_b64: str) -> str:
    """OpenSSH's SHA256 fingerprint of a public key blob given in base64 (as in authorized_keys/known_hosts)."""
    digest = hashlib.sha256(base64.b64decode(key_b64)).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def public_fingerprint(public_line: str) -> str:
    return fingerprint(public_line.split()[1])


def write_private_key(path: Path, private_pem: str) -> Path:
    """Write a private key readable by its owner only; the file must not exist yet."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(private_pem if private_pem.endswith("\n") else private_pem + "\n")
    return path


def host_key_path(settings, *, create: bool = False) -> Path:
    """THYMIS_SSH_KEY, or ``<data>/ssh/id_ed25519`` (created with its .pub when ``create`` and missing)."""
    if settings.ssh_key is not None:
        return Path(settings.ssh_key)
    path = Path(settings.project_path) / DEFAULT_HOST_KEY
    if create and not path.exists():
        path.parent.mkdir(mode=0o700, exist_ok=True)
        pair = generate_ed25519("thymis-controller")
        try:
            write_private_key(path, pair.private_pem)
        except FileExistsError:  # another worker created it first
            return path
        path.with_name(path.name + ".pub").write_text(pair.public_line + "\n")
    return path


def public_key_of(private_path: Path) -> str | None:
    """The OpenSSH public key line of a private key file: its ``.pub`` file, else derived; None if unreadable."""
    pub = private_path.with_name(private_path.name + ".pub")
    try:
        if pub.is_file():
            return pub.read_text().strip() or None
        from cryptography.hazmat.primitives import serialization
        key = serialization.load_ssh_private_key(private_path.read_bytes(), password=None)
        return key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                             serialization.PublicFormat.OpenSSH).decode("ascii")
    except (OSError, ValueError, TypeError):  # missing, unreadable, passphrase-protected or unsupported
        return None

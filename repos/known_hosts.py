"""SSH host keys the controller trusts: the KnownHost table is the record, files are generated from it.

Trust on first use: a fetch from a host with no recorded key lets ``ssh`` accept the key it is shown
(``StrictHostKeyChecking=accept-new`` on a per-fetch known_hosts file) and the key ssh accepted is then
recorded here, with the repository that met it first. Every later connection to that host:port uses
``StrictHostKeyChecking=yes`` against the recorded keys only, so a changed key fails the fetch and the
old record stays until an operator resets it. Operators can also pre-seed keys (a pasted known_hosts
line, e.g. from ``ssh-keyscan``). ``<data>/ssh/known_hosts`` is rewritten after each change, for people
who want to use the same trust with their own ssh; the controller never reads it.
"""
from __future__ import annotations

import base64
import binascii
import os
import re
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from peewee import IntegrityError

from errors import FieldError, InputError, NotFound
from models import HostKeySource, KnownHost, database, isoformat
from repos.ssh_keys import fingerprint

KEY_TYPES = {"ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
             "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"}
FIRST_USE, OPERATOR = HostKeySource.FIRST_USE, HostKeySource.OPERATOR
_BRACKETED = re.compile(r"\[([^\]]+)\]:(\d{1,5})")
_HOST = re.compile(r"[A-Za-z0-9._:-]+")


@dataclass(frozen=True)
class HostKey:
    key_type: str
    key: str  # base64 blob

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key)


def host_entry(host: str, port: int | None) -> str:
    """How known_hosts names a host: ``host`` on port 22, ``[host]:port`` otherwise."""
    return host if port in (None, 22) else f"[{host}]:{port}"


def _parse_key(key_type: str, key: str) -> HostKey:
    if key_type not in KEY_TYPES:
        raise ValueError(f"unsupported key type {key_type!r}")
    try:
        blob = base64.b64decode(key, validate=True)
        (length,) = struct.unpack(">I", blob[:4])
        named = blob[4:4 + length].decode("ascii")
    except (binascii.Error, struct.error, UnicodeDecodeError):
        raise ValueError("the key is not valid base64 SSH key data") from None
    if named != key_type:
        raise ValueError(f"the key data is a {named!r} key, not {key_type!r}")
    return HostKey(key_type, key)


def _parse_hosts(field: str) -> list[tuple[str, int]]:
    hosts = []
    for name in field.split(","):
        bracketed = _BRACKETED.fullmatch(name)
        host, port = (bracketed.group(1), int(bracketed.group(2))) if bracketed else (name, 22)
        if name.startswith("|"):
            raise ValueError("hashed host names cannot be attributed to a repository's host: "
                             "paste the plain line (ssh-keyscan without -H)")
        if not _HOST.fullmatch(host) or host.startswith("-") or not 0 < port < 65536:
            raise ValueError(f"{name!r} is not a host name or [host]:port (patterns are not supported)")
        hosts.append((host.lower().rstrip("."), port))
    return hosts


def parse_known_hosts(text: str) -> list[tuple[str, int, HostKey]]:
    """(host, port, key) for every entry of known_hosts lines; comments and blank lines are skipped."""
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        try:
            if parts[0].startswith("@"):
                raise ValueError(f"{parts[0]} lines are not supported")
            if len(parts) < 3:
                raise ValueError("expected 'host key-type base64-key'")
            hosts = _parse_hosts(parts[0])
            key = _parse_key(parts[1], parts[2])
            entries += [(host, port, key) for host, port in hosts]
        except ValueError as exc:
            raise InputError([FieldError("lines", f"line {number}: {exc}")]) from None
    if not entries:
        raise InputError([FieldError("lines", "paste at least one known_hosts line, e.g. the output of "
                                             "ssh-keyscan -t ed25519 host", "required")])
    return entries


def keys_for(host: str, port: int | None) -> list[KnownHost]:
    return list(KnownHost.select().where(KnownHost.host == host, KnownHost.port == (port or 22))
                .order_by(KnownHost.key_type))


def all_hosts() -> list[KnownHost]:
    return list(KnownHost.select().order_by(KnownHost.host, KnownHost.port, KnownHost.key_type))


def known_hosts_text(rows) -> str:
    return "".join(f"{host_entry(r.host, r.port)} {r.key_type} {r.key}\n" for r in rows)


def write_file(path: Path, rows) -> Path:
    """Write a known_hosts file (0600) holding ``rows``; replaces any file there."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(known_hosts_text(rows))
    os.replace(tmp, path)
    return path


def export(settings) -> None:
    folder = Path(settings.project_path) / "ssh"
    folder.mkdir(mode=0o700, exist_ok=True)
    write_file(folder / "known_hosts", all_hosts())


def read_learned(path: Path) -> list[HostKey]:
    """The keys in a known_hosts file ssh wrote to (its lines may have hashed host names)."""
    keys = []
    for line in path.read_text().splitlines() if path.exists() else []:
        parts = line.split()
        if len(parts) >= 3 and not line.startswith(("#", "@")):
            try:
                keys.append(_parse_key(parts[1], parts[2]))
            except ValueError:
                continue
    return keys


def _store(host: str, port: int, key: HostKey, source: str, recorded_by: str | None) -> KnownHost | None:
    """Insert a key unless one of its type is on record; returns the row on record for that type."""
    existing = KnownHost.get_or_none(host=host, port=port, key_type=key.key_type)
    if existing is not None:
        return existing
    try:
        with database.atomic():
            return KnownHost.create(host=host, port=port, key_type=key.key_type, key=key.key,
                                    fingerprint=key.fingerprint, source=source, recorded_by=recorded_by)
    except IntegrityError:  # recorded concurrently
        return KnownHost.get_or_none(host=host, port=port, key_type=key.key_type)


def record_first_use(host: str, port: int | None, keys: list[HostKey], repository: str, settings) -> list[KnownHost]:
    """Record the keys ssh accepted for a host that had none on record."""
    rows = [_store(host, port or 22, key, FIRST_USE, repository) for key in keys]
    if rows:
        export(settings)
    return [r for r in rows if r is not None]


def add_operator_keys(text: str, settings) -> list[KnownHost]:
    """Pre-seed keys from pasted known_hosts lines. A host with a different key of the same type: 409."""
    entries = parse_known_hosts(text)
    conflicts = []
    for host, port, key in entries:
        row = KnownHost.get_or_none(host=host, port=port, key_type=key.key_type)
        if row is not None and row.key != key.key:
            conflicts.append(FieldError("lines", f"{host_entry(host, port)} already has a different {key.key_type} "
                                                f"key on record ({row.fingerprint}); reset that host first",
                                        "conflict"))
    if conflicts:
        raise InputError(conflicts, status=409)
    rows = [_store(host, port, key, OPERATOR, None) for host, port, key in entries]
    export(settings)
    return rows


def reset_host(host: str, port: int | None, settings) -> int:
    """Forget every key of host:port; the next connection trusts what it is shown (first use again)."""
    removed = KnownHost.delete().where(KnownHost.host == host.lower(), KnownHost.port == (port or 22)).execute()
    if not removed:
        raise NotFound(f"no host key is on record for {host_entry(host.lower(), port or 22)}")
    export(settings)
    return removed


def scan(host: str, port: int | None, timeout: float) -> list[HostKey]:
    """The keys a host presents now (ssh-keyscan); empty when it cannot be asked. Only used to explain."""
    argv = ["ssh-keyscan", "-T", str(max(1, int(timeout))), "-p", str(port or 22), "--", host]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 5, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    keys = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and not line.startswith("#"):
            try:
                keys.append(_parse_key(parts[1], parts[2]))
            except ValueError:
                continue
    return keys


def known_host_json(row: KnownHost) -> dict:
    return {"host": row.host, "port": row.port, "key_type": row.key_type, "fingerprint": row.fingerprint,
            "source": row.source, "recorded_by": row.recorded_by, "recorded_at": isoformat(row.recorded_at),
            "line": f"{host_entry(row.host, row.port)} {row.key_type} {row.key}"}

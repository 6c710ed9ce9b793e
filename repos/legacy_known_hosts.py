"""Device host keys from the former ``<data>/ssh/devices_known_hosts`` file, carried into the KnownHost table.

Before the KnownHost table held devices' keys too, ssh wrote what it accepted for devices into that one file.
At start-up its keys are recorded once (as first-use keys "device <name>", or "devices_known_hosts" when no
device has that host now), so those devices are not trusted on first use again; then the file is renamed to
``devices_known_hosts.migrated``. A key of a type already on record for that host:port is not replaced (the
table is newer). Hashed lines (``|1|salt|hash``, ssh's HashKnownHosts) are matched against the hosts of the
devices' SSH targets; a hashed line that matches none cannot be attributed and is left out (logged).
Several workers may start at once: recording is idempotent and the rename happens once.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
from pathlib import Path

from deploy.targets import SshTarget, TargetError, parse_target
from errors import InputError
from models import Device
from repos import known_hosts

LEGACY_FILE = "devices_known_hosts"
log = logging.getLogger(__name__)


def _device_hosts() -> dict[tuple[str, int], str]:
    """{(host, port): device name} of every device with an SSH target (the first by name wins)."""
    hosts: dict[tuple[str, int], str] = {}
    for device in Device.select(Device.name, Device.target).order_by(Device.name):
        try:
            target = parse_target(device.target)
        except TargetError:
            continue
        if isinstance(target, SshTarget):
            hosts.setdefault((target.hostname.strip("[]").lower(), target.port or 22), device.name)
    return hosts


def _hashed_matches(field: str, hosts) -> list[tuple[str, int]]:
    """The (host, port) pairs of ``hosts`` a ``|1|salt|hash`` name stands for."""
    try:
        _, _, salt, digest = field.split("|")
        salt, digest = base64.b64decode(salt, validate=True), base64.b64decode(digest, validate=True)
    except (ValueError, binascii.Error):
        return []
    return [(host, port) for host, port in hosts
            if hmac.compare_digest(hmac.new(salt, known_hosts.host_entry(host, port).encode(), hashlib.sha1).digest(),
                                   digest)]


def read_legacy(text: str, hosts: dict[tuple[str, int], str]) -> tuple[list, list[str]]:
    """([(host, port, HostKey)], [lines left out with why]) from the old file's text."""
    found, left_out = [], []
    for line in text.splitlines():
        parts = line.split()
        if not parts or parts[0].startswith(("#", "@")):
            continue
        if parts[0].startswith("|"):
            names = _hashed_matches(parts[0], hosts)
            if not names:
                left_out.append("a hashed entry that matches no device's host")
                continue
            text_line = f"{','.join(known_hosts.host_entry(h, p) for h, p in names)} {' '.join(parts[1:])}"
        else:
            text_line = line
        try:
            found += known_hosts.parse_known_hosts(text_line)
        except InputError as exc:
            left_out.append(f"{parts[0][:60]}: {exc}")
    return found, left_out


def migrate_device_known_hosts(settings) -> int:
    """Record the old file's keys (once; the file is then renamed). Returns how many keys were new."""
    path = Path(settings.project_path) / "ssh" / LEGACY_FILE
    if not path.is_file():
        return 0
    hosts = _device_hosts()
    entries, left_out = read_legacy(path.read_text(errors="replace"), hosts)
    before = {(r.host, r.port, r.key_type) for r in known_hosts.all_hosts()}
    for host, port, key in entries:
        device = hosts.get((host, port))
        known_hosts.record_first_use(host, port, [key], f"device {device}" if device else LEGACY_FILE, settings)
    added = len({(h, p, k.key_type) for h, p, k in entries} - before)
    try:
        path.rename(path.with_name(LEGACY_FILE + ".migrated"))
    except FileNotFoundError:
        pass  # another worker renamed it first
    log.info("carried %d device host key(s) from %s into Known hosts%s", added, path,
             "; left out: " + "; ".join(left_out) if left_out else "")
    return added

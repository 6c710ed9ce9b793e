"""SSH to devices: the controller's key (created on first need), the devices' host keys kept with the
repositories' (the KnownHost table, one page for all), Test connection and resetting a device's host key.

Trust on first use, as for repositories: a device whose host:port has no key on record is reached with
``StrictHostKeyChecking=accept-new`` on a file of its own, and what ssh accepted is recorded ("device <name>")
after the operation; once keys are on record only they are accepted, so a changed key fails with both
fingerprints until an operator resets it.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from deploy.hosts import SshHost, SshOptions
from deploy.ssh_reasons import explain, recorded_fingerprints
from deploy.targets import SshTarget, parse_target
from errors import FieldError, InputError
from repos import known_hosts
from repos.ssh_keys import host_key_path, public_key_of


@dataclass
class DeviceSsh:
    """How one device is reached: its host, the options, and the keys on record before connecting."""
    device: str
    host: str
    port: int
    options: SshOptions
    recorded: list

    def learn(self, settings) -> None:
        """Record the keys ssh accepted for a host that had none on record (after a connection)."""
        if self.recorded or self.options.known_hosts_file is None:
            return
        keys = known_hosts.read_learned(self.options.known_hosts_file)
        if keys:
            known_hosts.record_first_use(self.host, self.port, keys, f"device {self.device}", settings)


def controller_key(settings) -> Path:
    """The controller's private key for devices, created (with its .pub) when missing."""
    return host_key_path(settings, create=True)


def _ssh_target(device) -> SshTarget:
    target = parse_target(device.target)
    if not isinstance(target, SshTarget):
        raise InputError([FieldError("target", f"device {device.name} is local: it is not reached over SSH")],
                         status=409)
    return target


def device_ssh(device, settings, *, known_hosts_file: Path | None = None, rewrite: bool = True) -> DeviceSsh | None:
    """The SSH options for ``device`` (None for a local one): the controller's key and the device's own
    known-hosts file written from the keys on record (accept-new when there are none; ``rewrite=False`` reads
    the file a connection left). None too for a device without a target yet (deploying it fails on that)."""
    if not device.target:
        return None
    target = parse_target(device.target)
    if not isinstance(target, SshTarget):
        return None
    host, port = target.hostname.strip("[]").lower(), target.port or 22
    recorded = known_hosts.keys_for(host, port)
    if known_hosts_file is None:
        folder = settings.ssh_dir / "device-known-hosts"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        known_hosts_file = folder / device.name
    if rewrite:
        known_hosts.write_file(known_hosts_file, recorded)
    options = SshOptions(key_file=controller_key(settings), known_hosts_file=known_hosts_file,
                         strict_host_key_checking="yes" if recorded else "accept-new")
    return DeviceSsh(device.name, host, port, options, recorded)


def test_connection(device, settings, timeout: int = 10) -> dict:
    """Log in to the device and run ``true``. Saves nothing: a new host key is reported, not recorded.

    ``{"ok", "code", "message", "public_key", "host_key": {"status", "recorded", "presented"}}``."""
    target = _ssh_target(device)
    with tempfile.TemporaryDirectory(prefix="thymis-ssh-test-") as scratch:
        ssh = device_ssh(device, settings, known_hosts_file=Path(scratch) / "known_hosts")
        ssh.options.connect_timeout = timeout
        host = SshHost(target.user, target.hostname, target.port, ssh.options)
        try:
            proc = subprocess.run(host.ssh_command("true"), capture_output=True, text=True, timeout=timeout + 20,
                                  stdin=subprocess.DEVNULL, check=False)
            output, code = proc.stderr.splitlines(), proc.returncode
        except subprocess.TimeoutExpired:
            output, code = ["Connection timed out"], 255
        learned = known_hosts.read_learned(ssh.options.known_hosts_file) if not ssh.recorded else []
        reason = explain(output, host) if code != 0 else None   # reads the known-hosts file it was checked against
    public_key = public_key_of(ssh.options.key_file)
    recorded = [f"{r.key_type} {r.fingerprint}" for r in ssh.recorded]
    host_key = {"status": "recorded" if recorded else ("new" if learned else "unknown"), "recorded": recorded,
                "presented": [f"{k.key_type} {k.fingerprint}" for k in learned]}
    if code == 0:
        trust = ("its host key matches the one on record" if recorded else
                 "its host key is new and will be recorded by the first deploy: " + ", ".join(host_key["presented"]))
        return {"ok": True, "code": "ok", "message": f"Connected to {host}: the controller's key is accepted and "
                f"{trust}.", "public_key": public_key, "host_key": host_key}
    if reason and reason.code == "host_key_changed":
        host_key.update(status="changed", presented=reason.presented)
    message = reason.message if reason else ("; ".join(output[-3:]) or f"ssh exited with status {code}")
    return {"ok": False, "code": reason.code if reason else "failed", "message": f"cannot connect to {host}: "
            f"{message}", "public_key": public_key, "host_key": host_key}


def reset_host_key(device, settings) -> int:
    """Forget the host key on record for the device's host:port (404 when none is)."""
    target = _ssh_target(device)
    removed = known_hosts.reset_host(target.hostname.strip("[]").lower(), target.port or 22, settings)
    stale = settings.ssh_dir / "device-known-hosts" / device.name
    if stale.exists():
        os.unlink(stale)
    return removed


__all__ = ["DeviceSsh", "controller_key", "device_ssh", "recorded_fingerprints", "reset_host_key",
           "test_connection"]

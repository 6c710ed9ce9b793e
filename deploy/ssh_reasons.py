"""Why an SSH connection to a device failed, in one sentence, from what ssh printed (no database, no network).

``explain(lines, host)`` knows ssh's own messages: no route, refused, timed out, unknown host name, permission
denied (naming the controller's public key to install), host key changed (the fingerprints on record and the
one the device presents) and host key unknown. ``code`` is stable for programs; the sentence is for people.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from repos.ssh_keys import fingerprint, public_key_of

_NEW_FINGERPRINT = re.compile(r"key sent by the remote host is\s*(SHA256:[A-Za-z0-9+/=]+)")
RESET_HINT = ("if the device was reinstalled, reset its host key (Reset host key on the device page, or "
              "DELETE /api/devices/<name>/host-key); otherwise the connection may be intercepted")


@dataclass
class SshFailure:
    code: str              # no_route, refused, timeout, unknown_host, permission_denied, host_key_changed,
    message: str           # host_key_unknown, closed
    public_key: str | None = None
    recorded: list[str] = field(default_factory=list)   # fingerprints on record
    presented: list[str] = field(default_factory=list)  # fingerprints the device presents (when ssh said)


def recorded_fingerprints(known_hosts_file: Path | None) -> list[str]:
    """The fingerprints in the known-hosts file the connection was checked against."""
    found = []
    try:
        text = known_hosts_file.read_text() if known_hosts_file else ""
    except OSError:
        text = ""
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and not line.startswith(("#", "@")):
            try:
                found.append(f"{parts[1]} {fingerprint(parts[2])}")
            except ValueError:
                continue
    return found


def explain(lines: list[str], host) -> SshFailure | None:
    """The reason in ``lines`` (ssh's stderr, possibly inside nix's output) for ``host`` (a deploy.hosts.SshHost),
    or None when they name none."""
    text = "\n".join(lines)
    where = f"{host.host}" + (f" port {host.port}" if host.port else " port 22")
    entry = host.host if host.port in (None, 22) else f"[{host.host}]:{host.port}"
    if "REMOTE HOST IDENTIFICATION HAS CHANGED" in text or (
            "Host key verification failed" in text and recorded_fingerprints(host.options.known_hosts_file)):
        recorded = recorded_fingerprints(host.options.known_hosts_file)
        presented = _NEW_FINGERPRINT.findall(text)
        now = f"; the device now presents {', '.join(presented)}" if presented else ""
        return SshFailure("host_key_changed", f"the host key of {entry} has changed: on record "
                          f"{', '.join(recorded) or '(none)'}{now}. {RESET_HINT}", recorded=recorded,
                          presented=presented)
    if "Host key verification failed" in text or "No ED25519 host key is known" in text:
        return SshFailure("host_key_unknown", f"the host key of {entry} is not on record, and this connection "
                          "may not trust a new one")
    if re.search(r"Permission denied \(", text):
        key = public_key_of(host.options.key_file) if host.options.key_file else None
        install = (f": add the controller's public key to {host.user}'s authorized_keys on the device (or to the "
                   f"device's SSH & Users module): {key}" if key else ": the controller has no SSH key")
        return SshFailure("permission_denied", f"{host.destination} refused the controller's key (permission "
                          f"denied){install}", public_key=key)
    reasons = [
        (r"No route to host|Network is unreachable", "no_route",
         f"no route to {host.host}: it is switched off, not on this network, or a firewall drops the traffic"),
        (r"Connection refused", "refused",
         f"{host.host} refused the connection on port {host.port or 22}: no SSH server listens there"),
        (r"Connection timed out|Operation timed out|timed out", "timeout", f"connecting to {where} timed out"),
        (r"Could not resolve hostname|Name or service not known", "unknown_host",
         f"the host name {host.host} cannot be resolved"),
        (r"Connection closed by|Connection reset by|kex_exchange_identification", "closed",
         f"{where} closed the connection before SSH could log in"),
    ]
    for pattern, code, message in reasons:
        if re.search(pattern, text):
            return SshFailure(code, message)
    return None

"""The project commit's message: what changed between two generated revisions, in words.

"device dev1 added; tag lab changed; flake inputs changed", then one line per owner whose modules
changed. Read from the paths that changed and from the old and new ``flake.nix`` (as deploy.render writes it).
"""
from __future__ import annotations

import re

from deploy.model import MANAGED_DIRS

_DEVICE_LINE = re.compile(r'^      ("(?:[^"\\]|\\.)*"|[A-Za-z_][A-Za-z0-9_\'-]*) = nixpkgs\.lib\.nixosSystem \{$')


def _flake_parts(text: str) -> tuple[str, dict[str, str]]:
    """(inputs section, {device: its nixosSystem block}) of a flake.nix written by deploy.render."""
    inputs, devices, current = [], {}, None
    in_inputs = False
    for line in text.splitlines():
        if line == "  inputs = {":
            in_inputs = True
        elif in_inputs:
            if line == "  };":
                in_inputs = False
            else:
                inputs.append(line)
        match = _DEVICE_LINE.match(line)
        if match:
            current = match.group(1).strip('"')
            devices[current] = ""
        if current is not None:
            devices[current] += line + "\n"
            if line == "      };":
                current = None
    return "\n".join(inputs), devices


def _names(kind: str, what: str, names: list[str]) -> str:
    if len(names) == 1:
        return f"{kind} {names[0]} {what}"
    return f"{kind}s {what}: {', '.join(names)}"


def describe_changes(changes: dict[str, str], old_flake: str, new_flake: str) -> str:
    """A commit message from {path: 'added'|'changed'|'removed'} and the old and new flake.nix."""
    old_inputs, old_devices = _flake_parts(old_flake)
    new_inputs, new_devices = _flake_parts(new_flake)
    modules: dict[tuple[str, str], list[str]] = {}
    touched_devices = set()
    for path, what in sorted(changes.items()):
        parts = path.split("/")
        if len(parts) == 3 and parts[0] in MANAGED_DIRS:
            kind = "device" if parts[0] == "hosts" else "tag"
            modules.setdefault((f"{kind} {parts[1]}", what), []).append(parts[2].removesuffix(".nix"))
            if kind == "device":
                touched_devices.add(parts[1])
    added = sorted(set(new_devices) - set(old_devices))
    removed = sorted(set(old_devices) - set(new_devices))
    changed = sorted({d for d in new_devices if d in old_devices and old_devices[d] != new_devices[d]}
                     | (touched_devices & set(old_devices) & set(new_devices)))
    tag_changes: dict[str, set[str]] = {}
    for (owner, what), _ in modules.items():
        if owner.startswith("tag "):
            tag_changes.setdefault(owner[4:], set()).add(what)
    heads = []
    if added:
        heads.append(_names("device", "added", added))
    if removed:
        heads.append(_names("device", "removed", removed))
    if changed:
        heads.append(_names("device", "changed", changed))
    for what in ("added", "removed"):
        tags = sorted(t for t, c in tag_changes.items() if c == {what})
        if tags:
            heads.append(_names("tag", what, tags))
    tags = sorted(t for t, c in tag_changes.items() if c not in ({"added"}, {"removed"}))
    if tags:
        heads.append(_names("tag", "changed", tags))
    if old_inputs != new_inputs:
        heads.append("flake inputs changed" if old_flake else "flake created")
    if changes.get("flake.lock") == "changed":
        heads.append("lock file updated")
    title = "; ".join(heads) or "project regenerated"
    if len(title) > 200:
        title = title[:197] + "..."
    body = [f"- {owner}: modules {what} {', '.join(names)}" for (owner, what), names in sorted(modules.items())]
    return title + "\n\n" + "\n".join(body) + ("\n" if body else "")

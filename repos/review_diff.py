"""What a candidate commit changes, for review: a per-file diff of the exported trees against the active
commit's, and the modules added, removed or with changed settings (its commits: repos/review_impact.py)."""
from __future__ import annotations

import difflib
from pathlib import Path

MAX_DIFF_BYTES = 256 * 1024      # a file's text diff beyond this is named, not shown
MAX_FILE_BYTES = 1024 * 1024     # larger files are compared by content but not diffed
HIGHLIGHTED = ("flake.nix", "flake.lock")


def _files(root: Path | None) -> dict[str, Path]:
    if root is None or not root.is_dir():
        return {}
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*"))
            if (p.is_file() or p.is_symlink()) and not p.relative_to(root).as_posix().startswith(".")}


def _kind(path: str) -> str:
    if path in HIGHLIGHTED or path.endswith("/flake.nix"):
        return "flake"
    return "python" if path.endswith(".py") else "other"


def _read(path: Path | None) -> bytes | None:
    if path is None:
        return None
    if path.is_symlink():
        return b"symlink -> " + str(path.readlink()).encode()
    return path.read_bytes()


def _text(data: bytes | None) -> list[str] | None:
    """The lines of ``data``, or None when it is binary (a NUL byte, or not UTF-8)."""
    if data is None:
        return []
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        return None


def _change(path: str, old: Path | None, new: Path | None) -> dict | None:
    before, after = _read(old), _read(new)
    if before == after:
        return None
    change = "added" if before is None else "removed" if after is None else "modified"
    entry = {"path": path, "change": change, "kind": _kind(path), "highlighted": _kind(path) != "other",
             "binary": False, "diff": None}
    if max(len(before or b""), len(after or b"")) > MAX_FILE_BYTES:
        entry["note"] = "too large to show"
        return entry
    old_lines, new_lines = _text(before), _text(after)
    if old_lines is None or new_lines is None:
        entry["binary"] = True
        return entry
    diff = "".join(difflib.unified_diff(old_lines, new_lines, f"a/{path}", f"b/{path}"))
    if len(diff) > MAX_DIFF_BYTES:
        entry["note"] = "diff too large to show"
    else:
        entry["diff"] = diff
    return entry


def file_changes(active: Path | None, candidate: Path) -> list[dict]:
    """Every file that differs, in path order; highlighted: Python code, flake.nix and flake.lock."""
    old, new = _files(active), _files(candidate)
    changes = (_change(path, old.get(path), new.get(path)) for path in sorted(set(old) | set(new)))
    return [c for c in changes if c is not None]


def _settings(module: dict) -> dict[str, dict]:
    return {s["name"]: s for s in module.get("settings") or []}


def module_changes(active, candidate) -> dict:
    """Modules added, removed, and those whose settings were added, removed or changed (type, default...)."""
    old = {m["type"]: m for m in (active.modules if active else [])}
    new = {m["type"]: m for m in (candidate.modules if candidate else [])}
    changed = []
    for kind in sorted(set(old) & set(new)):
        before, after = _settings(old[kind]), _settings(new[kind])
        entry = {"type": kind, "settings_added": sorted(set(after) - set(before)),
                 "settings_removed": sorted(set(before) - set(after)),
                 "settings_changed": sorted(n for n in set(before) & set(after) if before[n] != after[n])}
        if any(entry[k] for k in ("settings_added", "settings_removed", "settings_changed")):
            changed.append(entry)
    return {"added": sorted(set(new) - set(old)), "removed": sorted(set(old) - set(new)), "changed": changed}

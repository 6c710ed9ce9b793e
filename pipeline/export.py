"""Write one commit's tree from a mirror into a new directory, safely and atomically."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

from dulwich.objects import Blob, Commit, Tree, parse_tree
from dulwich.repo import Repo

from .pack_limits import size_text


class ExportError(Exception):
    """The tree cannot be exported; the message says which entry and why."""


def _check_name(name: bytes, where: bytes) -> None:
    shown = (where + name).decode("utf-8", "backslashreplace")
    if name in (b"", b".", b".."):
        raise ExportError(f"Refusing tree entry {shown!r}: '.', '..' and empty names would escape the directory")
    if b"/" in name or b"\0" in name:
        raise ExportError(f"Refusing tree entry {shown!r}: a name must not contain '/' or NUL")
    if name.lower() == b".git":
        raise ExportError(f"Refusing tree entry {shown!r}: '.git' must not appear in a repository's tree")


def _write_file(path: bytes, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb", closefd=False) as f:
            f.write(data)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def _get(repo: Repo, sha: bytes, kind: type, shown: str):
    try:
        obj = repo[sha]
    except KeyError:
        raise ExportError(f"{shown}: object {sha.decode()} is missing from the mirror") from None
    if not isinstance(obj, kind):
        raise ExportError(f"{shown}: expected a {kind.type_name.decode()}, found a {obj.type_name.decode()}")
    return obj


def _entries(repo: Repo, sha: bytes, shown: str) -> list[tuple[bytes, int, bytes]]:
    """A tree's entries as stored (Dulwich's Tree object is a dict, which would hide a repeated name)."""
    try:
        kind, raw = repo.object_store.get_raw(sha)
    except KeyError:
        raise ExportError(f"{shown}: object {sha.decode()} is missing from the mirror") from None
    if kind != Tree.type_num:
        raise ExportError(f"{shown}: expected a tree")
    try:
        entries = list(parse_tree(raw, 20))
    except Exception:  # noqa: BLE001 - Dulwich raises several kinds for a malformed tree
        raise ExportError(f"{shown}: the tree object is malformed") from None
    seen: set[bytes] = set()
    for name, _mode, _sha in entries:
        if name in seen:
            where = (shown + "/" if shown != "root tree" else "") + name.decode("utf-8", "backslashreplace")
            raise ExportError(f"Refusing a malformed tree: two entries are named {where!r}")
        seen.add(name)
    return entries


class _Budget:
    """What one checkout may hold: total file bytes and entries (THYMIS_CHECKOUT_MAX_*)."""

    def __init__(self, max_bytes: int | None, max_files: int | None) -> None:
        self.max_bytes, self.max_files = max_bytes, max_files
        self.bytes = self.files = 0

    def add(self, size: int) -> None:
        self.files += 1
        self.bytes += size
        if self.max_files is not None and self.files > self.max_files:
            raise ExportError(f"The checkout's number of files exceeds the limit of {self.max_files} "
                              "(THYMIS_CHECKOUT_MAX_FILES)")
        if self.max_bytes is not None and self.bytes > self.max_bytes:
            raise ExportError(f"The checkout's total size exceeds the limit of {size_text(self.max_bytes)} "
                              "(THYMIS_CHECKOUT_MAX_BYTES)")


def _write_tree(repo: Repo, tree: bytes, root: bytes, budget: _Budget) -> list[str]:
    """Write tree ``tree`` under ``root`` (an empty directory we created); returns notes about skipped entries."""
    notes: list[str] = []
    stack: list[tuple[bytes, bytes, bytes]] = [(tree, root, b"")]  # (tree id, directory, path shown in messages)
    while stack:
        current, directory, prefix = stack.pop()
        shown_dir = prefix.rstrip(b"/").decode("utf-8", "backslashreplace") or "root tree"
        for name, mode, sha in _entries(repo, current, shown_dir):
            _check_name(name, prefix)
            target = directory + b"/" + name
            shown = (prefix + name).decode("utf-8", "backslashreplace")
            try:
                _write_entry(repo, mode, sha, target, shown, prefix + name, stack, notes, budget)
            except OSError as e:
                raise ExportError(f"Cannot write {shown!r}: {e.strerror}") from None
    return notes


def _write_entry(repo: Repo, mode: int, sha: bytes, target: bytes, shown: str, path: bytes,
                 stack: list, notes: list[str], budget: _Budget) -> None:
    if stat.S_ISDIR(mode):
        budget.add(0)
        os.mkdir(target, 0o755)
        stack.append((sha, target, path + b"/"))
    elif stat.S_ISLNK(mode):
        link = _get(repo, sha, Blob, shown).as_raw_string()
        budget.add(len(link))
        if not link or b"\0" in link:
            raise ExportError(f"Refusing symlink {shown!r}: empty target or NUL in it")
        os.symlink(link, target)
    elif mode == 0o160000:
        notes.append(f"skipped submodule {shown} (commit {sha.decode()}): submodules are not fetched")
    elif stat.S_ISREG(mode):
        data = _get(repo, sha, Blob, shown).as_raw_string()
        budget.add(len(data))
        _write_file(target, data, 0o755 if mode & 0o100 else 0o644)
    else:
        raise ExportError(f"Refusing tree entry {shown!r}: unknown mode {mode:o}")


def export_tree(mirror: Path, commit: str, dest: Path, *, max_bytes: int | None = None,
                max_files: int | None = None) -> list[str]:
    """Write the tree of ``commit`` into the new directory ``dest``; return notes (e.g. skipped submodules).

    The tree is written into a temporary sibling directory and renamed to
    ``dest`` at the end, so ``dest`` either does not exist or is complete; if it
    already exists nothing is done. Entries named ``.``, ``..``, ``.git`` (any
    case), or containing ``/`` or NUL are refused, files are created without
    following links (``O_EXCL|O_NOFOLLOW``), executables keep their exec bit,
    symlinks are created as links (never followed), submodules are skipped. A tree naming one entry
    twice is refused as malformed; past ``max_bytes`` of file data or ``max_files`` entries the export
    fails (and leaves nothing behind).
    """
    dest = Path(dest)
    if dest.exists() or dest.is_symlink():
        return []
    with Repo(str(mirror)) as repo:
        try:
            obj = repo[commit.encode()]
        except (KeyError, ValueError):
            raise ExportError(f"Commit {commit} is not in the mirror") from None
        if not isinstance(obj, Commit):
            raise ExportError(f"{commit} is a {obj.type_name.decode()}, not a commit")
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
        try:
            os.chmod(tmp, 0o755)
            notes = _write_tree(repo, obj.tree, os.fsencode(tmp), _Budget(max_bytes, max_files))
            try:
                os.rename(tmp, dest)
            except OSError:
                if dest.is_dir():  # another export of the same commit finished first
                    shutil.rmtree(tmp)
                    return notes
                raise
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return notes

"""Write one commit's tree from a mirror into a new directory, safely and atomically."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

from dulwich.objects import Blob, Commit, Tree
from dulwich.repo import Repo


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


def _write_tree(repo: Repo, tree: Tree, root: bytes) -> list[str]:
    """Write ``tree`` under ``root`` (an empty directory we created); returns notes about skipped entries."""
    notes: list[str] = []
    stack: list[tuple[Tree, bytes, bytes]] = [(tree, root, b"")]  # (tree, directory, path shown in messages)
    while stack:
        current, directory, prefix = stack.pop()
        for entry in current.iteritems():  # names are unique: Dulwich parses a tree into a dict
            name, mode, sha = entry.path, entry.mode, entry.sha
            _check_name(name, prefix)
            target = directory + b"/" + name
            shown = (prefix + name).decode("utf-8", "backslashreplace")
            try:
                _write_entry(repo, mode, sha, target, shown, prefix + name, stack, notes)
            except OSError as e:
                raise ExportError(f"Cannot write {shown!r}: {e.strerror}") from None
    return notes


def _write_entry(repo: Repo, mode: int, sha: bytes, target: bytes, shown: str, path: bytes,
                 stack: list, notes: list[str]) -> None:
    if stat.S_ISDIR(mode):
        os.mkdir(target, 0o755)
        stack.append((_get(repo, sha, Tree, shown), target, path + b"/"))
    elif stat.S_ISLNK(mode):
        link = _get(repo, sha, Blob, shown).as_raw_string()
        if not link or b"\0" in link:
            raise ExportError(f"Refusing symlink {shown!r}: empty target or NUL in it")
        os.symlink(link, target)
    elif mode == 0o160000:
        notes.append(f"skipped submodule {shown} (commit {sha.decode()}): submodules are not fetched")
    elif stat.S_ISREG(mode):
        data = _get(repo, sha, Blob, shown).as_raw_string()
        _write_file(target, data, 0o755 if mode & 0o100 else 0o644)
    else:
        raise ExportError(f"Refusing tree entry {shown!r}: unknown mode {mode:o}")


def export_tree(mirror: Path, commit: str, dest: Path) -> list[str]:
    """Write the tree of ``commit`` into the new directory ``dest``; return notes (e.g. skipped submodules).

    The tree is written into a temporary sibling directory and renamed to
    ``dest`` at the end, so ``dest`` either does not exist or is complete; if it
    already exists nothing is done. Entries named ``.``, ``..``, ``.git`` (any
    case), or containing ``/`` or NUL are refused, files are created without
    following links (``O_EXCL|O_NOFOLLOW``), executables keep their exec bit,
    symlinks are created as links (never followed), submodules are skipped.
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
        tree = _get(repo, obj.tree, Tree, "root tree")
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
        try:
            os.chmod(tmp, 0o755)
            notes = _write_tree(repo, tree, os.fsencode(tmp))
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

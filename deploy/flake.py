"""The project repository: a git repository (written with Dulwich) holding the generated flake.

``generate_project`` renders the files (``deploy.render``), writes only those whose content changed,
removes module files that are no longer used, keeps ``flake.lock`` current with ``nix flake lock``
(offline: every input is local), and commits with a message saying what changed.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from dulwich.errors import NotGitRepository
from dulwich.index import cleanup_mode, commit_tree, index_entry_from_stat
from dulwich.object_store import MemoryObjectStore
from dulwich.objects import Blob
from dulwich.repo import Repo

import nixcli
from deploy.commit_message import describe_changes
from deploy.model import MANAGED_DIRS, DeviceConfig, FlakeInput
from deploy.render import GenerationError, RenderedProject, render_project
from jobs import processes

COMMITTER = b"Thymis controller <controller@thymis.invalid>"
LOCK_TIMEOUT = 300
PACK_THRESHOLD = 64


@dataclass
class GenerateResult:
    """commit: the project's HEAD after generation (hex). changed: a commit was made.
    files_changed: project paths written or removed (flake.lock included). message: the commit message
    ("" without a commit). lock_seconds: time spent in ``nix flake lock`` (0 when not needed)."""
    commit: str
    changed: bool
    files_changed: list[str] = field(default_factory=list)
    message: str = ""
    lock_seconds: float = 0.0


class LockError(GenerationError):
    """``nix flake lock`` failed; the message holds nix's error."""


def _blob_sha(data: bytes) -> bytes:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest().encode()


def _open_repo(project_dir: Path) -> Repo:
    project_dir.mkdir(parents=True, exist_ok=True)
    if (project_dir / ".git").exists():
        return Repo(str(project_dir))
    return Repo.init(str(project_dir))


@contextmanager
def project_lock(project_dir: Path):
    """Serialises writers of one project directory (threads and processes): an flock on a file beside it."""
    project_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(project_dir.parent / f".{project_dir.name}.generate.lock", "w") as handle:
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise GenerationError(f"{project_dir} is locked by another generation for too long")
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def head_commit(project_dir: Path) -> str | None:
    """The project's HEAD commit (hex), or None before the first generation."""
    try:
        repo = Repo(str(project_dir))
    except NotGitRepository:
        return None
    try:
        return repo.head().decode()
    except KeyError:
        return None
    finally:
        repo.close()


def _managed_on_disk(project_dir: Path) -> set[str]:
    found = set()
    for top in MANAGED_DIRS:
        for root, _dirs, names in os.walk(project_dir / top):
            rel = os.path.relpath(root, project_dir)
            found.update(f"{rel}/{name}".replace(os.sep, "/") for name in names)
    return found


def _remove_empty_dirs(project_dir: Path) -> None:
    for top in MANAGED_DIRS:
        for root, dirs, names in os.walk(project_dir / top, topdown=False):
            if not dirs and not names and Path(root) != project_dir / top:
                try:
                    os.rmdir(root)
                except OSError:
                    pass


def _run_lock(project_dir: Path) -> None:
    """Update flake.lock with ``nix flake lock``.

    The lock only depends on flake.nix (the root node records inputs, nothing of the project's own tree),
    so it runs on a scratch copy of flake.nix and flake.lock: nix then does not copy every module file of
    the project into the store just to lock it, which took seconds for a few thousand files.
    """
    with tempfile.TemporaryDirectory(prefix=".lock-", dir=project_dir.parent) as scratch:
        scratch_dir = Path(scratch)
        shutil.copyfile(project_dir / "flake.nix", scratch_dir / "flake.nix")
        if (project_dir / "flake.lock").exists():
            shutil.copyfile(project_dir / "flake.lock", scratch_dir / "flake.lock")
        proc = processes.run(nixcli.nix("flake", "lock", f"path:{scratch_dir}"), cwd=scratch_dir,
                             capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            fetch = nixcli.fetch_failure(proc.stderr)
            if fetch:
                raise LockError(fetch)
            lines = [line for line in proc.stderr.splitlines() if line.strip()]
            raise LockError("nix flake lock failed: " + "\n".join(lines[-20:]))
        new_lock = (scratch_dir / "flake.lock").read_bytes()
    target = project_dir / "flake.lock"
    if not target.exists() or target.read_bytes() != new_lock:
        target.write_bytes(new_lock)


def write_project(project_dir: Path, rendered: RenderedProject, *, lock: bool = True,
                  message: str | None = None) -> GenerateResult:
    """Write ``rendered`` into the project repository and commit it (see ``generate_project``)."""
    project_dir = Path(project_dir).resolve()
    with project_lock(project_dir):
        repo = _open_repo(project_dir)
        try:
            return _write(repo, project_dir, rendered, lock=lock, message=message)
        finally:
            repo.close()


def _store_objects(repo: Repo, objects: list) -> None:
    """Add new objects: one pack when there are many (fast on slow file systems), loose otherwise."""
    store = repo.object_store
    fresh = {obj.id: obj for obj in objects if obj.id not in store}
    if len(fresh) >= PACK_THRESHOLD:
        store.add_objects([(obj, None) for obj in fresh.values()])
    else:
        for obj in fresh.values():
            store.add_object(obj)


def _stage_data(index, project_dir: Path, path: str, data: bytes, objects: list) -> None:
    blob = Blob.from_string(data)
    objects.append(blob)
    st = os.lstat(project_dir / path)
    index[path.encode()] = index_entry_from_stat(st, blob.id, mode=cleanup_mode(st.st_mode))


def _write(repo: Repo, project_dir: Path, rendered: RenderedProject, *, lock: bool,
           message: str | None) -> GenerateResult:
    index = repo.open_index()
    indexed = {path.decode(): index[path] for path in index.paths()}
    changes: dict[str, str] = {}
    objects: list = []
    made_dirs: set[Path] = set()
    to_write: list[tuple[Path, bytes]] = []
    to_stage: list[tuple[str, bytes]] = []

    flake_path = project_dir / "flake.nix"
    old_flake = flake_path.read_text() if "flake.nix" in indexed and flake_path.exists() else ""
    for path, text in rendered.files.items():
        data = text.encode()
        entry = indexed.get(path)
        full = project_dir / path
        try:
            st = full.lstat()
        except FileNotFoundError:
            st = None
        sha = _blob_sha(data)
        if entry is not None and entry.sha == sha and st is not None and st.st_size == len(data) \
                and _same_mtime(entry.mtime, st):
            continue
        if st is None or st.st_size != len(data) or full.read_bytes() != data:
            if full.parent not in made_dirs:
                full.parent.mkdir(parents=True, exist_ok=True)
                made_dirs.add(full.parent)
            to_write.append((full, data))
        if entry is None or entry.sha != sha:
            changes[path] = "added" if entry is None else "changed"
        to_stage.append((path, data))
    # Creating thousands of small files is latency-bound on some disks: overlap the writes.
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda item: item[0].write_bytes(item[1]), to_write))
    for path, data in to_stage:
        _stage_data(index, project_dir, path, data, objects)

    stale = {p for p in indexed if p.split("/", 1)[0] in MANAGED_DIRS and p not in rendered.files}
    stale |= {p for p in _managed_on_disk(project_dir) if p not in rendered.files}
    for path in stale:
        (project_dir / path).unlink(missing_ok=True)
        if path in indexed:
            changes[path] = "removed"
            del index[path.encode()]
    if stale:
        _remove_empty_dirs(project_dir)
    if changes or objects:
        index.write()

    lock_seconds = 0.0
    lock_path = project_dir / "flake.lock"
    if lock and ("flake.nix" in changes or not lock_path.exists() or "flake.lock" not in indexed):
        old_lock = lock_path.read_bytes() if lock_path.exists() else None
        started = time.monotonic()
        _run_lock(project_dir)
        lock_seconds = time.monotonic() - started
        new_lock = lock_path.read_bytes()
        if new_lock != old_lock or "flake.lock" not in indexed:
            changes["flake.lock"] = "added" if "flake.lock" not in indexed else "changed"
        if "flake.lock" in changes:
            _stage_data(index, project_dir, "flake.lock", new_lock, objects)
            index.write()

    trees = MemoryObjectStore()
    tree = commit_tree(trees, index.iterobjects())
    try:
        head = repo.head()
    except KeyError:
        head = None
    if head is not None and repo[head].tree == tree:
        _store_objects(repo, objects)
        return GenerateResult(commit=head.decode(), changed=False, files_changed=sorted(changes),
                              lock_seconds=lock_seconds)
    _store_objects(repo, objects + [trees[sha] for sha in trees])
    text = message or describe_changes(changes, old_flake, rendered.files["flake.nix"])
    commit = repo.get_worktree().commit(message=text.encode(), committer=COMMITTER, author=COMMITTER,
                                        tree=tree)
    return GenerateResult(commit=commit.decode(), changed=True, files_changed=sorted(changes), message=text,
                          lock_seconds=lock_seconds)


def _same_mtime(index_mtime, st: os.stat_result) -> bool:
    if isinstance(index_mtime, tuple):
        seconds, nanos = index_mtime
        return seconds == int(st.st_mtime) and nanos == st.st_mtime_ns % 1_000_000_000
    return int(index_mtime) == int(st.st_mtime)


def generate_project(project_dir: Path, *, devices: list[DeviceConfig], inputs: list[FlakeInput],
                     thymis_url: str, thymis_from: str | None = None, lock: bool = True,
                     message: str | None = None) -> GenerateResult:
    """Generate and commit the project flake in ``project_dir`` (created and ``git init``-ed if needed).

    Files: ``flake.nix``; ``hosts/<device>/<module type>.nix`` and ``tags/<tag>/<module type>.nix`` (each
    ``{ inputs, pkgs, lib, config, ... }: { <body> }``); ``flake.lock`` from ``nix flake lock`` (run only
    when flake.nix changed or there is no lock; runs with ``nix-command flakes`` enabled (nixcli.py), no network for
    local inputs). Only files whose content changed are written; files of removed devices, tags and modules
    are deleted. Returns changed=False and makes no commit when the tree is unchanged.

    thymis_url: the flake providing ``nixosModules.thymis-device`` and ``nixpkgs`` (unless an input
    overrides it, see ``deploy.render.choose_thymis``); thymis_from: the input to use when more than one
    provides ``thymis``. lock=False skips ``nix flake lock`` (the commit then has no up-to-date lock).
    Raises GenerationError (bad names, conflicting tag modules), ThymisOverrideConflict, LockError.
    """
    rendered = render_project(devices, inputs, thymis_url, thymis_from)
    return write_project(Path(project_dir), rendered, lock=lock, message=message)


def project_url(project_dir: Path, commit: str) -> str:
    """The flake URL of one committed revision of the project: builds never see uncommitted files."""
    return f"git+file://{Path(project_dir).resolve()}?rev={commit}"

"""Self-healing of what the controller keeps on disk.

- A mirror that fails an integrity check (a truncated pack or index, a ref to a missing object) is moved
  aside to ``<name>.git.broken`` and fetched afresh, once, with the reason in the job's log.
- A checkout of an active commit that went missing is exported again from the mirror; when that cannot be
  done the repository is marked failed with the reason, and the build fails with it: a repository's flake
  input is never silently dropped.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from dulwich.repo import Repo

from models import Repository, RepositoryStatus


def mirror_problem(mirror: Path) -> str | None:
    """Why the mirror fails an integrity check (pack and index checksums, refs resolve), or None."""
    if not (Path(mirror) / "objects").is_dir():
        return None
    try:
        repo = Repo(str(mirror))
        try:
            for pack in repo.object_store.packs:
                pack.check_length_and_checksum()
                pack.index.check()
            for ref, sha in repo.get_refs().items():
                if ref != b"HEAD" and sha not in repo.object_store:
                    return f"{ref.decode(errors='replace')} points at {sha.decode()}, which is missing"
        finally:
            repo.close()
    except Exception as exc:  # noqa: BLE001 - any failure to read it is the answer
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return None


def move_aside(mirror: Path) -> Path:
    """Move a broken mirror out of the way (the previous broken copy, if any, is removed)."""
    broken = Path(mirror).with_name(Path(mirror).name + ".broken")
    shutil.rmtree(broken, ignore_errors=True)
    Path(mirror).rename(broken)
    return broken


class MissingCheckout(Exception):
    """The checkout of a repository's active commit is gone and cannot be exported again."""


def ensure_checkout(repo: Repository, settings) -> Path:
    """The checkout of ``repo``'s active commit, exported again from the mirror if it went missing."""
    from pipeline.fetch import export_tree
    checkout = settings.checkout_root(repo.name) / repo.active_commit
    if checkout.is_dir():
        return checkout
    try:
        export_tree(settings.mirror_path(repo.name), repo.active_commit, checkout)
        return checkout
    except Exception as exc:  # noqa: BLE001 - whatever stops the export is the reason shown
        reason = (f"the checkout of the active commit {repo.active_commit[:7]} is missing and could not be "
                  f"exported again from the mirror ({exc or type(exc).__name__}); refresh the repository")
    Repository.update(status=RepositoryStatus.FAILED, last_error=reason).where(Repository.id == repo.id).execute()
    raise MissingCheckout(reason)

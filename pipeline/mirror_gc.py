"""Keeping a repository's mirror small: refs only for the commits in use, packs merged once they pile up."""
from __future__ import annotations

from pathlib import Path

from dulwich.gc import garbage_collect

from pipeline.fetch import FETCHED_PREFIX, open_mirror

MAX_PACKS = 8


def tidy_mirror(mirror: Path, keep: set[str], log) -> None:
    """Drop our refs to commits other than `keep` (the active and latest commits); repack past MAX_PACKS packs."""
    if not mirror.is_dir():
        return
    repo = open_mirror(mirror)
    try:
        for ref in list(repo.refs.keys()):
            if ref.startswith(FETCHED_PREFIX) and ref[len(FETCHED_PREFIX):].decode() not in keep:
                del repo.refs[ref]
        packs = len(list(repo.object_store.packs))
        if packs > MAX_PACKS:
            stats = garbage_collect(repo, prune=True, grace_period=0)
            log(f"mirror repacked: {stats.packs_before} packs into {stats.packs_after}, "
                f"{len(stats.pruned_objects)} unreachable objects removed")
    except Exception as exc:  # tidying is optional; a failure must not fail the fetch
        log(f"mirror not tidied: {exc}")
    finally:
        repo.close()

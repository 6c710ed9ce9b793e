"""Start-up sweep of temporary files that crashed or killed fetches, exports and sandboxes left behind.

- ``repos/<name>.git/objects/pack/tmp*.pack`` and ``objects/tmp_pack_*``: a pack Dulwich was receiving;
- ``checkouts/<name>/.<sha>.*.tmp``: an export that never reached its rename;
- ``<temp dir>/thymis-sandbox-*`` (ours only): a sandbox's scratch folder.

Only what is older than the process by ``GRACE_SECONDS`` is removed: another worker may be writing a fresh
one right now (a live transfer touches its pack at least every THYMIS_FETCH_STALL_SECONDS).
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

GRACE_SECONDS = 600
log = logging.getLogger(__name__)


def _candidates(settings) -> list[Path]:
    found = list(settings.repos_path.glob("*.git/objects/pack/tmp*.pack"))
    found += settings.repos_path.glob("*.git/objects/tmp_pack_*")
    found += [p for p in settings.checkouts_path.glob("*/.*.tmp") if p.is_dir()]
    uid = os.getuid()
    for path in Path(tempfile.gettempdir()).glob("thymis-sandbox-*"):
        try:
            if path.lstat().st_uid == uid and path.is_dir() and not path.is_symlink():
                found.append(path)
        except OSError:
            continue
    return found


def sweep_leftovers(settings, now: float | None = None) -> list[Path]:
    """Remove leftovers older than ``now - GRACE_SECONDS``; returns what was removed."""
    cutoff = (time.time() if now is None else now) - GRACE_SECONDS
    removed = []
    for path in _candidates(settings):
        try:
            if path.lstat().st_mtime >= cutoff:
                continue
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError as exc:
            log.warning("could not remove the leftover %s: %s", path, exc.strerror)
            continue
        removed.append(path)
    if removed:
        log.info("removed %d leftover temporary files of earlier runs", len(removed))
    return removed

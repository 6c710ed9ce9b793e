"""Temporary files a killed process leaves behind, removed when a controller process starts.

- ``<data>/checkouts/<name>/.<sha>.*.tmp``: a checkout export that never reached its rename
- ``<tmp>/thymis-sandbox-*``: a sandbox run's scratch folder (request, HOME) whose process died
Only what is older than ``STALE_SECONDS`` goes: another worker may be exporting or sandboxing right now.
(Fetch temp files in the mirrors are the fetch's own to sweep: pipeline/fetch.py.)
"""
from __future__ import annotations

import logging
import shutil
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)
STALE_SECONDS = 15 * 60


def _stale(path: Path, cutoff: float) -> bool:
    try:
        return path.lstat().st_mtime < cutoff
    except OSError:
        return False


def sweep(settings, now: float | None = None) -> list[Path]:
    cutoff = (now or time.time()) - STALE_SECONDS
    found = list(settings.checkouts_path.glob("*/.*.tmp")) if settings.checkouts_path.is_dir() else []
    found += Path(tempfile.gettempdir()).glob("thymis-sandbox-*")
    removed = []
    for path in found:
        if _stale(path, cutoff) and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    if removed:
        log.info("removed %d temporary folder(s) left by stopped processes", len(removed))
    return removed

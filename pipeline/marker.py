"""Step "marker": README.md at the repository root contains the marker text."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from models.states import StepState
from pipeline.results import StepResult

__all__ = ["MARKER", "README_READ_LIMIT", "check_marker"]

MARKER = "contains thymis modules"
README_READ_LIMIT = 1024 * 1024


def check_marker(checkout: Path) -> StepResult:
    readme = Path(checkout) / "README.md"
    try:
        st = os.lstat(readme)
    except FileNotFoundError:
        others = sorted(p.name for p in Path(checkout).iterdir() if p.name.lower() == "readme.md")
        hint = f" (found {others[0]}; the name must be exactly README.md)" if others else ""
        return StepResult("marker", StepState.FAILED, f"no README.md at the repository root{hint}")
    if stat.S_ISLNK(st.st_mode):
        target = os.readlink(readme)
        return StepResult(
            "marker", StepState.FAILED,
            f"README.md is a symlink (to {target[:200]}); it must be a regular file in the repository"
        )
    if not stat.S_ISREG(st.st_mode):
        return StepResult("marker", StepState.FAILED, "README.md is not a regular file")
    try:
        # O_NOFOLLOW: the file cannot be swapped for a symlink between lstat and open.
        fd = os.open(readme, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return StepResult("marker", StepState.FAILED,
                              "README.md is a symlink; it must be a regular file in the repository")
        return StepResult("marker", StepState.FAILED, f"README.md cannot be read: {e.strerror}")
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return StepResult("marker", StepState.FAILED, "README.md is not a regular file")
        head = f.read(README_READ_LIMIT)
    if MARKER.encode() in head:
        return StepResult("marker", StepState.PASSED, f'README.md contains "{MARKER}"')
    limit = f" in its first {README_READ_LIMIT // 1024 // 1024} MiB" if len(head) >= README_READ_LIMIT else ""
    return StepResult("marker", StepState.FAILED, f'README.md does not contain the text "{MARKER}"{limit}')

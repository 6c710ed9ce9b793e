"""Whom the sandbox child runs as.

When the controller runs as root, the child switches to ``nobody``/``nogroup``
(no supplementary groups) - but only if that user can reach the interpreter,
its standard library, the SDK and the checkouts; otherwise it stays root and
:func:`isolation` says why. When the controller runs as an ordinary user the
child keeps that user: run the controller unprivileged.
"""

from __future__ import annotations

import os
import pwd
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

import thymis_controller

__all__ = ["Isolation", "isolation", "python_for", "SANDBOX_USER", "SDK_DIR"]

SDK_DIR = Path(thymis_controller.__file__).resolve().parent
SANDBOX_USER = "nobody"


def python_for(python: str | None) -> str:
    """The interpreter the child runs: ``python`` or this process's own."""
    return os.path.realpath(python or sys.executable)


@dataclass(frozen=True)
class Isolation:
    """Whom the child runs as: ``uid``/``gid`` to switch to (None: stay) and why."""

    uid: int | None
    gid: int | None
    reason: str


def _reachable_by_other(path: Path, need_read: bool) -> bool:
    """Whether a user that is neither owner nor group could reach ``path``."""
    path = Path(os.path.abspath(path))
    for parent in list(reversed(path.parents)):
        if not os.stat(parent).st_mode & stat.S_IXOTH:
            return False
    mode = os.stat(path).st_mode
    if stat.S_ISDIR(mode):
        return bool(mode & stat.S_IXOTH) and (not need_read or bool(mode & stat.S_IROTH))
    return bool(mode & stat.S_IROTH) or not need_read


def isolation(checkouts: list[Path], python: str | None = None) -> Isolation:
    """Decide whether the child drops to ``nobody`` (only when we are root)."""
    if os.geteuid() != 0:
        return Isolation(None, None, f"runs as the controller's user (uid {os.geteuid()})")
    try:
        user = pwd.getpwnam(SANDBOX_USER)
    except KeyError:
        return Isolation(None, None, f"stays root: there is no user {SANDBOX_USER!r}")
    interpreter = Path(python_for(python))
    stdlib = interpreter.parent.parent / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    if not stdlib.is_dir():
        stdlib = Path(os.__file__).resolve().parent
    needed = [(interpreter, False), (stdlib, True), (SDK_DIR, True)] + [(Path(c), True) for c in checkouts]
    for path, need_read in needed:
        try:
            ok = _reachable_by_other(path, need_read)
        except OSError:
            ok = False
        if not ok:
            return Isolation(None, None, f"stays root: {path} is not readable by {SANDBOX_USER}")
    return Isolation(user.pw_uid, user.pw_gid, f"runs as {SANDBOX_USER} (uid {user.pw_uid})")

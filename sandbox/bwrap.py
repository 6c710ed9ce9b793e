"""The bubblewrap command line: a root filesystem built from nothing, fresh namespaces, no capabilities.

Inside the sandbox there is only:

* the system's shared libraries (``/usr/lib``, ``/lib``, ``/lib64`` ... as the host has them, or ``/nix/store``
  on NixOS), read-only, and ``/etc/ld.so.cache``: what the interpreter's and the pinned packages' native code
  links against. No ``/usr/bin``, no shell, no ``/etc/passwd``, no ``/home``, no ``/var``, no ``/run``.
* the interpreter's own files (executable, standard library, libpython) at their host paths, read-only, with an
  empty tmpfs over each of its site-packages folders;
* ``/sandbox/sdk/thymis_controller`` (the SDK), ``/sandbox/env`` (the pinned packages), ``/sandbox/request.json``,
  and ``/checkouts/<n>`` for each checkout of the run, all read-only;
* its own ``/proc`` (only the sandbox's processes) and a minimal ``/dev``; size-limited tmpfs on ``/tmp`` (the
  working directory) and ``/home/sandbox`` (``HOME``).

The data folder is never bound (the checkouts below it are bound one by one, never a folder above them).
Namespaces: user, mount, PID, network (only its own loopback), IPC, UTS (the host's name is kept: systemd's
ProtectHostname forbids setting one), cgroup where the kernel has it; inside,
uid/gid 65534 with no capabilities and no way to create further user namespaces; a new session (no terminal);
killed with its parent. When the sandbox's first process ends, bubblewrap's init (PID 1) ends and the kernel
kills every process left in the PID namespace.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sandbox.config import Interpreter

__all__ = ["CHECKOUTS", "ENV", "HOME_BYTES", "SANDBOX_UID", "SDK_PARENT", "TMP_BYTES", "bwrap_path", "command"]

SANDBOX_UID = 65534
TMP_BYTES = 64 * 1024 * 1024
HOME_BYTES = 8 * 1024 * 1024
SDK_PARENT = "/sandbox/sdk"
ENV = "/sandbox/env"
REQUEST = "/sandbox/request.json"
CHECKOUTS = "/checkouts"
HOME = "/home/sandbox"
SYSTEM_LIBRARIES = ("/usr/lib", "/usr/lib64", "/usr/lib32", "/lib", "/lib64", "/lib32", "/libx32")


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def _system(args: list[str]) -> None:
    for path in SYSTEM_LIBRARIES:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    if os.path.isdir("/nix/store"):
        args += ["--ro-bind", "/nix/store", "/nix/store"]
    args += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]


def _inside(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _interpreter(args: list[str], info: Interpreter) -> None:
    bound = [p for p in SYSTEM_LIBRARIES if os.path.isdir(p) and not os.path.islink(p)] + ["/nix/store"]
    for path in (info.executable, info.stdlib, info.platstdlib, info.library):
        if path and os.path.exists(path) and not _inside(os.path.realpath(path), bound):
            args += ["--ro-bind", os.path.realpath(path), path]
            bound.append(path)
    for site in info.site_packages:
        if os.path.isdir(site) and _inside(site, bound) and not os.path.islink(site):
            args += ["--size", "4096", "--perms", "0555", "--tmpfs", site]


def command(*, bwrap: str, info: Interpreter, sdk_dir: Path, env_dir: Path | None, checkouts: list[Path],
            request_file: Path, python_args: list[str]) -> list[str]:
    """The argv that runs ``info.executable python_args...`` in a fresh sandbox."""
    args = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
            "--cap-drop", "ALL", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
            "--clearenv", "--setenv", "HOME", HOME, "--setenv", "LANG", "C.UTF-8", "--setenv", "PATH", "/nonexistent"]
    _system(args)
    _interpreter(args, info)
    args += ["--proc", "/proc", "--dev", "/dev",
             "--size", str(TMP_BYTES), "--tmpfs", "/tmp",
             "--size", str(HOME_BYTES), "--tmpfs", HOME,
             "--ro-bind", str(sdk_dir), f"{SDK_PARENT}/{sdk_dir.name}",
             "--ro-bind", str(request_file), REQUEST]
    if env_dir is not None:
        args += ["--ro-bind", str(env_dir), ENV]
    for number, checkout in enumerate(checkouts):
        args += ["--ro-bind", str(checkout), f"{CHECKOUTS}/{number}"]
    args += ["--remount-ro", "/", "--chdir", "/tmp", "--", info.executable, *python_args]
    return args

"""What runs in the sandbox: module discovery, Nix rendering (one run per repository), and the probe."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from sandbox.bwrap import bwrap_path
from sandbox.config import SDK_DIR, ConfigError, current, interpreter_info
from sandbox.module_json import MalformedResult, clean_module
from sandbox.runner import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, SandboxError, run
from thymis_controller.modules.builtin_modules import builtin_module_types

__all__ = ["THYMIS_PYTHON", "discover", "isolation", "probe", "render"]

THYMIS_PYTHON = (3, 12)     # Thymis's modules use 3.12 syntax; older interpreters are a fallback


def _checked(fn, *args):
    try:
        return fn(*args)
    except MalformedResult as e:
        raise SandboxError(str(e), kind="output") from None


def discover(checkout: Path, packages: list[str], *, timeout: float = DEFAULT_TIMEOUT,
             memory_mb: int = DEFAULT_MEMORY_MB, python: str | None = None) -> list[dict]:
    """Import each package of ``checkout`` in the sandbox and describe its modules.

    Returns one JSON description per ``Module`` subclass defined in those packages (see
    ``thymis_controller.schema.describe_module``), plus ``"package"``. Raises :class:`SandboxError`.
    """
    for p in packages:
        if not p.isidentifier():
            raise SandboxError(f"`{p}` is not a Python package name")
        if p in sys.stdlib_module_names or p == SDK_DIR.name:
            # the child would import the standard library's / the SDK's module instead
            raise SandboxError(f"package `{p}` cannot be imported under its name (it shadows `{p}`)")
    if not packages:
        return []
    result = run("discover", {"packages": list(packages)}, [Path(checkout)], timeout=timeout, memory_mb=memory_mb,
                 config=_with_python(python))
    if not isinstance(result, list):
        raise SandboxError("the sandbox returned a malformed result")
    return [_checked(clean_module, m, list(packages)) for m in result]


def _with_python(python: str | None):
    config = current()
    if python is None:
        return config
    from dataclasses import replace
    return replace(config, python=python)


def _clean_request(item, checkout_paths: list[Path], builtin) -> tuple[dict, Path | None]:
    """The request with its values checked, and the checkout that provides its module (None: built-in)."""
    module_type = item.get("module_type") if isinstance(item, dict) else None
    if not isinstance(module_type, str) or "." not in module_type:
        raise SandboxError(f"invalid module type {module_type!r}")
    top = module_type.split(".", 1)[0]
    owner = None
    if module_type not in builtin:
        owner = next((c for c in checkout_paths if top.isidentifier() and (c / top / "__init__.py").is_file()), None)
        if owner is None:
            raise SandboxError(f"unknown module type `{module_type}`")
    settings = item.get("settings") or {}
    priority = item.get("priority", 100)
    path = str(item.get("path") or "module")
    if not isinstance(settings, dict):
        raise SandboxError(f"settings of `{module_type}` must be an object")
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise SandboxError(f"priority of `{module_type}` must be an integer")
    if path.startswith("/") or ".." in Path(path).parts:
        raise SandboxError(f"invalid path {path!r} for `{module_type}`")
    return {"module_type": module_type, "settings": settings, "priority": priority, "path": path}, owner


def render(checkout_paths: list[Path], requests: list[dict], *, timeout: float = DEFAULT_TIMEOUT,
           memory_mb: int = DEFAULT_MEMORY_MB, python: str | None = None) -> list[str]:
    """Run ``write_nix_settings`` for each request and return the Nix texts, in order.

    A request is ``{"module_type": str, "settings": dict, "priority": int, "path": str}``; ``path`` (optional,
    relative, e.g. ``"hosts/sensor-01"``) names the folder passed to the module as ``path`` - a fresh folder
    below ``project.path / "repository"`` inside the sandbox's temporary directory (files written there are
    discarded). ``module_type`` must be a built-in module or live in a top-level package of one of
    ``checkout_paths`` (the first that has it).

    One sandbox run per repository: a module sees its own repository's checkout and the SDK, never another
    repository's checkout. The built-in modules render in a run of their own, with no checkout at all.
    """
    checkout_paths = [Path(c) for c in checkout_paths]
    builtin = builtin_module_types()
    groups: dict[Path | None, list[int]] = {}
    clean = []
    for index, item in enumerate(requests):
        request, owner = _clean_request(item, checkout_paths, builtin)
        clean.append(request)
        groups.setdefault(owner, []).append(index)
    texts: list[str | None] = [None] * len(clean)
    config = _with_python(python)
    for owner, indexes in groups.items():
        batch = [clean[i] for i in indexes]
        result = run("render", {"requests": batch}, [owner] if owner else [], timeout=timeout,
                     memory_mb=memory_mb, config=config)
        if not isinstance(result, list) or len(result) != len(batch) or not all(isinstance(t, str) for t in result):
            raise SandboxError("the sandbox returned a malformed result")
        for i, text in zip(indexes, result):
            texts[i] = text
    return texts


def probe(checkouts: list[Path] = (), *, python: str | None = None, timeout: float = 10.0) -> dict:
    """Start the sandbox without running repository code and report what it looks like inside:
    ``{"uid", "gid", "path", "capabilities", "namespaces", "mounts", "version"}``."""
    return run("probe", {}, list(checkouts), timeout=timeout, memory_mb=DEFAULT_MEMORY_MB,
               config=_with_python(python))


_status_lock = threading.Lock()
_status: dict = {}
_OK_FOR, _FAILED_FOR = 300.0, 10.0


def isolation(*, refresh: bool = False) -> dict:
    """Which isolation is in force, for /healthz and the pages: ``{"isolation": "bwrap" | "none" | "unavailable",
    "detail", "python", "python_warning"}``. A successful check is kept for 5 minutes, a failed one for 10 s."""
    config = current()
    key = (config, bwrap_path())      # installing or removing bubblewrap takes effect at once
    with _status_lock:
        cached = _status.get(key)
        if cached and not refresh and time.monotonic() < cached[0]:
            return cached[1]
    status = _check(config)
    with _status_lock:
        _status[key] = (time.monotonic() + (_FAILED_FOR if status["isolation"] == "unavailable" else _OK_FOR),
                           status)
    return status


def _check(config) -> dict:
    try:
        info = interpreter_info(config.interpreter())
        version, executable = info.version, info.executable
    except ConfigError as e:
        return {"isolation": "unavailable", "detail": str(e), "python": None, "python_warning": None}
    warning = None
    if tuple(int(p) for p in version.split(".")[:2]) < THYMIS_PYTHON:
        warning = (f"repository code runs on Python {version} ({executable}), older than Thymis's 3.13: modules "
                   "that use newer syntax fail; install Python 3.13 and run scripts/setup.sh, or set "
                   "THYMIS_SANDBOX_PYTHON")
    base = {"python": version, "python_warning": warning}
    try:
        run("probe", {}, [], timeout=10.0, memory_mb=DEFAULT_MEMORY_MB, config=config)
    except SandboxError as e:
        return {"isolation": "unavailable", "detail": e.message, **base}
    if config.mode == "unsafe-none":
        return {"isolation": "none", "detail": "THYMIS_SANDBOX=unsafe-none: repository code runs without any "
                                               "isolation, with the controller's rights", **base}
    return {"isolation": "bwrap", "detail": "bubblewrap: own user, mount, PID, network, IPC and UTS namespaces, "
                                            "no capabilities, read-only checkouts", **base}

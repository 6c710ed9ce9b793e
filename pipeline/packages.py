"""Finding a repository's Python packages, and step "unique" (no name clashes)."""

from __future__ import annotations

import importlib.util
import os
import stat
import sys
from pathlib import Path

from models.states import StepState
from pipeline.results import StepResult

__all__ = ["IGNORED_DIRECTORIES", "SDK_PACKAGE", "check_unique", "clash_for", "list_packages"]

SDK_PACKAGE = "thymis_controller"
IGNORED_DIRECTORIES = frozenset({"tests", "test", "__pycache__"})


def list_packages(checkout: Path) -> tuple[list[str], list[str]]:
    """Top-level Python packages: root directories (not symlinks, not hidden, not
    tests) holding a regular ``__init__.py``. Returns ``(packages, problems)``;
    a problem is such a directory whose name cannot be imported."""
    packages, problems = [], []
    try:
        entries = sorted(os.scandir(checkout), key=lambda e: e.name)
    except OSError as e:
        return [], [f"cannot list the repository folder: {e.strerror}"]
    for entry in entries:
        name = entry.name
        if name.startswith(".") or name in IGNORED_DIRECTORIES or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            init = os.lstat(Path(entry.path) / "__init__.py")
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(init.st_mode):
            continue
        if name.isidentifier() and name.isascii():
            packages.append(name)
        else:
            problems.append(f"directory `{name}` has an __init__.py but `{name}` is not a valid Python package name")
    return packages, problems


def _builtin_packages() -> dict[str, str]:
    from thymis_controller.modules.builtin_modules import BUILTIN_MODULE_CLASSES

    return {cls.__module__.split(".")[0]: f"built-in module {cls.__name__}" for cls in BUILTIN_MODULE_CLASSES}


def _installed(name: str) -> str | None:
    """Where the controller's own environment finds a top-level module ``name``."""
    if name in sys.builtin_module_names:
        return "built into the interpreter"
    module = sys.modules.get(name)
    if module is not None:
        return getattr(module, "__file__", None) or "loaded"
    try:
        # For a top-level name this only asks the finders; no module code runs.
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    return spec.origin or next(iter(spec.submodule_search_locations or []), None) or "installed"


def clash_for(name: str, taken_packages: dict[str, str]) -> str | None:
    """The reason ``name`` may not be used as a repository's package name, or None."""
    if name in taken_packages:
        return f"package `{name}` is already provided by repository `{taken_packages[name]}`"
    if name == SDK_PACKAGE:
        return f"package `{name}` clashes with the controller's module SDK `{SDK_PACKAGE}`"
    builtins = _builtin_packages()
    if name in builtins:
        return f"package `{name}` clashes with the controller's {builtins[name]} (package `{name}`)"
    if name in sys.stdlib_module_names:
        return f"package `{name}` clashes with the Python standard-library module `{name}`"
    where = _installed(name)
    if where is not None:
        return f"package `{name}` clashes with the installed Python module `{name}` ({where})"
    return None


def check_unique(packages: list[str], taken_packages: dict[str, str], problems: list[str] = ()) -> StepResult:
    reasons = list(problems) + [r for r in (clash_for(p, taken_packages) for p in packages) if r]
    if reasons:
        return StepResult("unique", StepState.FAILED, "; ".join(reasons))
    if not packages:
        return StepResult("unique", StepState.PASSED, "no Python packages to check")
    names = ", ".join(f"`{p}`" for p in packages)
    return StepResult("unique", StepState.PASSED, f"package names are unique: {names}")

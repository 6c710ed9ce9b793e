"""Finding a repository's Python packages, and step "unique" (no name clashes)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from models.states import StepState
from pipeline.results import StepResult

__all__ = ["IGNORED_DIRECTORIES", "SANDBOX_THIRD_PARTY", "SDK_PACKAGE", "check_unique", "clash_for", "list_packages",
           "sandbox_third_party"]

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


# The third-party packages of the sandbox's own environment (top-level import names), used when its
# requirements file (sandbox/requirements*.txt, one pinned distribution a line) is not there to read.
SANDBOX_THIRD_PARTY = frozenset({
    "pydantic", "pydantic_core", "annotated_types", "typing_extensions", "typing_inspection", "jinja2", "markupsafe",
})
# Distributions whose import name is not their normalized distribution name.
_IMPORT_NAMES = {"pyyaml": "yaml", "attrs": "attr"}


def _requirement_names(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        distribution = line
        for stop in "=<>!~;[ @":
            distribution = distribution.split(stop, 1)[0]
        distribution = distribution.strip().lower().replace("-", "_").replace(".", "_")
        if distribution:
            names.add(_IMPORT_NAMES.get(distribution, distribution))
    return names


def sandbox_third_party(sandbox_dir: Path | None = None) -> frozenset[str]:
    """Top-level names the sandbox's pinned third-party environment provides to repository code."""
    sandbox_dir = sandbox_dir or Path(__file__).resolve().parent.parent / "sandbox"
    names = set(SANDBOX_THIRD_PARTY)
    for requirements in sorted(sandbox_dir.glob("requirements*.txt")):
        try:
            names |= _requirement_names(requirements.read_text())
        except OSError:
            continue
    return frozenset(names)


def clash_for(name: str, taken_packages: dict[str, str]) -> str | None:
    """The reason ``name`` may not be used as a repository's package name, or None.

    Only what repository code can see in the sandbox can clash: the SDK, the standard library, the sandbox's
    third-party environment and other repositories' packages. The controller's own packages (models, deploy,
    jobs, …) and its web dependencies never share an interpreter with repository code."""
    if name in taken_packages:
        return f"package `{name}` is already provided by repository `{taken_packages[name]}`"
    if name == SDK_PACKAGE:
        return f"package `{name}` clashes with the controller's module SDK `{SDK_PACKAGE}`"
    if name in sys.stdlib_module_names or name in sys.builtin_module_names:
        return f"package `{name}` clashes with the Python standard-library module `{name}`"
    if name in sandbox_third_party():
        return f"package `{name}` clashes with the sandbox's third-party package `{name}`"
    return None


def check_unique(packages: list[str], taken_packages: dict[str, str], problems: list[str] = ()) -> StepResult:
    reasons = list(problems) + [r for r in (clash_for(p, taken_packages) for p in packages) if r]
    if reasons:
        return StepResult("unique", StepState.FAILED, "; ".join(reasons))
    if not packages:
        return StepResult("unique", StepState.PASSED, "no Python packages to check")
    names = ", ".join(f"`{p}`" for p in packages)
    return StepResult("unique", StepState.PASSED, f"package names are unique: {names}")

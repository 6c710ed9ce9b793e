"""The validation pipeline for one exported checkout: marker, flake, modules, unique.

Order and gating (every step always gets a state and a reason):

* **marker**, **flake** and **unique** are static checks (nothing from the
  repository runs in Python) and always run, so one validation shows every
  problem at once.
* **modules** is the only step that executes repository code. It runs only if
  marker and flake did not fail, and only if no package name shadows the
  standard library, the SDK, a built-in or an installed module (in the sandbox
  such a package could not even be imported under its name); otherwise it is
  ``skipped`` with the reason. A clash with another repository's package does
  not stop it (each sandbox sees only its own checkout).

``flake`` is ``skipped`` (never passed) when ``nix-instantiate`` is missing;
a skipped flake does not stop the modules step.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Callable

import sandbox
from pipeline.flake import check_flake
from pipeline.marker import check_marker
from pipeline.packages import check_unique, clash_for, list_packages
from pipeline.results import StepResult, ValidationReport

__all__ = ["validate_checkout", "StepResult", "ValidationReport"]


def _modules_step(checkout: Path, packages: list[str], *, timeout: float, memory_mb: int, python: str | None):
    if not packages:
        return StepResult("modules", "passed", "no Python modules"), []
    try:
        modules = sandbox.discover(checkout, packages, timeout=timeout, memory_mb=memory_mb, python=python)
    except sandbox.SandboxError as e:
        return StepResult("modules", "failed", str(e)), []
    empty = [p for p in packages if not any(m["package"] == p for m in modules)]
    names = ", ".join(f"{m['display_name']} ({m['type']})" for m in modules)
    if empty:
        detail = "; ".join(f"no modules found in package `{p}`" for p in empty)
        if modules:
            detail += f"; found {len(modules)}: {names}"
        return StepResult("modules", "warning", detail), modules
    return StepResult("modules", "passed", f"found {len(modules)} module{'s' if len(modules) != 1 else ''}: {names}"), modules


def validate_checkout(
    checkout: Path,
    *,
    taken_packages: dict[str, str] | None = None,
    on_step: Callable[[StepResult], None] | None = None,
    nix_instantiate: str = "nix-instantiate",
    sandbox_timeout: float = sandbox.DEFAULT_TIMEOUT,
    sandbox_memory_mb: int = sandbox.DEFAULT_MEMORY_MB,
    python: str | None = None,
) -> ValidationReport:
    """Run all steps on an exported checkout folder and return the report.

    ``taken_packages`` maps top-level package names other repositories provide
    to those repositories' display names. ``on_step`` is called with each
    step's ``running`` state and then its final result, in order.
    """
    checkout = Path(checkout).resolve()
    taken = dict(taken_packages or {})
    report = ValidationReport()

    def record(result: StepResult) -> StepResult:
        report.steps.append(result)
        if on_step:
            on_step(result)
        return result

    def run(name: str, fn) -> tuple[StepResult, object]:
        if on_step:
            on_step(StepResult(name, "running", ""))
        try:
            out = fn()
        except Exception as e:  # a bug or an unreadable checkout must still give a state
            tail = traceback.format_exc().strip().splitlines()[-3:]
            out = StepResult(name, "failed", f"internal error: {type(e).__name__}: {e}\n" + "\n".join(tail))
        result, extra = out if isinstance(out, tuple) else (out, None)
        record(result)
        return result, extra

    marker, _ = run("marker", lambda: check_marker(checkout))
    flake, report.flake = run("flake", lambda: check_flake(checkout, nix_instantiate=nix_instantiate))

    packages, problems = list_packages(checkout)
    report.packages = packages
    shadowing = [r for r in (clash_for(p, {}) for p in packages) if r]

    if marker.state == "failed" or flake.state == "failed":
        failed = "marker" if marker.state == "failed" else "flake"
        record(StepResult("modules", "skipped", f"skipped: the {failed} step failed"))
    elif problems or shadowing:
        record(StepResult("modules", "skipped", "skipped: " + "; ".join(problems + shadowing)))
    else:
        _, modules = run(
            "modules",
            lambda: _modules_step(checkout, packages, timeout=sandbox_timeout, memory_mb=sandbox_memory_mb, python=python),
        )
        report.modules = modules or []

    run("unique", lambda: check_unique(packages, taken, problems))
    return report

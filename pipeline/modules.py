"""Step "modules": the sandbox imports the repository's packages and lists the Thymis modules in them.

The only step that runs repository code. It runs in a separate, isolated process (see sandbox/).
"""

from __future__ import annotations

from pathlib import Path

import sandbox
from models.states import StepState
from pipeline.results import StepResult

__all__ = ["check_modules"]


def check_modules(checkout: Path, packages: list[str], *, timeout: float, memory_mb: int,
                  python: str | None) -> tuple[StepResult, list[dict]]:
    """The step's result and the module descriptions the sandbox found."""
    if not packages:
        return StepResult("modules", StepState.PASSED, "no Python modules"), []
    try:
        modules = sandbox.discover(checkout, packages, timeout=timeout, memory_mb=memory_mb, python=python)
    except sandbox.SandboxError as e:
        return StepResult("modules", StepState.FAILED, str(e)), []
    empty = [p for p in packages if not any(m["package"] == p for m in modules)]
    names = ", ".join(f"{m['display_name']} ({m['type']})" for m in modules)
    if empty:
        detail = "; ".join(f"no modules found in package `{p}`" for p in empty)
        if modules:
            detail += f"; found {len(modules)}: {names}"
        return StepResult("modules", StepState.WARNING, detail), modules
    return StepResult("modules", StepState.PASSED,
                      f"found {len(modules)} module{'s' if len(modules) != 1 else ''}: {names}"), modules

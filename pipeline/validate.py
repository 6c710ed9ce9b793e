"""Running the validation steps on one exported checkout, in ``pipeline.steps.STEPS`` order.

The gating: a step is ``skipped`` with the reason when a step it needs failed (the first such step in its
``needs`` is named) or when its ``blocked`` check gives a reason; otherwise it runs. A step that raises
gets ``failed`` with the error, so every step always ends with a state and a reason.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

import sandbox
from models.states import StepState
from pipeline.packages import list_packages
from pipeline.results import StepResult, ValidationReport
from pipeline.signature import CommitSignature
from pipeline.steps import STEPS, Checkout, Step, check_order

__all__ = ["StepResult", "ValidationReport", "validate_checkout"]


def skip_reason(step: Step, results: dict[str, StepResult], checkout: Checkout) -> str | None:
    failed = next((name for name in step.needs if results[name].state == StepState.FAILED), None)
    if failed:
        return f"skipped: the {failed} step failed"
    blocked = step.blocked(checkout)
    return f"skipped: {blocked}" if blocked else None


def _run(step: Step, checkout: Checkout) -> StepResult:
    try:
        return step.run(checkout)
    except Exception as e:  # a bug or an unreadable checkout must still give a state
        tail = traceback.format_exc().strip().splitlines()[-3:]
        return StepResult(step.name, StepState.FAILED, f"internal error: {type(e).__name__}: {e}\n" + "\n".join(tail))


def validate_checkout(
    checkout: Path,
    *,
    taken_packages: dict[str, str] | None = None,
    on_step: Callable[[StepResult], None] | None = None,
    nix_instantiate: str = "nix-instantiate",
    sandbox_timeout: float = sandbox.DEFAULT_TIMEOUT,
    sandbox_memory_mb: int = sandbox.DEFAULT_MEMORY_MB,
    python: str | None = None,
    steps: Sequence[Step] = STEPS,
    signed: CommitSignature | None = None,
    allowed_signers: str | None = None,
) -> ValidationReport:
    """Run the steps on an exported checkout folder and return the report.

    ``taken_packages`` maps top-level package names other repositories provide
    to those repositories' display names. ``on_step`` is called with each
    step's ``running`` state (not for a skipped step) and then its final
    result, in order. ``signed`` is the commit's signature and signed payload, checked against
    ``allowed_signers`` (git's allowedSignersFile text) when that is given.
    """
    check_order(steps)
    path = Path(checkout).resolve()
    report = ValidationReport()
    packages, problems = list_packages(path)
    report.packages = packages
    target = Checkout(path=path, packages=packages, problems=problems, taken=dict(taken_packages or {}),
                      report=report, nix_instantiate=nix_instantiate, sandbox_timeout=sandbox_timeout,
                      sandbox_memory_mb=sandbox_memory_mb, python=python, signed=signed,
                      allowed_signers=allowed_signers)
    results: dict[str, StepResult] = {}
    for step in steps:
        reason = skip_reason(step, results, target)
        if reason is None and on_step:
            on_step(StepResult(step.name, StepState.RUNNING, ""))
        result = StepResult(step.name, StepState.SKIPPED, reason) if reason else _run(step, target)
        results[step.name] = result
        report.steps.append(result)
        if on_step:
            on_step(result)
    return report

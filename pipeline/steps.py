"""The validation steps, in order: ``STEPS`` defines each step's name, its place and what it needs.

A step runs on a `Checkout` (the exported commit plus what was found about it) and returns its
`StepResult`; it may record findings on ``checkout.report``. It is ``skipped`` with the reason instead
when a step it ``needs`` failed, or when its ``blocked`` check names a reason. Every step always gets a
state and a reason, and steps that need nothing always run, so one validation shows every problem at once.

* **marker**, **flake** and **unique** are static checks (nothing from the repository runs in Python).
  ``flake`` is ``skipped`` (never passed) when ``nix-instantiate`` is missing; a skipped step does not
  stop the steps that need it, only a failed one does.
* **modules** is the only step that executes repository code. It needs marker and flake, and is blocked
  when a package name cannot be imported or shadows the standard library, the SDK, a built-in or an
  installed module (in the sandbox such a package could not even be imported under its name). A clash
  with another repository's package does not block it (each sandbox sees only its own checkout); the
  unique step reports that.
* **signature** (pipeline/signature.py) checks the commit's SSH signature against the repository's allowed
  signers, when it has any (else it is skipped). The modules step needs it: code of a commit that is not
  signed by an allowed signer is never run, not even in the sandbox.

A new step is one module with its check plus one entry in ``STEPS``. The fetch job shows its own
``fetch`` step before these (pipeline/fetch_job.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sandbox
from pipeline.flake import check_flake
from pipeline.marker import check_marker
from pipeline.modules import check_modules
from pipeline.packages import check_unique, clash_for
from pipeline.results import StepResult, ValidationReport
from pipeline.signature import CommitSignature, check_signature

__all__ = ["STEPS", "STEP_NAMES", "Checkout", "Step", "check_order"]


@dataclass
class Checkout:
    """What the steps look at: the exported commit's folder and what was found about it."""
    path: Path
    packages: list[str]                      # top-level Python packages (pipeline.packages.list_packages)
    problems: list[str]                      # directories that look like packages but cannot be imported
    taken: dict[str, str]                    # packages other repositories provide -> their display names
    report: ValidationReport
    nix_instantiate: str = "nix-instantiate"
    sandbox_timeout: float = sandbox.DEFAULT_TIMEOUT
    sandbox_memory_mb: int = sandbox.DEFAULT_MEMORY_MB
    python: str | None = None
    signed: CommitSignature | None = None    # the commit's signature and signed payload (pipeline.fetch)
    allowed_signers: str | None = None       # the repository's allowedSignersFile text; None: not checked


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[Checkout], StepResult]
    needs: tuple[str, ...] = ()              # earlier steps; if one of them failed this one is skipped
    blocked: Callable[[Checkout], str | None] = field(default=lambda checkout: None)  # another reason to skip


def _flake(checkout: Checkout) -> StepResult:
    result, checkout.report.flake = check_flake(checkout.path, nix_instantiate=checkout.nix_instantiate)
    return result


def _modules(checkout: Checkout) -> StepResult:
    result, checkout.report.modules = check_modules(
        checkout.path, checkout.packages, timeout=checkout.sandbox_timeout, memory_mb=checkout.sandbox_memory_mb,
        python=checkout.python)
    return result


def _unimportable_packages(checkout: Checkout) -> str | None:
    shadowing = [r for r in (clash_for(p, {}) for p in checkout.packages) if r]
    return "; ".join(checkout.problems + shadowing) or None


def _no_signers(checkout: Checkout) -> str | None:
    return None if (checkout.allowed_signers or "").strip() else "no allowed signers set"


def check_order(steps) -> tuple[str, ...]:
    """The steps' names; a ValueError if a name repeats or a step needs one that does not come before it."""
    seen: list[str] = []
    for step in steps:
        if step.name in seen:
            raise ValueError(f"step {step.name!r} is listed twice")
        later = [n for n in step.needs if n not in seen]
        if later:
            raise ValueError(f"step {step.name!r} needs {', '.join(later)}, which must come before it")
        seen.append(step.name)
    return tuple(seen)


STEPS: tuple[Step, ...] = (
    Step("marker", lambda checkout: check_marker(checkout.path)),
    Step("flake", _flake),
    Step("signature", lambda checkout: check_signature(checkout.signed, checkout.allowed_signers),
         blocked=_no_signers),
    Step("modules", _modules, needs=("marker", "flake", "signature"), blocked=_unimportable_packages),
    Step("unique", lambda checkout: check_unique(checkout.packages, checkout.taken, checkout.problems)),
)
STEP_NAMES = check_order(STEPS)

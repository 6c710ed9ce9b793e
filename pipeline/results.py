"""The records the validation pipeline produces (plain data, JSON-ready)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from errors import hide_paths
from models.states import StepState

__all__ = ["StepResult", "StepState", "ValidationReport"]


@dataclass
class StepResult:
    step: str
    state: str  # a StepState
    detail: str

    def __post_init__(self) -> None:
        self.detail = hide_paths(self.detail)  # tracebacks and sandbox details name no server install path

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ValidationReport:
    steps: list[StepResult] = field(default_factory=list)
    modules: list[dict] = field(default_factory=list)
    packages: list[str] = field(default_factory=list)
    flake: dict | None = None  # {"description", "inputs", "has_thymis_input"}

    @property
    def ok(self) -> bool:
        """No step failed (warnings and skipped steps do not count as failures)."""
        return not any(s.state == StepState.FAILED for s in self.steps)

    def step(self, name: str) -> StepResult | None:
        return next((s for s in self.steps if s.step == name), None)

    @property
    def failed_step(self) -> StepResult | None:
        return next((s for s in self.steps if s.state == StepState.FAILED), None)

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "steps": [s.to_dict() for s in self.steps],
            "modules": self.modules,
            "packages": self.packages,
            "flake": self.flake,
        }

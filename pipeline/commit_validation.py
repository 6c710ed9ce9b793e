"""Validating a fetched commit once: results are stored by (repository, commit) and reused."""
from __future__ import annotations

from models import CommitValidation, Repository
from models.states import StepState
from pipeline.signature import signers_digest
from pipeline.steps import STEP_NAMES
from pipeline.validate import validate_checkout


def active_validations():
    """The validation of each repository's active commit (with .repository loaded), by repository name."""
    return (CommitValidation.select(CommitValidation, Repository)
            .join(Repository, on=((CommitValidation.repository == Repository.id)
                                  & (CommitValidation.commit == Repository.active_commit)))
            .order_by(Repository.name))


def taken_packages(repository_id: int) -> dict[str, str]:
    """Top-level packages the other repositories' active commits provide -> their display names."""
    taken: dict[str, str] = {}
    for row in active_validations().where(Repository.id != repository_id):
        for package in row.packages or []:
            taken.setdefault(package, row.repository.display_name)
    return taken


def _reusable(cached: CommitValidation | None, signers: str | None) -> bool:
    # A clash with another repository may be gone now that it changed or was removed: check again.
    # Changed allowed signers: the signature (and the steps that need it) are checked again.
    return cached is not None and cached.signers == signers and not any(
        s["step"] == "unique" and s["state"] == StepState.FAILED for s in cached.steps)


def validate_commit(repo: Repository, commit: str, checkout, on_step=None, log=print,
                    signed=None) -> CommitValidation:
    """``signed``: the commit's CommitSignature from the mirror (pipeline.fetch.commit_signature)."""
    cached = CommitValidation.get_or_none(CommitValidation.repository == repo.id, CommitValidation.commit == commit)
    signers = signers_digest(repo.allowed_signers)
    if _reusable(cached, signers):
        log(f"commit {commit[:7]} was validated before: {'passed' if cached.ok else 'failed'} (no work redone)")
        return cached
    report = validate_checkout(checkout, taken_packages=taken_packages(repo.id), on_step=on_step, signed=signed,
                               allowed_signers=repo.allowed_signers)
    for step in report.steps:
        log(f"{step.step}: {step.state}{' - ' + step.detail if step.detail else ''}")
    fields = {"ok": report.ok, "steps": [s.to_dict() for s in report.steps], "modules": report.modules,
              "packages": report.packages, "flake": report.flake, "signers": signers}
    if cached is not None:
        CommitValidation.update(**fields).where(CommitValidation.id == cached.id).execute()
        return CommitValidation.get_by_id(cached.id)
    return CommitValidation.create(repository=repo.id, commit=commit, **fields)


def pending_steps() -> list[dict]:
    return [{"step": name, "state": StepState.PENDING, "detail": ""} for name in STEP_NAMES]


def failure_summary(validation: CommitValidation) -> str:
    failed = next((s for s in validation.steps if s["state"] == StepState.FAILED), None)
    # The first line is the reason; a traceback below it is shown with the step itself.
    return f"failed at {failed['step']}: {failed['detail'].splitlines()[0]}" if failed else "passed"

"""Review before activation (``review: required``): a passing commit waits as the candidate until approved.

``hold_for_review`` is called by the fetch job instead of activating; ``approve`` activates the candidate,
``reject`` drops it and remembers it (it is not offered again). Every decision is recorded (ReviewDecision).
"""
from __future__ import annotations

import logging

import audit
from errors import FieldError, InputError, NotFound
from models import CommitValidation, Repository, RepositoryStatus, ReviewDecision, database, isoformat
from pipeline.commit_validation import taken_packages
from repos.review_diff import file_changes, module_changes
from repos.review_impact import commits_between, module_users

log = logging.getLogger(__name__)

APPROVED, REJECTED = "approved", "rejected"
POLICIES = ("auto", "required")


def rejected(repo_id: int, commit: str) -> bool:
    return ReviewDecision.select().where(ReviewDecision.repository == repo_id, ReviewDecision.commit == commit,
                                         ReviewDecision.decision == REJECTED).exists()


def hold_for_review(repo_id: int, commit: str, steps: list[dict], update, log) -> bool:
    """True when the passing ``commit`` is not activated now: held as the candidate, or rejected before.
    ``update(**fields)`` changes the repository row (the fetch job's own bound update)."""
    repo = Repository.get_by_id(repo_id)
    if repo.review != "required" or commit == repo.active_commit:
        return False
    kept = f"; still using {repo.active_commit[:7]}" if repo.active_commit else "; no commit is active"
    if rejected(repo_id, commit):
        log(f"{commit[:7]} passed but was rejected before: it is not offered again")
        update(status=RepositoryStatus.READY if repo.active_commit else RepositoryStatus.FAILED, steps=steps,
               candidate_commit=None, last_error=f"latest: {commit[:7]} was rejected in review{kept}")
        return True
    log(f"{commit[:7]} passed and awaits review (review: required){kept}")
    update(status=RepositoryStatus.AWAITING_REVIEW, steps=steps, candidate_commit=commit, last_error=None)
    return True


def _conflict(message: str) -> InputError:
    return InputError([FieldError("commit", message, "conflict")], status=409)


def _commit_field(data) -> str:
    commit = data.get("commit") if isinstance(data, dict) else None
    if not isinstance(commit, str) or not commit:
        raise InputError([FieldError("commit", "name the candidate commit: {\"commit\": \"<sha>\"}", "required")])
    return commit


def _current_candidate(repo: Repository, commit: str) -> Repository:
    repo = Repository.get_by_id(repo.id)
    if repo.status != RepositoryStatus.AWAITING_REVIEW or not repo.candidate_commit:
        raise _conflict(f"repository '{repo.name}' has no commit awaiting review")
    if repo.candidate_commit != commit:
        raise _conflict(f"{commit[:12]} is not the commit awaiting review ({repo.candidate_commit[:12]} is)")
    return repo


def approve(repo: Repository, data, who: str) -> Repository:
    commit = _commit_field(data)
    with database.atomic():
        repo = _current_candidate(repo, commit)
        validation = CommitValidation.get(CommitValidation.repository == repo.id, CommitValidation.commit == commit)
        taken = taken_packages(repo.id)
        clashes = [f"package `{p}` is already provided by repository `{taken[p]}`" for p in validation.packages
                   if p in taken]
        if clashes:
            raise _conflict("cannot activate: " + "; ".join(clashes))
        Repository.update(active_commit=commit, candidate_commit=None, status=RepositoryStatus.READY,
                          last_error=None).where(Repository.id == repo.id).execute()
        ReviewDecision.create(repository=repo.id, commit=commit, decision=APPROVED, decided_by=who)
        audit.record(audit.APPROVAL, repo.name, who, {"commit": commit})
        audit.record(audit.ACTIVATION, repo.name, who,
                     {"commit": commit, "previous": repo.active_commit, "how": "approved", "job_id": None})
    if commit != repo.active_commit:
        from repos.followers import start_followers
        start_followers(repo.id, commit, lambda line: log.info("repository %s: %s", repo.name, line))
    return Repository.get_by_id(repo.id)


def reject(repo: Repository, data, who: str) -> Repository:
    commit = _commit_field(data)
    with database.atomic():
        repo = _current_candidate(repo, commit)
        kept = f"; still using {repo.active_commit[:7]}" if repo.active_commit else "; no commit is active"
        Repository.update(candidate_commit=None, last_error=f"latest: {commit[:7]} was rejected in review{kept}",
                          status=RepositoryStatus.READY if repo.active_commit else RepositoryStatus.FAILED,
                          ).where(Repository.id == repo.id).execute()
        ReviewDecision.create(repository=repo.id, commit=commit, decision=REJECTED, decided_by=who)
        audit.record(audit.REJECTION, repo.name, who, {"commit": commit, "active_commit": repo.active_commit})
    return Repository.get_by_id(repo.id)


def decisions_json(repo: Repository) -> list[dict]:
    rows = ReviewDecision.select().where(ReviewDecision.repository == repo.id).order_by(ReviewDecision.id.desc())
    return [{"commit": d.commit, "decision": d.decision, "decided_by": d.decided_by,
             "decided_at": isoformat(d.decided_at)} for d in rows.limit(50)]


def candidate_json(repo: Repository, settings) -> dict:
    """What approving the candidate would change: its commit, the files against the active commit, the modules."""
    if repo.status != RepositoryStatus.AWAITING_REVIEW or not repo.candidate_commit:
        raise NotFound(f"repository '{repo.name}' has no commit awaiting review")
    commit, active = repo.candidate_commit, repo.active_commit
    validations = {v.commit: v for v in CommitValidation.select().where(
        CommitValidation.repository == repo.id, CommitValidation.commit.in_([c for c in (commit, active) if c]))}
    candidate = validations.get(commit)
    signature = next((s for s in (candidate.steps if candidate else []) if s["step"] == "signature"), None)
    root = settings.checkout_root(repo.name)
    commits, history = commits_between(settings.mirror_path(repo.name), active, commit, repo.allowed_signers,
                                       {"state": signature["state"], "detail": signature["detail"]} if signature
                                       else None)
    modules = module_changes(validations.get(active), candidate)
    types = {m["type"] for v in (validations.get(active), candidate) if v for m in v.modules}
    changed = {*modules["added"], *modules["removed"], *(c["type"] for c in modules["changed"])}
    return {
        "repository": repo.name,
        "commit": commit,
        "active_commit": active,
        "commits": commits,
        "history": history,
        "files": file_changes(root / active if active else None, root / commit),
        "modules": modules,
        "affected": module_users(types, changed),
        "decisions": decisions_json(repo),
    }

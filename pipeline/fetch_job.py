"""The job that fetches a repository's ref with Dulwich, exports the commit and validates it."""
from __future__ import annotations

import shutil

from errors import hide_paths
from jobs import JobFailed
from models import (
    CommitValidation,
    Repository,
    RepositoryStatus,
    StepState,
    database,
    utcnow,
)
from pipeline.commit_validation import (
    failure_summary,
    pending_steps,
    taken_packages,
    validate_commit,
)
from pipeline.fetch import ExportError, FetchError, export_tree, fetch
from pipeline.mirror_gc import tidy_mirror
from repos.connect import repository_auth
from repos.repositories import remove_repository_files
from repos.urls import parse_remote_url


def _step(state: str, detail: str) -> dict:
    return {"step": "fetch", "state": state, "detail": detail}


def _update(repo_id: int, **fields) -> bool:
    return Repository.update(**fields).where(Repository.id == repo_id).execute() > 0


def fetch_repository(ctx) -> None:
    repo = Repository.get_or_none(Repository.id == ctx.repository_id)
    if repo is None:
        ctx.log("the repository was removed before its fetch started")
        return
    try:
        _fetch_and_validate(ctx, repo)
    except JobFailed:
        raise
    except Exception as exc:  # whatever went wrong, the repository must not stay "fetching"
        message = hide_paths(str(exc)) or type(exc).__name__
        _fail_fetch(repo, message)
        raise JobFailed(message) from None


def _fail_fetch(repo, message: str) -> None:
    kept = f"; still using {repo.active_commit[:7]}" if repo.active_commit else ""
    _update(repo.id, status=RepositoryStatus.FAILED, last_checked_at=utcnow(),
            last_error=f"fetch failed: {message}{kept}", steps=[_step(StepState.FAILED, message)])


def _fetch_and_validate(ctx, repo) -> None:
    settings = ctx.settings
    _update(repo.id, status=RepositoryStatus.FETCHING,
            steps=[_step(StepState.RUNNING, "asking the remote for its refs")])
    spec = parse_remote_url(repo.url, allow_local=settings.allow_local_repositories)
    wanted = repo.ref or "the remote's default branch"
    ctx.log(f"fetching {wanted} from {spec.url}")
    if spec.warning:
        ctx.log(f"warning: {spec.warning}")
    ctx.progress("connecting", force=True)
    try:
        with repository_auth(repo, spec, settings) as auth:  # keys on disk only inside this block
            result = fetch(settings.mirror_path(repo.name), spec, repo.ref, auth=auth, progress=ctx.progress,
                           connect_timeout=settings.fetch_connect_timeout,
                           transfer_timeout=settings.fetch_transfer_timeout,
                           stall_timeout=settings.fetch_stall_seconds, max_bytes=settings.fetch_max_bytes,
                           max_object_bytes=settings.fetch_max_object_bytes)
    except FetchError as exc:
        _fail_fetch(repo, exc.message)
        raise JobFailed(exc.message) from None
    detail = (f"{result.resolved_ref} at {result.commit[:7]}, {result.bytes_received} bytes received"
              if result.changed else f"{result.resolved_ref} at {result.commit[:7]}, unchanged")
    ctx.log(detail)
    ctx.progress("exporting", force=True)
    checkout = settings.checkout_root(repo.name) / result.commit
    try:
        export_tree(settings.mirror_path(repo.name), result.commit, checkout,
                    max_bytes=settings.checkout_max_bytes, max_files=settings.checkout_max_files)
    except ExportError as exc:
        _fail_fetch(repo, str(exc))
        prune_checkouts(repo.id, settings, log=ctx.log)  # the refused commit is not kept in the mirror
        raise JobFailed(str(exc)) from None
    fetch_step = _step(StepState.PASSED, detail)
    still_there = _update(repo.id, fetched_commit=result.commit, last_checked_at=utcnow(), last_error=None,
                          status=RepositoryStatus.VALIDATING, steps=[fetch_step] + pending_steps())
    if not still_there:
        ctx.log("the repository was removed while it was being fetched; its files are removed too")
        remove_repository_files(repo.name, settings)
        return
    validation = _validate(ctx, repo, result.commit, checkout, fetch_step)
    steps = [fetch_step] + validation.steps
    if validation.ok and not _activate(repo, result.commit, validation, steps):
        validation = CommitValidation.get_by_id(validation.id)
        steps = [fetch_step] + validation.steps
    if validation.ok:
        ctx.log(f"{result.commit[:7]} is now the active commit")
    else:
        active = Repository.get_by_id(repo.id).active_commit
        kept = f"active: {active[:7]} (ready); " if active else "no commit is active; "
        message = f"{kept}latest: {result.commit[:7]} {failure_summary(validation)}"
        _update(repo.id, status=RepositoryStatus.FAILED, steps=steps, last_error=message)
        prune_checkouts(repo.id, settings, log=ctx.log)
        raise JobFailed(message)
    prune_checkouts(repo.id, settings, log=ctx.log)


def _activate(repo, commit: str, validation, steps: list[dict]) -> bool:
    """Make `commit` active unless another repository activated one of its packages meanwhile (two validations
    can run at once: the write lock of this transaction orders them). On a clash the cached result is failed."""
    with database.atomic():
        taken = taken_packages(repo.id)
        clashes = [f"package `{p}` is already provided by repository `{taken[p]}`" for p in validation.packages
                   if p in taken]
        if not clashes:
            _update(repo.id, active_commit=commit, status=RepositoryStatus.READY, steps=steps, last_error=None)
            return True
        failed = [s if s["step"] != "unique" else {**s, "state": StepState.FAILED, "detail": "; ".join(clashes)}
                  for s in validation.steps]
        CommitValidation.update(ok=False, steps=failed).where(CommitValidation.id == validation.id).execute()
        return False


def _validate(ctx, repo, commit: str, checkout, fetch_step: dict):
    """Run (or reuse) the validation, showing each step's state on the repository as it goes."""
    steps = {s["step"]: s for s in pending_steps()}

    def on_step(result) -> None:
        steps[result.step] = result.to_dict()
        done = sum(1 for s in steps.values() if s["state"] not in (StepState.PENDING, StepState.RUNNING))
        _update(repo.id, steps=[fetch_step] + list(steps.values()))
        ctx.progress(f"validating: {result.step}", done, len(steps), force=True)

    ctx.progress("validating", 0, len(steps), force=True)
    return validate_commit(repo, commit, checkout, on_step=on_step, log=ctx.log)


def prune_checkouts(repo_id: int, settings, log) -> None:
    """Keep only the checkouts (and mirror refs) of the active and the latest fetched commit."""
    repo = Repository.get_or_none(Repository.id == repo_id)
    if repo is None:
        return
    keep = {repo.active_commit, repo.fetched_commit}
    tidy_mirror(settings.mirror_path(repo.name), {c for c in keep if c}, log=log)
    root = settings.checkout_root(repo.name)
    if not root.is_dir():
        return
    for child in root.iterdir():
        if child.name not in keep and not child.name.startswith("."):
            shutil.rmtree(child, ignore_errors=True)

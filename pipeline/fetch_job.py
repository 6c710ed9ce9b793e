"""The job that fetches a repository's ref with Dulwich, exports the commit and validates it.

Every write the job makes to its repository is bound to the job: it changes the row only while the job is
still running (not cancelled, not reaped) and only the repository the job was queued for (ids are never
reused). A cancelled job therefore changes nothing more, whatever it was doing; ``abort_fetch`` puts the
repository back as it was before the job (cancelled) or records where the controller stopped (reaped).
"""
from __future__ import annotations

import shutil

from peewee import fn

import audit
from errors import disk_full_message, hide_paths, is_disk_full
from jobs import JobCancelled, JobFailed
from jobs.queue import worker_id
from models import (
    ACTIVE_JOB_STATES,
    CommitValidation,
    Job,
    JobState,
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
from pipeline.fetch import ExportError, FetchError, commit_signature, export_tree, fetch
from pipeline.mirror_gc import tidy_mirror
from pipeline.self_heal import mirror_problem, move_aside
from repos.connect import repository_auth
from repos.repositories import remove_repository_files
from repos.review import hold_for_review
from repos.review_impact import HISTORY_DEPTH
from repos.urls import parse_remote_url


def _step(state: str, detail: str) -> dict:
    return {"step": "fetch", "state": state, "detail": detail}


def _job_running(job_id: int):
    """The job runs, in this process (a job queued again after a graceful stop may run elsewhere now)."""
    return fn.EXISTS(Job.select(Job.id).where(Job.id == job_id, Job.state == JobState.RUNNING,
                                              Job.worker == worker_id()))


def _update(ctx, **fields) -> bool:
    """Change the job's own repository while the job is still running; False when it changed nothing."""
    return Repository.update(**fields).where(Repository.id == ctx.repository_id,
                                             _job_running(ctx.job_id)).execute() > 0


def _bound(ctx, **fields) -> None:
    if not _update(ctx, **fields):
        ctx.cancelled.set()
        raise JobCancelled(f"job {ctx.job_id} no longer runs, or its repository was removed")


def fetch_repository(ctx) -> None:
    repo = Repository.get_or_none(Repository.id == ctx.repository_id)
    if repo is None:
        ctx.log("the repository was removed before its fetch started")
        return
    if ctx.payload.get("reason"):
        ctx.log(f"started by {ctx.payload['reason']}")
    try:
        _fetch_and_validate(ctx, repo)
    except (JobFailed, JobCancelled):
        raise
    except Exception as exc:  # whatever went wrong, the repository must not stay "fetching"
        message = hide_paths(str(exc)) or type(exc).__name__
        if is_disk_full(exc):
            message = disk_full_message(ctx.settings.project_path)
        try:
            _fail_fetch(ctx, repo, message)
        except Exception:  # a full disk: the runner records it once there is room
            pass
        raise JobFailed(message) from None


def _fail_fetch(ctx, repo, message: str, **fields) -> None:
    kept = f"; still using {repo.active_commit[:7]}" if repo.active_commit else ""
    _update(ctx, status=RepositoryStatus.FAILED, last_checked_at=utcnow(),
            last_error=f"fetch failed: {message}{kept}", steps=[_step(StepState.FAILED, message)], **fields)


def _fetch_and_validate(ctx, repo) -> None:
    settings = ctx.settings
    _bound(ctx, status=RepositoryStatus.FETCHING,
            steps=[_step(StepState.RUNNING, "asking the remote for its refs")])
    spec = parse_remote_url(repo.url, allow_local=settings.allow_local_repositories)
    wanted = repo.ref or "the remote's default branch"
    ctx.log(f"fetching {wanted} from {spec.url}")
    if spec.warning:
        ctx.log(f"warning: {spec.warning}")
    ctx.progress("connecting", force=True)

    def on_fetched(result) -> None:
        """The pack is stored: the commit shows as fetched at once, before its tree is exported."""
        detail = f"{result.resolved_ref} at {result.commit[:7]} stored; exporting its tree"
        _still_there(ctx, repo, fetched_commit=result.commit, last_checked_at=utcnow(),
                     steps=[_step(StepState.RUNNING, detail)])

    try:
        result, checkout = _fetch_and_export(ctx, repo, spec, on_fetched)
    except FetchError as exc:
        ctx.check()  # a fetch stopped by a cancel is no failure of the repository
        message = disk_full_message(settings.project_path) if exc.code == "disk_full" else exc.message
        _fail_fetch(ctx, repo, message)
        raise JobFailed(message) from None
    except ExportError as exc:
        message = disk_full_message(settings.project_path) if is_disk_full(exc) else str(exc)
        _fail_fetch(ctx, repo, message, fetched_commit=repo.fetched_commit)  # the refused commit is not kept
        prune_checkouts(repo.id, settings, log=ctx.log)  # the refused commit is not kept in the mirror
        raise JobFailed(message) from None
    detail = (f"{result.resolved_ref} at {result.commit[:7]}, {result.bytes_received} bytes received"
              if result.changed else f"{result.resolved_ref} at {result.commit[:7]}, unchanged")
    ctx.log(detail)
    fetch_step = _step(StepState.PASSED, detail)
    _still_there(ctx, repo, fetched_commit=result.commit, last_checked_at=utcnow(), last_error=None,
                 status=RepositoryStatus.VALIDATING, steps=[fetch_step] + pending_steps())
    validation = _validate(ctx, repo, result.commit, checkout, fetch_step)
    ctx.check()
    steps = [fetch_step] + validation.steps
    if validation.ok and hold_for_review(repo.id, result.commit, steps, lambda **f: _bound(ctx, **f), ctx.log):
        prune_checkouts(repo.id, settings, log=ctx.log)
        return
    if validation.ok and not _activate(ctx, repo, result.commit, validation, steps):
        validation = CommitValidation.get_by_id(validation.id)
        steps = [fetch_step] + validation.steps
    if validation.ok:
        ctx.log(f"{result.commit[:7]} is now the active commit")
        if result.commit != repo.active_commit:  # new: the devices and tags that follow it build or deploy
            from repos.followers import start_followers
            start_followers(repo.id, result.commit, ctx.log)
    else:
        active = Repository.get_by_id(repo.id).active_commit
        kept = f"active: {active[:7]} (ready); " if active else "no commit is active; "
        message = f"{kept}latest: {result.commit[:7]} {failure_summary(validation)}"
        _bound(ctx, status=RepositoryStatus.FAILED, steps=steps, last_error=message)
        prune_checkouts(repo.id, settings, log=ctx.log)
        raise JobFailed(message)
    prune_checkouts(repo.id, settings, log=ctx.log)


def _still_there(ctx, repo, **fields) -> None:
    """``_update`` during the fetch; a repository removed meanwhile has its files removed, the job ends."""
    if not _update(ctx, **fields):
        if not Repository.select().where(Repository.name == repo.name).exists():
            ctx.log("the repository was removed while it was being fetched; its files are removed too")
            remove_repository_files(repo.name, ctx.settings)
        raise JobCancelled(f"job {ctx.job_id} was cancelled while it fetched")


def _fetch_and_export(ctx, repo, spec, on_fetched):
    """Fetch the ref, call ``on_fetched(result)`` and export its commit; a mirror that fails an integrity check
    on the way is moved aside and fetched afresh, once (the reason goes to the log)."""
    settings = ctx.settings
    mirror = settings.mirror_path(repo.name)
    for attempt in (1, 2):
        try:
            with repository_auth(repo, spec, settings) as auth:  # keys on disk only inside this block
                result = fetch(mirror, spec, repo.ref, auth=auth, progress=ctx.progress,
                               connect_timeout=settings.fetch_connect_timeout,
                               transfer_timeout=settings.fetch_transfer_timeout,
                               stall_timeout=settings.fetch_stall_seconds, max_bytes=settings.fetch_max_bytes,
                               max_object_bytes=settings.fetch_max_object_bytes,
                               depth=HISTORY_DEPTH if repo.review == "required" else 1)
            on_fetched(result)
            ctx.progress("exporting", force=True)
            checkout = settings.checkout_root(repo.name) / result.commit
            export_tree(mirror, result.commit, checkout,
                        max_bytes=settings.checkout_max_bytes, max_files=settings.checkout_max_files)
            return result, checkout
        except (JobCancelled, JobFailed, ExportError):
            raise
        except Exception:
            ctx.check()
            problem = mirror_problem(mirror) if attempt == 1 else None
            if problem is None:
                raise
            broken = move_aside(mirror)
            ctx.log(f"the mirror failed an integrity check ({problem}); moved aside to {broken.name}, "
                    "fetching the repository afresh")
    raise AssertionError("unreachable")


def _activate(ctx, repo, commit: str, validation, steps: list[dict]) -> bool:
    """Make `commit` active unless another repository activated one of its packages meanwhile (two validations
    can run at once: the write lock of this transaction orders them). On a clash the cached result is failed."""
    with database.atomic():
        taken = taken_packages(repo.id)
        clashes = [f"package `{p}` is already provided by repository `{taken[p]}`" for p in validation.packages
                   if p in taken]
        if not clashes:
            previous = Repository.get_by_id(repo.id).active_commit
            _bound(ctx, active_commit=commit, status=RepositoryStatus.READY, steps=steps, last_error=None,
                   candidate_commit=None)
            if previous != commit:
                audit.record(audit.ACTIVATION, repo.name, "controller",
                             {"commit": commit, "previous": previous, "how": "auto", "job_id": ctx.job_id})
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
        _bound(ctx, steps=[fetch_step] + list(steps.values()))
        ctx.progress(f"validating: {result.step}", done, len(steps), force=True)

    ctx.progress("validating", 0, len(steps), force=True)
    signed = commit_signature(ctx.settings.mirror_path(repo.name), commit)
    return validate_commit(repo, commit, checkout, on_step=on_step, log=ctx.log, signed=signed)


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


def snapshot(repo: Repository) -> dict:
    """What a cancelled fetch puts back: the repository's state before the job (stored in its payload)."""
    return {"status": repo.status, "steps": repo.steps or [], "last_error": repo.last_error,
            "fetched_commit": repo.fetched_commit}


def _stopped_steps(steps: list[dict], reason: str) -> list[dict]:
    out = []
    for step in steps or []:
        if step["state"] == StepState.RUNNING:
            step = {**step, "state": StepState.FAILED, "detail": reason}
        elif step["state"] == StepState.PENDING:
            step = {**step, "state": StepState.SKIPPED, "detail": "not run: the controller stopped before it"}
        out.append(step)
    return out or [_step(StepState.FAILED, reason)]


IN_PROGRESS = (RepositoryStatus.PENDING, RepositoryStatus.FETCHING, RepositoryStatus.VALIDATING)


def _settle_stopped(repo: Repository, reason: str | None) -> None:
    """A fetch that ended without settling its repository (its process died, or the disk was full): the
    step it was in fails with the reason, the active commit stays in use."""
    running = next((s["step"] for s in repo.steps or [] if s["state"] == StepState.RUNNING), None)
    reason = reason or f"the controller stopped during the {running or 'fetch'} step"
    kept = f"; still using {repo.active_commit[:7]}" if repo.active_commit else ""
    Repository.update(status=RepositoryStatus.FAILED, steps=_stopped_steps(repo.steps, reason),
                      last_error=f"{reason}{kept}").where(Repository.id == repo.id).execute()


def abort_fetch(job: Job) -> None:
    """Called in the transaction that cancels or reaps a fetch job (jobs/ending.py), and after a failed job
    whose handler could not record the failure, e.g. on a full disk (jobs/runner.py)."""
    repo = Repository.get_or_none(Repository.id == job.repository_id)
    if repo is None:
        return
    if job.state != JobState.CANCELLED:
        if repo.status in IN_PROGRESS:
            stopped = (job.error or "").startswith("the controller stopped")
            _settle_stopped(repo, None if stopped else job.error)
        return
    before = (job.payload or {}).get("before") or {}
    if before.get("status") in (RepositoryStatus.READY, RepositoryStatus.FAILED):
        Repository.update(status=before["status"], steps=before.get("steps") or [], last_error=before.get("last_error"),
                          fetched_commit=before.get("fetched_commit")).where(Repository.id == repo.id).execute()
        return
    # Never fetched before this job: nothing to go back to but "not fetched".
    Repository.update(status=RepositoryStatus.READY if repo.active_commit else RepositoryStatus.FAILED,
                      fetched_commit=before.get("fetched_commit", repo.fetched_commit),
                      steps=[_step(StepState.FAILED, job.error or "cancelled")],
                      last_error=f"fetch cancelled: {job.error or 'cancelled'}",
                      ).where(Repository.id == repo.id).execute()


def settle_stuck_repositories() -> None:
    """Repositories left fetching or validating with no job to finish them (a controller that stopped before
    its jobs could be reaped by this code): record where they stopped."""
    busy = Job.select(Job.repository).where(Job.state.in_(ACTIVE_JOB_STATES), Job.repository.is_null(False))
    stuck = Repository.select().where(Repository.status.in_(IN_PROGRESS), Repository.id.not_in(busy))
    for repo in stuck:
        with database.atomic():
            if not Job.select().where(Job.repository == repo.id, Job.state.in_(ACTIVE_JOB_STATES)).exists():
                _settle_stopped(Repository.get_by_id(repo.id), None)

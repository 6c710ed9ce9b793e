"""The job that fetches a repository's ref with Dulwich, exports the commit and validates it."""
from __future__ import annotations

import shutil

from jobs import handler
from models import Repository, utcnow
from pipeline.connect import repository_auth
from pipeline.fetch import FetchError, export_tree, fetch
from pipeline.repositories import FETCH_JOB, remove_repository_files
from pipeline.urls import parse_remote_url


class JobFailed(Exception):
    pass


def _step(state: str, detail: str) -> dict:
    return {"step": "fetch", "state": state, "detail": detail}


def _update(repo_id: int, **fields) -> bool:
    return Repository.update(**fields).where(Repository.id == repo_id).execute() > 0


@handler(FETCH_JOB)
def fetch_repository(ctx) -> None:
    settings = ctx.settings
    repo = Repository.get_or_none(Repository.id == ctx.repository_id)
    if repo is None:
        ctx.log("the repository was removed before its fetch started")
        return
    _update(repo.id, status="fetching", steps=[_step("running", "asking the remote for its refs")])
    spec = parse_remote_url(repo.url, allow_local=settings.allow_local_repositories)
    wanted = repo.ref or "the remote's default branch"
    ctx.log(f"fetching {wanted} from {spec.url}")
    if spec.warning:
        ctx.log(f"warning: {spec.warning}")
    ctx.progress("connecting", force=True)
    try:
        with repository_auth(repo, spec, settings) as auth:  # keys on disk only inside this block
            result = fetch(settings.mirror_path(repo.name), spec, repo.ref, auth=auth, progress=ctx.progress, connect_timeout=settings.fetch_connect_timeout,
                           transfer_timeout=settings.fetch_transfer_timeout)
    except FetchError as exc:
        kept = f"; still using {repo.active_commit[:7]}" if repo.active_commit else ""
        _update(repo.id, status="failed", last_checked_at=utcnow(), last_error=f"fetch failed: {exc.message}{kept}",
                steps=[_step("failed", exc.message)])
        raise JobFailed(exc.message) from None
    detail = (f"{result.resolved_ref} at {result.commit[:7]}, {result.bytes_received} bytes received"
              if result.changed else f"{result.resolved_ref} at {result.commit[:7]}, unchanged")
    ctx.log(detail)
    ctx.progress("exporting", force=True)
    checkout = settings.checkout_root(repo.name) / result.commit
    export_tree(settings.mirror_path(repo.name), result.commit, checkout)
    steps = [_step("passed", detail)]
    still_there = _update(repo.id, fetched_commit=result.commit, last_checked_at=utcnow(), last_error=None,
                          status="fetched", steps=steps)
    if not still_there:
        ctx.log("the repository was removed while it was being fetched; its files are removed too")
        remove_repository_files(repo.name, settings)
        return
    prune_checkouts(repo.id, settings)


def prune_checkouts(repo_id: int, settings) -> None:
    """Keep only the checkouts of the active and the latest fetched commit."""
    repo = Repository.get_or_none(Repository.id == repo_id)
    if repo is None:
        return
    keep = {repo.active_commit, repo.fetched_commit}
    root = settings.checkout_root(repo.name)
    if not root.is_dir():
        return
    for child in root.iterdir():
        if child.name not in keep and not child.name.startswith("."):
            shutil.rmtree(child, ignore_errors=True)

"""Adding, changing, refreshing and removing external repositories (the stage before fetch and validation)."""
from __future__ import annotations

import shutil

from peewee import IntegrityError

from errors import FieldError, InputError, NotFound
from jobs import JobConflict, cancel_jobs_of, enqueue
from models import CommitValidation, Repository, RepositoryStatus, database, isoformat
from repos.access import access_json, access_row, credentials_for_input, save_access
from repos.inputs import RepositoryInput, derive_name
from repos.listing import RepositoryRow, load_row, load_rows
from repos.remote_refs import ask_if_unknown
from repos.updates import update_columns, updates_json
from repos.urls import parse_remote_url
from validation import Validation

FETCH_JOB = "fetch"


def get_repository(name: str) -> Repository:
    repo = Repository.get_or_none(Repository.name == name)
    if repo is None:
        raise NotFound(f"no repository named '{name}'")
    return repo


def _unique_name(base: str) -> str:
    name, number = base, 2
    while Repository.select().where(Repository.name == name).exists():
        name = f"{base[:58]}-{number}"
        number += 1
    return name


def create_repository(data, settings):
    """Returns (repository, job). Raises InputError (422/409) and stores nothing on bad input."""
    values = RepositoryInput.parse(data, allow_local=settings.allow_local_repositories)
    if not values.confirm_unknown_ref:
        ask_if_unknown(values.spec, values.effective_ref(),
                       lambda: credentials_for_input(None, values.access, settings), settings)
    try:
        with database.atomic():
            if values.name:
                if Repository.select().where(Repository.name == values.name).exists():
                    raise InputError([FieldError("name", f"a repository with the input name '{values.name}' "
                                                         "already exists", "conflict")], status=409)
                name = values.name
            else:
                name = _unique_name(derive_name(values.display_name))
            repo = Repository.create(name=name, display_name=values.display_name, url=values.spec.url,
                                     ref=values.effective_ref(), status=RepositoryStatus.PENDING, steps=[],
                                     allowed_signers=values.allowed_signers or None,
                                     review=values.review or "auto",
                                     **update_columns(settings, values.webhook_secret, values.refresh_interval))
            save_access(repo, values.access, values.spec, settings)
            job = enqueue(FETCH_JOB, repository=repo)
    except IntegrityError:
        raise InputError([FieldError("name", "a repository with that input name already exists", "conflict")],
                         status=409) from None
    return repo, job


def update_repository(repo: Repository, data, settings):
    """Edit display name, URL, ref, access or allowed signers (the input name is fixed). Returns (repository,
    job or None).

    One write transaction re-reads the row and changes only the columns the edit names: a concurrent edit
    of another field, or a fetch job's result, is never overwritten by values read before."""
    v = Validation.of(data)
    if v.has("name") and (v.raw("name") or "") not in ("", repo.name):
        raise InputError([FieldError("name", "the input name cannot be changed; add the repository again "
                                             "under the new name instead")])
    values = RepositoryInput.parse(v.without("name"), allow_local=settings.allow_local_repositories, partial=True)
    if not values.confirm_unknown_ref:
        _ask_about_ref(repo, values, settings)
    refetch = False
    with database.atomic():
        repo = get_repository(repo.name)  # as it is now, under the write lock
        previous = parse_remote_url(repo.url, allow_local=True)
        changes = {}
        if values.display_name is not None and values.display_name != repo.display_name:
            changes["display_name"] = values.display_name
        if values.spec is not None and values.spec.url != repo.url:
            changes["url"] = values.spec.url
        if values.ref_given or values.spec is not None:
            ref = values.effective_ref()
            if ref != repo.ref:
                changes["ref"] = ref
        if values.allowed_signers is not None and (values.allowed_signers or None) != repo.allowed_signers:
            changes["allowed_signers"] = values.allowed_signers or None
        if values.review is not None and values.review != repo.review:
            changes["review"] = values.review
        changes.update(update_columns(settings, values.webhook_secret, values.refresh_interval, repo))
        # New allowed signers: the fetched commit is checked again against them.
        refetch = "url" in changes or "ref" in changes or "allowed_signers" in changes
        if changes:
            Repository.update(**changes).where(Repository.id == repo.id).execute()
            for key, value in changes.items():
                setattr(repo, key, value)
        if values.access is not None or values.spec is not None:
            spec = values.spec or parse_remote_url(repo.url, allow_local=settings.allow_local_repositories)
            refetch = save_access(repo, values.access, spec, settings, previous) or refetch
        # Inside the transaction: while a fetch runs, the edit is refused whole (JobConflict) and nothing is saved.
        job = refresh_repository(repo) if refetch else None
    return Repository.get_by_id(repo.id), job


def _ask_about_ref(repo: Repository, values: RepositoryInput, settings) -> None:
    """Before a new ref (or the ref at a new URL) is saved: 409 when the remote does not have it (asked outside
    the write transaction, with the access the edit gives or the saved one)."""
    ref = values.effective_ref() if values.ref_given or values.spec is not None else repo.ref
    if ref == repo.ref and (values.spec is None or values.spec.url == repo.url):
        return
    saved = parse_remote_url(repo.url, allow_local=True)
    spec = values.spec or saved
    ask_if_unknown(spec, ref, lambda: credentials_for_input(access_row(repo), values.access, settings,
                                                            saved_for=saved, target=spec), settings)


def refresh_repository(repo: Repository, reason: str | None = None):
    """Queue a fetch; raises JobConflict (naming the job) when one is already queued or running for it.
    The state before is kept with the job, so cancelling it puts the repository back as it was; ``reason``
    (the schedule, a webhook) is the first line of its log."""
    from pipeline.fetch_job import snapshot
    with database.atomic():
        current = get_repository(repo.name)
        payload = {"before": snapshot(current), **({"reason": reason} if reason else {})}
        job = enqueue(FETCH_JOB, repository=current, payload=payload)
        Repository.update(status=RepositoryStatus.PENDING).where(Repository.id == current.id).execute()
    return job


def delete_repository(repo: Repository, settings) -> None:
    """Delete the row and everything fetched for it; its queued or running fetch is cancelled (and changes
    nothing more: the job's writes are bound to it running, and ids are never reused)."""
    with database.atomic():
        cancel_jobs_of(f"cancelled: the repository {repo.name} was removed", repository=repo)
        Repository.delete().where(Repository.id == repo.id).execute()
    remove_repository_files(repo.name, settings)


def remove_repository_files(name: str, settings) -> None:
    mirror = settings.mirror_path(name)
    for path in (mirror, mirror.with_name(mirror.name + ".broken"), settings.checkout_root(name)):
        shutil.rmtree(path, ignore_errors=True)


def active_validation(repo: Repository) -> CommitValidation | None:
    if not repo.active_commit:
        return None
    return CommitValidation.get_or_none(CommitValidation.repository == repo,
                                        CommitValidation.commit == repo.active_commit)


def repository_json(repo: Repository, row: RepositoryRow | None = None) -> dict:
    """The API's repository object; a list passes the row it loaded for all repositories at once."""
    row = load_row(repo) if row is None else row
    return {
        "name": repo.name,
        "display_name": repo.display_name,
        "url": repo.url,
        "ref": repo.ref,
        "status": repo.status,
        "active_commit": repo.active_commit,
        "fetched_commit": repo.fetched_commit,
        "steps": repo.steps or [],
        "modules": [{"type": m["type"], "display_name": m["display_name"]} for m in row.modules],
        "last_checked_at": isoformat(repo.last_checked_at),
        "last_error": repo.last_error,
        "job_id": row.job.id if row.job else None,
        "access": access_json(repo, row.access, row.host_keys),
        "allowed_signers": repo.allowed_signers or "",
        "review": repo.review,
        "candidate_commit": repo.candidate_commit,
        **updates_json(repo),
    }


def repositories_json(repos) -> list[dict]:
    """The API's repository objects for `repos` (a query or a list) in a constant number of queries."""
    return [repository_json(row.repo, row) for row in load_rows(repos)]


__all__ = [
    "InputError",
    "JobConflict",
    "NotFound",
    "create_repository",
    "delete_repository",
    "get_repository",
    "refresh_repository",
    "repositories_json",
    "repository_json",
    "update_repository",
]

"""What a list of repositories shows, loaded in a constant number of queries whatever the list's length.

One query each for the active commits' modules, the unfinished jobs, the access rows and the recorded host
keys of the SSH hosts in the list (instead of four per repository).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from peewee import fn

from models import (
    AccessKind,
    Job,
    JobState,
    KnownHost,
    Repository,
    RepositoryAccess,
    RepositoryStatus,
    database,
)
from repos.urls import parse_remote_url


@dataclass
class RepositoryRow:
    repo: Repository
    modules: list[dict] = field(default_factory=list)   # the active commit's module descriptions
    job: Job | None = None                               # the unfinished job, if any
    access: RepositoryAccess | None = None               # an unsaved kind-none row when none is saved
    host_keys: list[KnownHost] = field(default_factory=list)


def _ssh_host(repo: Repository) -> tuple[str, int] | None:
    spec = parse_remote_url(repo.url, allow_local=True)
    return (spec.host, spec.port or 22) if spec.scheme == "ssh" else None


def _in(values) -> str:
    return ", ".join("?" * len(values))


# The four lookups are written out: for a page of rows, building them with peewee cost more than running them.
def load_rows(repos) -> list[RepositoryRow]:
    """RepositoryRows for `repos` (a query or a list), in the same order."""
    repos = list(repos)
    rows = [RepositoryRow(repo) for repo in repos]
    if not repos:
        return rows
    by_id = {row.repo.id: row for row in rows}
    ids = list(by_id)
    active = database.execute_sql(
        'SELECT v.repository_id, v.modules FROM commit_validation v JOIN repository r ON v.repository_id = r.id '
        f'AND v."commit" = r.active_commit WHERE r.id IN ({_in(ids)})', ids)
    for repository_id, modules in active:
        by_id[repository_id].modules = json.loads(modules) if modules else []
    unfinished = Job.raw(f"SELECT * FROM job WHERE repository_id IN ({_in(ids)}) AND state IN (?, ?) ORDER BY id",
                         *ids, JobState.QUEUED.value, JobState.RUNNING.value)
    for job in unfinished:  # the newest wins, as in jobs.active_job_for
        by_id[job.repository_id].job = job
    _load_children([row.job for row in rows if row.job])
    for access in RepositoryAccess.raw(f"SELECT * FROM repository_access WHERE repository_id IN ({_in(ids)})", *ids):
        by_id[access.repository_id].access = access
    for row in rows:
        if row.access is None:
            row.access = RepositoryAccess(repository=row.repo.id, kind=AccessKind.NONE)
    hosts = {row.repo.id: _ssh_host(row.repo) for row in rows}
    names = sorted({host for host, _ in filter(None, hosts.values())})
    if names:
        keys: dict[tuple[str, int], list[KnownHost]] = {}
        for key in KnownHost.raw(f"SELECT * FROM known_host WHERE host IN ({_in(names)}) ORDER BY key_type", *names):
            keys.setdefault((key.host, key.port), []).append(key)
        for row in rows:
            if hosts[row.repo.id]:
                row.host_keys = keys.get(hosts[row.repo.id], [])
    return rows


def _load_children(jobs: list[Job]) -> None:
    """Set each job's ``children`` (shown by its progress bar) from one query instead of one per job."""
    if not jobs:
        return
    children: dict[int, list[Job]] = {job.id: [] for job in jobs}
    for child in Job.raw(f"SELECT * FROM job WHERE parent_id IN ({_in(children)}) ORDER BY id", *children):
        children[child.parent_id].append(child)
    for job in jobs:
        job.children = children[job.id]  # shadows the backref query (a non-data descriptor)


def load_row(repo: Repository) -> RepositoryRow:
    return load_rows([repo])[0]


def status_filter(v) -> str | None:
    """``?status=``: one of the repository states (a Validation over the query string)."""
    return v.choice("status", list(RepositoryStatus),
                    message=f"status must be one of {', '.join(RepositoryStatus)}")


def matching(text: str | None = None, status: str | None = None):
    """Repositories whose input or display name contains ``text`` (any case) and whose status is ``status``."""
    query = Repository.select()
    if text:
        needle = text.lower()
        query = query.where((fn.instr(fn.lower(Repository.name), needle) > 0)
                            | (fn.instr(fn.lower(Repository.display_name), needle) > 0))
    if status:
        query = query.where(Repository.status == status)
    return query

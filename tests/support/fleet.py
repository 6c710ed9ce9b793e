"""A fleet written straight into the database: repositories with validated active commits and modules,
unfinished jobs, access rows, SSH repositories with recorded host keys, tags and devices using the modules.

Used by the query-count tests and bench/scale_bench.py (which seeds 10 and 200 repositories). Call it with
the database bound (inside ``database.connection_context()``).
"""
from __future__ import annotations

import datetime as dt

from models import (
    AccessKind,
    CommitValidation,
    Device,
    DeviceTag,
    HostKeySource,
    Job,
    JobState,
    KnownHost,
    Repository,
    RepositoryAccess,
    RepositoryStatus,
    Tag,
    database,
    utcnow,
)

SETTINGS = [{"name": "greeting", "display_name": "Greeting", "type": "string", "default": "hello",
             "description": "What the module says", "example": "hi", "nix_attr_name": "fleet.greeting",
             "order": 10}]


def module_type(repo: int, module: int) -> str:
    return f"fleet{repo}.m{module}.Module"


def seed_fleet(repositories: int, modules_per_repo: int = 5, devices: int = 0, modules_per_device: int = 10,
               tags: int = 5) -> None:
    with database.atomic():
        for r in range(repositories):
            commit = f"{r:040x}"
            ssh = r % 3 == 0
            url = f"ssh://git@host{r % 4}.example/fleet{r}.git" if ssh else f"https://example.com/fleet{r}.git"
            repo = Repository.create(name=f"fleet{r}", display_name=f"Fleet {r}", url=url, ref="main",
                                     status=RepositoryStatus.READY, fetched_commit=commit, active_commit=commit,
                                     steps=[{"step": "fetch", "state": "passed", "detail": ""}])
            modules = [{"type": module_type(r, m), "display_name": f"Fleet {r} module {m}", "description": "",
                        "category": "", "icon": None, "settings": SETTINGS} for m in range(modules_per_repo)]
            CommitValidation.create(repository=repo, commit=commit, ok=True, steps=[], modules=modules,
                                    packages=[f"fleet{r}"], flake={"description": "", "inputs": [],
                                                                   "has_thymis_input": False})
            if r % 2 == 0:
                kind = AccessKind.NONE if ssh else AccessKind.HTTPS_TOKEN
                RepositoryAccess.create(repository=repo, kind=kind, username="reader")
            if r % 5 == 0:
                # Running on another host with a fresh heartbeat: no runner here claims or reaps it.
                Job.create(kind="fetch", repository=repo, subject=repo.name, state=JobState.RUNNING,
                           worker="elsewhere:1", heartbeat_at=utcnow() + dt.timedelta(days=1), phase="fetching")
        for h in range(4):
            KnownHost.insert(host=f"host{h}.example", port=22, key_type="ssh-ed25519", key="AAAA" + "x" * 64,
                             fingerprint=f"SHA256:fleet{h}", source=HostKeySource.OPERATOR
                             ).on_conflict_ignore().execute()
        all_types = [module_type(r, m) for r in range(repositories) for m in range(modules_per_repo)]
        tag_rows = [Tag.create(name=f"tag{t}", display_name=f"Tag {t}", priority=90 + t,
                               modules=[{"type": all_types[t % len(all_types)], "settings": {"greeting": "tag"}}]
                               if all_types else []) for t in range(tags)]
        for d in range(devices):
            chosen = [all_types[(d + i * 7) % len(all_types)] for i in range(modules_per_device)] if all_types else []
            device = Device.create(name=f"device{d}", display_name=f"Device {d}", target="local",
                                   modules=[{"type": t, "settings": {"greeting": f"hi {d}"}}
                                            for t in dict.fromkeys(chosen)])
            for position, tag in enumerate(tag_rows[: 1 + d % max(len(tag_rows), 1)][:3]):
                DeviceTag.create(device=device, tag=tag, position=position)

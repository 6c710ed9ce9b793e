"""The fleet at a glance, for the overview page: repositories by status (failing ones with a one-line reason),
devices by their last deploy, the last jobs, and what needs attention (modules gone, no sandbox, no nix, a thymis
flake that cannot be fetched)."""
from __future__ import annotations

from collections import Counter

import nixcli
import sandbox
from configs.catalog import available_modules
from deploy.reachability import NOT_CONFIGURED, UNREACHABLE, reachability
from models import Deployment, DeploymentKind, Device, Job, Repository, Tag

LAST_JOBS = 8


def one_line(text: str | None, limit: int = 200) -> str:
    line = next((part.strip() for part in (text or "").splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[:limit - 1] + "…"


def repository_reason(repo: Repository) -> str:
    failed = next((s for s in repo.steps or [] if s.get("state") == "failed"), None)
    if repo.last_error:
        return one_line(repo.last_error)
    if failed:
        return f"{failed['step']}: {one_line(failed.get('detail'))}"
    return "failed"


def repositories() -> dict:
    rows = list(Repository.select().order_by(Repository.display_name))
    shown = ["ready, latest failed" if r.status == "failed" and r.active_commit else r.status for r in rows]
    failing = [{"repo": r, "in_use": bool(r.active_commit), "reason": repository_reason(r)}
               for r in rows if r.status == "failed"]
    return {"total": len(rows), "by_status": sorted(Counter(shown).items()), "failing": failing}


def devices() -> dict:
    """Each device with its last deploy (or rollback; builds do not change a device), counted by its state."""
    rows = list(Device.select().order_by(Device.name))
    last: dict[str, Deployment] = {}
    query = (Deployment.select().where(Deployment.kind != DeploymentKind.BUILD)
             .order_by(Deployment.started_at, Deployment.id))
    for deployment in query:
        last[deployment.device_name] = deployment
    listed = [{"device": d, "deployment": last.get(d.name)} for d in rows]
    counts = Counter(item["deployment"].state if item["deployment"] else "never deployed" for item in listed)
    return {"total": len(rows), "by_state": sorted(counts.items()), "rows": listed}


def warnings(thymis_flake_url: str = "") -> list[str]:
    found = []
    catalog = available_modules()
    for model, what in ((Device, "device"), (Tag, "tag")):
        for row in model.select().order_by(model.name):
            gone = [m["type"] for m in row.modules if m["type"] not in catalog]
            if gone:
                found.append(f"{what} `{row.name}` uses {len(gone)} module(s) no longer available: "
                             + ", ".join(f"`{t}`" for t in gone) + " (left out of builds, settings kept)")
    isolation = sandbox.isolation()
    if isolation["isolation"] != "bwrap":
        found.append(f"Sandbox isolation is not in force ({isolation['isolation']}): {isolation.get('detail') or ''}"
                     .rstrip(": "))
    if nixcli.version() is None:
        found.append("nix is not reachable: builds and the flake step cannot run")
    flake = reachability.status(thymis_flake_url)
    if flake.state in (UNREACHABLE, NOT_CONFIGURED):
        found.append(f"Device builds will fail: {flake.message}")
    return found


def overview(thymis_flake_url: str = "") -> dict:
    return {"repositories": repositories(), "devices": devices(), "warnings": warnings(thymis_flake_url),
            "jobs": list(Job.select().where(Job.parent.is_null()).order_by(Job.id.desc()).limit(LAST_JOBS))}

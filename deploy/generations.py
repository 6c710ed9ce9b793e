"""A device's generations: what its target's system profile holds (numbers, which is current), read from the
target itself (this machine's profile, or the device's over SSH), joined with the deployment records that
made them (project commit, job). Build-only records are not generations: they are the device's history
(``deployments``), listed apart.

Reading over SSH logs in to the device, so pages load the list on its own (deploy pages), never inline.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from configs.service import get_device
from deploy.activate import ActivationError
from deploy.hosts import CopyError, TargetError
from deploy.targets import no_target
from errors import FieldError, InputError
from models import Deployment, DeploymentKind, DeploymentState, isoformat

UNREACHABLE = "unreachable"


@dataclass
class DeviceGeneration:
    """One generation of the device's profile; project_commit/deployment_id: the record that made it, if any."""
    number: int
    store_path: str
    created: datetime
    current: bool
    project_commit: str | None = None
    deployment_id: int | None = None
    job_id: int | None = None


def _records_by_path(device_name: str, paths: set[str]) -> dict[str, Deployment]:
    """For each store path, the newest succeeded deploy or rollback that activated it (else a build of it)."""
    found: dict[str, Deployment] = {}
    rows = (Deployment.select().where(Deployment.device_name == device_name, Deployment.store_path.in_(paths),
                                      Deployment.state == DeploymentState.SUCCEEDED).order_by(Deployment.id.desc()))
    for row in rows:
        best = found.get(row.store_path)
        if best is None or (best.kind == DeploymentKind.BUILD and row.kind != DeploymentKind.BUILD):
            found[row.store_path] = row
    return found


def read_generations(device, settings) -> tuple[str, list]:
    """(profile, the target's generations oldest first); InputError 409 without a target, 502 when unreadable."""
    from deploy.jobs import deploy_target
    if not device.target:
        raise InputError([FieldError("target", no_target(device.name), "no_target")], status=409)
    target = deploy_target(device, settings)
    try:
        return target.profile, target.where().generations(profile=target.profile)
    except (ActivationError, CopyError, TargetError, OSError) as exc:
        raise InputError([FieldError("target", str(exc), UNREACHABLE)], status=502) from None


def device_generations(name: str, settings) -> tuple[str, list[DeviceGeneration]]:
    """(profile, the device's profile generations newest first, each with the record that made it)."""
    device = get_device(name)
    profile, listed = read_generations(device, settings)
    records = _records_by_path(device.name, {g.store_path for g in listed})
    result = []
    for generation in reversed(listed):
        record = records.get(generation.store_path)
        result.append(DeviceGeneration(generation.number, generation.store_path, generation.created,
                                       generation.current, record.project_commit if record else None,
                                       record.id if record else None, record.job_id if record else None))
    return profile, result


def find_generation(listed: list, number: int, profile: str, where: str):
    """The generation ``number`` of a listing; TargetError naming the numbers there are."""
    chosen = next((g for g in listed if g.number == number), None)
    if chosen is None:
        have = ", ".join(str(g.number) for g in listed) or "none"
        raise TargetError(f"generation {number} is not a generation of {profile} on {where} (it has: {have})")
    return chosen


def deployments(name: str) -> list[Deployment]:
    """The device's history: every build (build only: never activated), deploy and rollback, newest first."""
    device = get_device(name)
    return list(Deployment.select().where(Deployment.device_name == device.name).order_by(Deployment.id.desc()))


def generation_json(generation: DeviceGeneration) -> dict:
    return {"number": generation.number, "store_path": generation.store_path,
            "created_at": isoformat(generation.created.replace(tzinfo=None)), "current": generation.current,
            "project_commit": generation.project_commit, "deployment_id": generation.deployment_id,
            "job_id": generation.job_id}

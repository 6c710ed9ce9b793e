"""Deploying: build then activate one device, or several in parallel up to a limit."""
from __future__ import annotations

import fcntl
import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from deploy.activate import DEFAULT_PROFILE, ActivationError, ActivationResult
from deploy.build import BuildError, BuildResult, build
from deploy.hosts import CopyError, SshOptions, TargetError
from deploy.nixlog import Reporter
from deploy.targets import Target, parse_target
from jobs import processes

_locks: dict[tuple[str, str], threading.Lock] = {}
_locks_guard = threading.Lock()


@contextmanager
def _target_lock(target: str, profile: str, lock_dir: Path | None):
    """One switch at a time per machine and profile: builds run in parallel, activations of devices that name
    the same target (e.g. two `local` devices) take turns instead of racing on one profile. With lock_dir the
    turn is kept by an flock there, which also holds between processes (gunicorn workers, the CLI)."""
    with _locks_guard:
        lock = _locks.setdefault((target, profile), threading.Lock())
    with lock:
        if lock_dir is None:
            yield
            return
        lock_dir.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(f"{target}\0{profile}".encode()).hexdigest()[:32]
        with open(lock_dir / f"target-{name}.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass
class DeployTarget:
    """One device to deploy: its name (nixosConfigurations attribute), target and system profile."""
    name: str
    target: str = "local"
    profile: str = DEFAULT_PROFILE
    activation_command: str | None = None   # local targets: a privileged helper that switches (deploy.targets)
    lock_dir: Path | None = None             # where activations of one target take turns across processes
    files: object | None = None              # placed on the device before the switch (secret_store.delivery)
    ssh: SshOptions | None = None            # this device's own SSH options (else those passed to where)

    def where(self, ssh: SshOptions | None = None) -> Target:
        """The target to activate on (TargetError if ``target`` is not one)."""
        return parse_target(self.target, ssh=self.ssh or ssh, activation_command=self.activation_command)


@dataclass
class DeployOutcome:
    """ok: built and switched. stage: where it stopped ("build", "activate" or "done"). error: the
    message when not ok; rolled_back_to: set when a failed switch was rolled back."""
    device: str
    ok: bool
    stage: str
    build: BuildResult | None = None
    activation: ActivationResult | None = None
    error: str | None = None
    rolled_back_to: str | None = None
    duration: float | None = None           # seconds, build and activation together


def deploy_device(project_dir: Path, commit: str, device: DeployTarget, ctx=None, *,
                  ssh: SshOptions | None = None, build_args: tuple[str, ...] = ()) -> DeployOutcome:
    """Build ``device`` from project ``commit`` and activate it on its target; never raises for a failed
    build, copy or switch (the outcome says what happened), only for programming errors."""
    started = time.monotonic()
    outcome = _deploy_device(project_dir, commit, device, ctx, ssh=ssh, build_args=build_args)
    outcome.duration = time.monotonic() - started
    return outcome


def _deploy_device(project_dir: Path, commit: str, device: DeployTarget, ctx, *, ssh: SshOptions | None,
                   build_args: tuple[str, ...]) -> DeployOutcome:
    try:
        built = build(project_dir, commit, device.name, ctx, nix_args=build_args)
    except (BuildError, ValueError) as exc:
        return DeployOutcome(device.name, False, "build", error=str(exc))
    try:
        target = device.where(ssh)
        with _target_lock(device.target, device.profile, device.lock_dir):
            if device.files is not None:
                device.files.deliver(target.file_host(), Reporter(ctx))
            result = target.activate(built.store_path, ctx, profile=device.profile)
    except ActivationError as exc:
        return DeployOutcome(device.name, False, "activate", build=built, error=str(exc),
                             rolled_back_to=exc.rolled_back_to)
    except (CopyError, TargetError, ValueError) as exc:
        return DeployOutcome(device.name, False, "activate", build=built, error=str(exc))
    return DeployOutcome(device.name, True, "done", build=built, activation=result)


def deploy_many(project_dir: Path, commit: str, devices: list[DeployTarget], *, limit: int = 4,
                ctx_for: Callable[[str], object] | None = None, ssh: SshOptions | None = None,
                build_args: tuple[str, ...] = ()) -> dict[str, DeployOutcome]:
    """Deploy every device of ``devices`` with at most ``limit`` at a time.

    ctx_for(device name) gives each device its own progress/log context (e.g. a child job), or None.
    Returns {device name: DeployOutcome} in the order given; one device failing does not stop the others.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")

    def one(device: DeployTarget) -> DeployOutcome:
        ctx = ctx_for(device.name) if ctx_for else None
        processes.bind_thread(getattr(ctx, "job_id", None))  # what it starts ends with its (child) job
        try:
            return deploy_device(project_dir, commit, device, ctx, ssh=ssh, build_args=build_args)
        except Exception as exc:  # one device's surprise must not lose the others' results
            return DeployOutcome(device.name, False, "error", error=f"{type(exc).__name__}: {exc}")
        finally:
            processes.bind_thread(None)

    with ThreadPoolExecutor(max_workers=min(limit, max(len(devices), 1)),
                            thread_name_prefix="deploy") as pool:
        outcomes = list(pool.map(one, devices))
    return {outcome.device: outcome for outcome in outcomes}


def summary(outcomes: dict[str, DeployOutcome]) -> str:
    """ "2 of 3 devices deployed; failed: dev3 (activate: switch failed, rolled back to ...)" """
    ok = [name for name, o in outcomes.items() if o.ok]
    failed = [o for o in outcomes.values() if not o.ok]
    text = f"{len(ok)} of {len(outcomes)} devices deployed"
    if failed:
        text += "; failed: " + ", ".join(f"{o.device} ({o.stage}: {(o.error or '').splitlines()[0]})"
                                          for o in failed)
    return text

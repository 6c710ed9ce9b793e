"""The processes a job starts (nix build, ssh, the sandbox), so that cancelling the job ends them.

A job runs in one thread of one process; ``bind_thread`` names the job that thread works for, and the code
that starts a long-running child calls ``track(proc)`` right after starting it in a session of its own
(``start_new_session=True``), so its whole process group can be ended. The registry lives in the process
that runs the job: the job's watcher there ends the groups when it sees the job cancelled.

A worker killed with -9 cannot end anything, so the registry is also kept in a file per worker process
(``<data>/run/processes-<pid>``: process group, its start time, job id). When jobs are reaped, the groups
listed by processes that are gone are ended (if their start time still matches: never a recycled pid).
"""
from __future__ import annotations

import os
import signal
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path

_lock = threading.Lock()
_groups: dict[int, set[int]] = {}
_thread = threading.local()
_state_dir: Path | None = None


def keep_state_in(folder: Path) -> None:
    """Where this process lists its jobs' process groups (set by create_app: <data>/run)."""
    global _state_dir
    folder.mkdir(mode=0o700, exist_ok=True)
    _state_dir = folder


def _start_time(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(") ", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _save() -> None:
    """Rewrite this process's list (called with _lock held)."""
    if _state_dir is None:
        return
    path = _state_dir / f"processes-{os.getpid()}"
    lines = [f"{pid} {_start_time(pid) or '-'} {job_id}\n" for job_id, pids in _groups.items() for pid in pids]
    try:
        if lines:
            scratch = path.with_suffix(".tmp")
            scratch.write_text("".join(lines), encoding="ascii")
            os.replace(scratch, path)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass  # a full disk: cancel still works in this process, only a kill -9 leaves them behind


def bind_thread(job_id: int | None) -> None:
    """The job the calling thread works for from now on (None: no job)."""
    _thread.job_id = job_id


def current_job() -> int | None:
    return getattr(_thread, "job_id", None)


def track(proc, job_id: int | None = None) -> None:
    """Remember ``proc`` (a leader of its own process group) as a process of the current job."""
    job_id = job_id if job_id is not None else current_job()
    if job_id is None:
        return
    with _lock:
        _groups.setdefault(job_id, set()).add(proc.pid)
        _save()


def untrack(proc, job_id: int | None = None) -> None:
    job_id = job_id if job_id is not None else current_job()
    with _lock:
        _groups.get(job_id, set()).discard(proc.pid)
        if not _groups.get(job_id, True):
            del _groups[job_id]
        _save()


@contextmanager
def tracked(proc, job_id: int | None = None):
    track(proc, job_id)
    try:
        yield proc
    finally:
        untrack(proc, job_id)


def end(job_ids) -> int:
    """Kill the process groups of these jobs; returns how many were signalled."""
    with _lock:
        pids = [pid for job_id in job_ids for pid in _groups.pop(job_id, set())]
        _save()
    ended = 0
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGKILL)
            ended += 1
        except (ProcessLookupError, PermissionError):
            pass
    return ended


def tracked_pids(job_id: int) -> set[int]:
    with _lock:
        return set(_groups.get(job_id, set()))


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def end_orphans() -> int:
    """End the process groups that jobs of dead processes (on this machine) left running."""
    if _state_dir is None:
        return 0
    ended = 0
    for path in _state_dir.glob("processes-*"):
        owner = path.name.removeprefix("processes-")
        if not owner.isdigit() or pid_alive(int(owner)):
            continue
        try:
            lines = path.read_text(encoding="ascii").splitlines()
        except OSError:
            continue
        for line in lines:
            pid, started, _job = (line.split() + ["", "", ""])[:3]
            if pid.isdigit() and started != "-" and _start_time(int(pid)) == started:
                try:
                    os.killpg(int(pid), signal.SIGKILL)
                    ended += 1
                except (ProcessLookupError, PermissionError):
                    pass
        path.unlink(missing_ok=True)
    return ended


def run(args, *, timeout: float | None = None, input=None, capture_output: bool = False,
        check: bool = False, **popen) -> subprocess.CompletedProcess:
    """subprocess.run, in a session of its own and tracked as a process of the current job: cancelling the
    job ends it and what it started; a timeout ends its whole process group (then TimeoutExpired)."""
    if capture_output:
        popen.update(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with subprocess.Popen(args, start_new_session=True, **popen) as proc:
        track(proc)
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.communicate()
            raise
        finally:
            untrack(proc)
    done = subprocess.CompletedProcess(args, proc.returncode, out, err)
    if check:
        done.check_returncode()
    return done

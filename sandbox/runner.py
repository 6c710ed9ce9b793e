"""Starting one sandbox run: child.py on the sandbox interpreter, inside bubblewrap (see bwrap.py).

External repository code never runs in the web process. A run starts ``python -I -S -B -c <child.py>`` in a
fresh bubblewrap sandbox with the checkouts of that run (read-only), the SDK and the pinned environment:

* ``sys.path`` = the SDK, the pinned environment, the checkouts, the standard library. ``-I -S`` drop
  ``PYTHONPATH``, the user site and site-packages (which are also hidden under an empty tmpfs).
* environment: only ``HOME``, ``LANG`` and ``PATH`` (pointing nowhere); stdin closed; stdout and stderr are pipes
  read by the parent. The JSON result goes through a separate pipe; any byte on stdout fails the run with
  "module printed to stdout" (stderr is kept, trimmed, as details).
* limits set by the child on itself before any repository code runs: address space (``memory_mb``), CPU
  seconds, file size, open files, processes (not enforced by the kernel when the controller runs as root),
  no core dumps. The parent enforces the wall-clock ``timeout``: it kills bubblewrap, and with it every process
  of the sandbox (PID namespace).

``THYMIS_SANDBOX=unsafe-none`` runs the same child without bubblewrap: no isolation at all (trusted setups only).
Without a working bubblewrap every run fails with a :class:`SandboxError` naming the fix (fail closed).
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from sandbox import bwrap
from sandbox.config import (
    SDK_DIR,
    ConfigError,
    current,
    environment_version,
    interpreter_info,
)

__all__ = ["DEFAULT_MEMORY_MB", "DEFAULT_TIMEOUT", "SandboxError", "hide_from_sandbox", "run"]

# The controller's registry of job processes (jobs/processes.py, set by create_app): each sandbox is tracked
# as a process of the job that runs it. None outside the controller (this module needs no database).
tracker = None

_CHILD_SOURCE = (Path(__file__).with_name("child.py")).read_text(encoding="utf-8")

DEFAULT_TIMEOUT = 20.0
DEFAULT_MEMORY_MB = 512
_MAX_RESULT = 32 * 1024 * 1024
_MAX_STDOUT = 64 * 1024
_MAX_STDERR = 256 * 1024
_MAX_DETAILS = 4000
UNAVAILABLE_FIX = ("install bubblewrap (Debian: apt-get install bubblewrap) and allow unprivileged user namespaces "
                   "(sysctl kernel.unprivileged_userns_clone=1 and user.max_user_namespaces > 0; no systemd "
                   "RestrictNamespaces=/PrivateUsers= that forbids them), or set THYMIS_SANDBOX=unsafe-none to run "
                   "repository code without any isolation (trusted repositories only)")

HIDDEN_PATHS: list[Path] = []


def hide_from_sandbox(path: Path) -> None:
    """Record `path` (the controller's data folder): no sandbox run ever binds it or a folder above it. The
    checkouts below it are bound one by one."""
    path = Path(path).resolve()
    if path not in HIDDEN_PATHS:
        HIDDEN_PATHS.append(path)


class SandboxError(Exception):
    """The sandboxed run failed. ``message`` is one line; ``details`` may be longer."""

    def __init__(self, message: str, details: str = "", kind: str = "error"):
        super().__init__(message)
        self.message = message
        self.details = details
        self.kind = kind

    def __str__(self) -> str:
        return self.message + (f"\n{self.details}" if self.details else "")


def _trim(text: str, limit: int = _MAX_DETAILS) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    return "…" + text[-limit:]


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _collect(proc: subprocess.Popen, result_r: int, deadline: float) -> tuple[bytes, bytes, bytes, str | None]:
    """Read stdout, stderr and the result pipe until the sandbox ends or time runs out."""
    buffers = {"out": bytearray(), "err": bytearray(), "result": bytearray()}
    caps = {"out": _MAX_STDOUT, "err": _MAX_STDERR, "result": _MAX_RESULT}
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, "out")
    sel.register(proc.stderr, selectors.EVENT_READ, "err")
    sel.register(result_r, selectors.EVENT_READ, "result")
    problem = None
    exited_at = None
    try:
        while sel.get_map():
            now = time.monotonic()
            if now >= deadline:
                problem = "timeout"
                break
            if exited_at is None and proc.poll() is not None:
                exited_at = now
                _kill_group(proc)
            if exited_at is not None and now - exited_at > 1.0:
                break
            for key, _ in sel.select(timeout=min(0.2, max(0.0, deadline - now))):
                fd = key.fd if isinstance(key.fileobj, int) else key.fileobj.fileno()
                chunk = os.read(fd, 65536)
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                name = key.data
                if len(buffers[name]) < caps[name]:
                    buffers[name] += chunk[: caps[name] - len(buffers[name])]
                elif name == "result":
                    problem = "too-large"
                    break
            if problem:
                break
    finally:
        sel.close()
    return bytes(buffers["out"]), bytes(buffers["err"]), bytes(buffers["result"]), problem


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _check_binds(checkouts: list[Path]) -> None:
    for checkout in checkouts:
        for hidden in HIDDEN_PATHS:
            if checkout == hidden or hidden.is_relative_to(checkout):
                raise SandboxError(f"refusing to bind {checkout} into the sandbox: it holds the data folder")


def _environment(config) -> Path:
    env_dir = config.environment
    if not env_dir.is_dir():
        raise SandboxError(f"the sandbox's Python environment {env_dir} is missing: run scripts/setup.sh "
                           "(or set THYMIS_SANDBOX_ENV)", kind="unavailable")
    return env_dir


def _prepare(config, checkouts: list[Path], tmp: Path, request: dict) -> tuple[list[str], dict]:
    """The argv and the request as the child sees it (paths inside the sandbox, or host paths)."""
    try:
        info = interpreter_info(config.interpreter())
    except ConfigError as e:
        raise SandboxError(str(e), kind="unavailable") from None
    env_dir = _environment(config)
    built_for = environment_version(env_dir)
    if built_for and not info.version.startswith(built_for + "."):
        raise SandboxError(f"the sandbox's Python environment {env_dir} was built for Python {built_for}, the "
                           f"sandbox runs {info.version}: run scripts/setup.sh again", kind="unavailable")
    request_file = tmp / "request.json"
    if config.mode == "unsafe-none":
        sdk_parent = tmp / "sdk"
        sdk_parent.mkdir()
        (sdk_parent / SDK_DIR.name).symlink_to(SDK_DIR, target_is_directory=True)
        home = tmp / "home"
        home.mkdir()
        request.update(roots=[str(c) for c in checkouts], sdk_dir=str(sdk_parent), env_dir=str(env_dir),
                       workdir=str(home))
        _write(request_file, request)
        return [info.executable, "-I", "-S", "-B", "-c", _CHILD_SOURCE, str(request_file)], {"cwd": home}
    program = bwrap.bwrap_path()
    if program is None:
        raise SandboxError("bubblewrap (bwrap) is not installed: " + UNAVAILABLE_FIX, kind="unavailable")
    request.update(roots=[f"{bwrap.CHECKOUTS}/{n}" for n in range(len(checkouts))], sdk_dir=bwrap.SDK_PARENT,
                   env_dir=bwrap.ENV, workdir="/tmp")
    _write(request_file, request)
    argv = bwrap.command(bwrap=program, info=info, sdk_dir=SDK_DIR, env_dir=env_dir, checkouts=checkouts,
                         request_file=request_file, python_args=["-I", "-S", "-B", "-c", _CHILD_SOURCE, bwrap.REQUEST])
    return argv, {"cwd": tmp}


def _write(path: Path, request: dict) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(request, f)


def run(operation: str, payload: dict, checkouts: list[Path], *, timeout: float, memory_mb: int,
        config=None) -> object:
    """One sandbox run of ``operation`` with ``checkouts`` bound read-only; the child's result."""
    config = config or current()
    checkouts = [Path(c).resolve() for c in checkouts]
    _check_binds(checkouts)
    tmp = Path(tempfile.mkdtemp(prefix="thymis-sandbox-"))
    result_r = result_w = -1
    try:
        result_r, result_w = os.pipe()
        request = dict(payload, operation=operation, result_fd=result_w, limits={
            "memory_bytes": int(memory_mb) * 1024 * 1024,
            "cpu_seconds": int(timeout) + 2,
            "file_bytes": 16 * 1024 * 1024,
            "open_files": 256,
            "processes": 64,
        })
        argv, extra = _prepare(config, checkouts, tmp, request)
        env = {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8"}
        if config.mode == "unsafe-none":
            env["HOME"] = str(extra["cwd"])
        deadline = time.monotonic() + timeout
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env, pass_fds=(result_w,), start_new_session=True, close_fds=True, **extra)
        os.close(result_w)
        result_w = -1
        if tracker is not None:
            tracker.track(proc)  # cancelling the job ends the sandbox and everything in it
        try:
            out, err, result, problem = _collect(proc, result_r, deadline)
        finally:
            if tracker is not None:
                tracker.untrack(proc)
            _kill_group(proc)
            proc.stdout.close()
            proc.stderr.close()
            proc.wait()
        return _interpret(proc.returncode, out, err, result, problem, timeout, memory_mb)
    finally:
        for fd in (result_r, result_w):
            if fd >= 0:
                os.close(fd)
        shutil.rmtree(tmp, ignore_errors=True)


def _interpret(returncode, out: bytes, err: bytes, result: bytes, problem, timeout, memory_mb):
    stderr = _trim(err.decode("utf-8", "replace"))
    if problem == "timeout":
        raise SandboxError(f"timed out after {timeout:g} s (the sandbox was killed)", stderr, "timeout")
    if problem == "too-large":
        raise SandboxError("the sandbox's output is too large", stderr, "output")
    if out:
        snippet = out[:200].decode("utf-8", "replace").strip()
        raise SandboxError(f"module printed to stdout: {snippet!r}", stderr, "stdout")
    parsed = None
    if result:
        try:
            parsed = json.loads(result)
        except ValueError:
            raise SandboxError("the sandbox's output is not JSON", stderr, "output") from None
    if not isinstance(parsed, dict) or "ok" not in parsed:
        if not result and stderr.startswith("bwrap:"):
            reason = stderr.splitlines()[0].removeprefix("bwrap:").strip()
            fix = ("the controller's user must be able to read the interpreter, the SDK, the sandbox environment "
                   "and the checkouts" if reason.startswith("Can't find source path") else UNAVAILABLE_FIX)
            raise SandboxError(f"the sandbox cannot start ({reason}): {fix}", kind="unavailable")
        if returncode is not None and returncode < 0:
            name = _signal_name(-returncode)
            hint = " (CPU time limit)" if -returncode == signal.SIGXCPU else ""
            raise SandboxError(f"sandbox was killed by {name}{hint}", stderr, "signal")
        if returncode:
            if returncode > 128 and returncode - 128 in signal.Signals._value2member_map_:
                name = _signal_name(returncode - 128)
                hint = " (CPU time limit)" if returncode - 128 == signal.SIGXCPU else ""
                raise SandboxError(f"sandbox was killed by {name}{hint}", stderr, "signal")
            raise SandboxError(f"sandbox exited with code {returncode}", stderr, "exit")
        raise SandboxError("the sandbox's output is not JSON" if result else "the sandbox produced no result", stderr,
                           "output")
    if not parsed["ok"]:
        error = parsed.get("error") if isinstance(parsed.get("error"), dict) else {}
        kind = str(error.get("kind", "error"))
        message = str(error.get("message", "failed"))[:2000]
        if kind == "memory":
            message = f"{message} (memory limit {memory_mb} MiB)"
        details = "\n".join(p for p in (_trim(str(error.get("traceback") or "")), stderr) if p)
        raise SandboxError(message, details, kind)
    if returncode:
        raise SandboxError(f"sandbox exited with code {returncode}", stderr, "exit")
    return parsed.get("result")

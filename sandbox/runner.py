"""Running external module code in a separate, limited Python process.

External repository code never runs in the web process. :func:`discover` and
:func:`render` start ``python -I -S -B -c <child.py>`` with:

* ``sys.path`` = the checkout folder(s) + a temporary folder holding only a link
  to the SDK package ``thymis_controller`` + the standard library. ``-I -S``
  drop ``PYTHONPATH``, the user site and site-packages (and so the editable
  install of the web app), so the child cannot import ``models``, ``pipeline``,
  Flask, ... - only the standard library, the SDK and the repository itself.
* environment: only ``PATH``, ``LANG`` and ``HOME`` (a fresh temporary folder,
  also the working directory); no ``THYMIS_*`` variables, no secrets, no DB.
* stdin closed; stdout and stderr are pipes read by the parent. The JSON result
  goes through a separate pipe; any byte on stdout fails the run with
  "module printed to stdout" (stderr is kept, trimmed, as details).
* limits set by the child on itself before any repository code runs:
  address space (``memory_mb``), CPU seconds, file size, open files, no core
  dumps. The parent enforces the wall-clock ``timeout`` and kills the whole
  process group (``start_new_session``) when it expires, and after every run.
* network: the child moves itself into a new, empty network namespace before
  any repository code runs (best effort: needs root or unprivileged user
  namespaces; :func:`probe` reports ``"network"``).
* when the parent runs as root, the child runs as ``nobody``/``nogroup`` with no
  supplementary groups (and a process limit), if the interpreter, the SDK and
  the checkouts are readable by that user; otherwise it stays root and
  :func:`isolation` says why. Run the controller as an unprivileged user: then
  the child has that user's rights, which is the limit of this sandbox.

Any failure raises :class:`SandboxError` with a one-line ``message`` and
``details`` (trimmed traceback / stderr); the parent is never affected.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sandbox.module_json import MalformedResult, clean_module
from sandbox.user import SDK_DIR, Isolation, isolation, python_for
from thymis_controller.modules.builtin_modules import builtin_module_types

__all__ = ["SandboxError", "discover", "render", "probe", "isolation", "Isolation", "SDK_DIR"]

_CHILD_SOURCE = (Path(__file__).with_name("child.py")).read_text(encoding="utf-8")

DEFAULT_TIMEOUT = 20.0
DEFAULT_MEMORY_MB = 512
_MAX_RESULT = 32 * 1024 * 1024
_MAX_STDOUT = 64 * 1024
_MAX_STDERR = 256 * 1024
_MAX_DETAILS = 4000


HIDDEN_PATHS: list[Path] = []


def hide_from_sandbox(path: Path) -> None:
    """Cover `path` (the controller's data folder) with an empty tmpfs inside every sandbox: repository code must
    not read the database, the session key or the credentials' keys. The checkouts it needs stay visible."""
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


def _checked(fn, *args):
    try:
        return fn(*args)
    except MalformedResult as e:
        raise SandboxError(str(e), kind="output") from None


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
    """Read stdout, stderr and the result pipe until the child ends or time runs out."""
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
                _kill_group(proc)  # stray grandchildren keep pipes open otherwise
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


def _run(
    operation: str,
    payload: dict,
    checkouts: list[Path],
    *,
    timeout: float,
    memory_mb: int,
    python: str | None,
) -> object:
    checkouts = [Path(c).resolve() for c in checkouts]
    iso = isolation(checkouts, python)
    tmp = Path(tempfile.mkdtemp(prefix="thymis-sandbox-"))
    result_r = result_w = -1
    try:
        sdk_parent = tmp / "sdk"
        home = tmp / "home"
        sdk_parent.mkdir()
        home.mkdir()
        (sdk_parent / "thymis_controller").symlink_to(SDK_DIR, target_is_directory=True)
        result_r, result_w = os.pipe()
        request = dict(payload)
        request.update(
            operation=operation,
            result_fd=result_w,
            checkouts=[str(c) for c in checkouts],
            hide=[str(p) for p in HIDDEN_PATHS],
            sdk_dir=str(sdk_parent),
            limits={
                "memory_bytes": int(memory_mb) * 1024 * 1024,
                "cpu_seconds": int(timeout) + 2,
                "file_bytes": 64 * 1024 * 1024,
                "open_files": 256,
                "processes": 64 if iso.uid is not None else 0,
            },
        )
        request_file = tmp / "request.json"
        fd = os.open(request_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(request, f)
        if iso.uid is not None:  # the child needs: tmp (search), sdk/, home/, request.json
            os.chmod(tmp, 0o711)
            os.chown(home, iso.uid, iso.gid)
            os.chown(request_file, iso.uid, iso.gid)
        env = {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8", "HOME": str(home)}
        extra = {"user": iso.uid, "group": iso.gid, "extra_groups": []} if iso.uid is not None else {}
        deadline = time.monotonic() + timeout
        proc = subprocess.Popen(
            [python_for(python), "-I", "-S", "-B", "-c", _CHILD_SOURCE, str(request_file)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=home,
            env=env,
            pass_fds=(result_w,),
            start_new_session=True,
            close_fds=True,
            **extra,
        )
        os.close(result_w)
        result_w = -1
        try:
            out, err, result, problem = _collect(proc, result_r, deadline)
        finally:
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
        if returncode is not None and returncode < 0:
            name = _signal_name(-returncode)
            hint = " (CPU time limit)" if -returncode == signal.SIGXCPU else ""
            raise SandboxError(f"sandbox was killed by {name}{hint}", stderr, "signal")
        if returncode:
            raise SandboxError(f"sandbox exited with code {returncode}", stderr, "exit")
        raise SandboxError("the sandbox's output is not JSON" if result else "the sandbox produced no result", stderr, "output")
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


# --- operations -----------------------------------------------------------------

def discover(
    checkout: Path,
    packages: list[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
    python: str | None = None,
) -> list[dict]:
    """Import each package of ``checkout`` in the sandbox and describe its modules.

    Returns one JSON description per ``Module`` subclass defined in those
    packages (see ``thymis_controller.schema.describe_module``), plus
    ``"package"``. Raises :class:`SandboxError`.
    """
    for p in packages:
        if not p.isidentifier():
            raise SandboxError(f"`{p}` is not a Python package name")
        if p in sys.stdlib_module_names or p == SDK_DIR.name:
            # the child would import the standard library's / the SDK's module instead
            raise SandboxError(f"package `{p}` cannot be imported under its name (it shadows `{p}`)")
    if not packages:
        return []
    result = _run("discover", {"packages": list(packages)}, [Path(checkout)], timeout=timeout, memory_mb=memory_mb, python=python)
    if not isinstance(result, list):
        raise SandboxError("the sandbox returned a malformed result")
    return [_checked(clean_module, m, list(packages)) for m in result]


def render(
    checkout_paths: list[Path],
    requests: list[dict],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
    python: str | None = None,
) -> list[str]:
    """Run ``write_nix_settings`` for each request and return the Nix texts, in order.

    A request is ``{"module_type": str, "settings": dict, "priority": int,
    "path": str}``; ``path`` (optional, relative, e.g. ``"hosts/sensor-01"``)
    names the folder passed to the module as ``path`` - a fresh folder below
    ``project.path / "repository"`` inside the sandbox's temporary directory
    (files written there are discarded). ``project`` is a
    ``thymis_controller.project.Project`` pointing at that temporary project.
    ``module_type`` must be a built-in module or live in a top-level package of
    one of ``checkout_paths``.
    """
    checkout_paths = [Path(c) for c in checkout_paths]
    builtin = builtin_module_types()
    clean = []
    for item in requests:
        module_type = item.get("module_type") if isinstance(item, dict) else None
        if not isinstance(module_type, str) or "." not in module_type:
            raise SandboxError(f"invalid module type {module_type!r}")
        top = module_type.split(".", 1)[0]
        if module_type not in builtin and not (
            top.isidentifier() and any((c / top / "__init__.py").is_file() for c in checkout_paths)
        ):
            raise SandboxError(f"unknown module type `{module_type}`")
        settings = item.get("settings") or {}
        priority = item.get("priority", 100)
        path = str(item.get("path") or "module")
        if not isinstance(settings, dict):
            raise SandboxError(f"settings of `{module_type}` must be an object")
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise SandboxError(f"priority of `{module_type}` must be an integer")
        if path.startswith("/") or ".." in Path(path).parts:
            raise SandboxError(f"invalid path {path!r} for `{module_type}`")
        clean.append({"module_type": module_type, "settings": settings, "priority": priority, "path": path})
    if not clean:
        return []
    result = _run("render", {"requests": clean}, checkout_paths, timeout=timeout, memory_mb=memory_mb, python=python)
    if not isinstance(result, list) or len(result) != len(clean) or not all(isinstance(t, str) for t in result):
        raise SandboxError("the sandbox returned a malformed result")
    return result


def probe(checkouts: list[Path] = (), *, python: str | None = None, timeout: float = 10.0) -> dict:
    """Start the sandbox without running repository code and report what it looks
    like inside: ``{"uid", "gid", "path", "network"}`` (uid/gid as seen in the
    child; ``network`` is ``"isolated"`` or ``"not isolated: <why>"``)."""
    return _run("probe", {}, list(checkouts), timeout=timeout, memory_mb=DEFAULT_MEMORY_MB, python=python)

"""Running external module code in a separate, limited Python process.

External repository code never runs in the web process. :func:`discover` and
:func:`render` start ``python -I -S -B -c <sandbox_child.py>`` with:

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
import pwd
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import thymis_controller
from thymis_controller.modules.builtin_modules import builtin_module_types

__all__ = ["SandboxError", "discover", "render", "probe", "isolation", "Isolation", "SDK_DIR"]

SDK_DIR = Path(thymis_controller.__file__).resolve().parent
_CHILD_SOURCE = (Path(__file__).with_name("sandbox_child.py")).read_text(encoding="utf-8")

DEFAULT_TIMEOUT = 20.0
DEFAULT_MEMORY_MB = 512
SANDBOX_USER = "nobody"
_MAX_RESULT = 32 * 1024 * 1024
_MAX_STDOUT = 64 * 1024
_MAX_STDERR = 256 * 1024
_MAX_DETAILS = 4000


class SandboxError(Exception):
    """The sandboxed run failed. ``message`` is one line; ``details`` may be longer."""

    def __init__(self, message: str, details: str = "", kind: str = "error"):
        super().__init__(message)
        self.message = message
        self.details = details
        self.kind = kind

    def __str__(self) -> str:
        return self.message + (f"\n{self.details}" if self.details else "")


@dataclass(frozen=True)
class Isolation:
    """Whom the child runs as: ``uid``/``gid`` to switch to (None: stay) and why."""

    uid: int | None
    gid: int | None
    reason: str


def _python(python: str | None) -> str:
    return os.path.realpath(python or sys.executable)


def _reachable_by_other(path: Path, need_read: bool) -> bool:
    """Whether a user that is neither owner nor group could reach ``path``."""
    path = Path(os.path.abspath(path))
    for parent in list(reversed(path.parents)):
        if not os.stat(parent).st_mode & stat.S_IXOTH:
            return False
    mode = os.stat(path).st_mode
    if stat.S_ISDIR(mode):
        return bool(mode & stat.S_IXOTH) and (not need_read or bool(mode & stat.S_IROTH))
    return bool(mode & stat.S_IROTH) or not need_read


def isolation(checkouts: list[Path], python: str | None = None) -> Isolation:
    """Decide whether the child drops to ``nobody`` (only when we are root)."""
    if os.geteuid() != 0:
        return Isolation(None, None, f"runs as the controller's user (uid {os.geteuid()})")
    try:
        user = pwd.getpwnam(SANDBOX_USER)
    except KeyError:
        return Isolation(None, None, f"stays root: there is no user {SANDBOX_USER!r}")
    interpreter = Path(_python(python))
    stdlib = interpreter.parent.parent / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    if not stdlib.is_dir():
        stdlib = Path(os.__file__).resolve().parent
    needed = [(interpreter, False), (stdlib, True), (SDK_DIR, True)] + [(Path(c), True) for c in checkouts]
    for path, need_read in needed:
        try:
            ok = _reachable_by_other(path, need_read)
        except OSError:
            ok = False
        if not ok:
            return Isolation(None, None, f"stays root: {path} is not readable by {SANDBOX_USER}")
    return Isolation(user.pw_uid, user.pw_gid, f"runs as {SANDBOX_USER} (uid {user.pw_uid})")


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
            [_python(python), "-I", "-S", "-B", "-c", _CHILD_SOURCE, str(request_file)],
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


# --- results are data from untrusted code: check their shape --------------------

def _str_or_none(value, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) else None


def _clean_setting(entry: dict) -> dict:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise SandboxError("the sandbox returned a malformed setting description")
    clean = {
        "name": entry["name"][:200],
        "display_name": _str_or_none(entry.get("display_name"), 200) or entry["name"][:200],
        "type": _str_or_none(entry.get("type"), 50) or "unknown",
        "description": _str_or_none(entry.get("description"), 4000),
        "default": entry.get("default"),
        "example": _str_or_none(entry.get("example"), 4000),
        "nix_attr_name": _str_or_none(entry.get("nix_attr_name"), 500),
        "order": entry.get("order") if isinstance(entry.get("order"), int) else 0,
    }
    if clean["type"] == "select-one":
        clean["options"] = [
            {"label": str(o.get("label"))[:200], "value": o.get("value")}
            for o in entry.get("options") or []
            if isinstance(o, dict)
        ]
    elif clean["type"] == "list":
        clean["element_name"] = _str_or_none(entry.get("element_name"), 200)
        clean["settings"] = [_clean_setting(s) for s in entry.get("settings") or []]
    elif clean["type"] == "textarea-code":
        clean["language"] = _str_or_none(entry.get("language"), 50)
    return clean


def _clean_module(entry, packages: list[str]) -> dict:
    from thymis_controller.schema import MAX_ICON_CHARS

    if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
        raise SandboxError("the sandbox returned a malformed module description")
    module_type = entry["type"]
    if not any(module_type.startswith(p + ".") for p in packages):
        raise SandboxError(f"the sandbox reported module `{module_type[:200]}` outside the repository's packages")
    icons = {}
    for key in ("icon", "icon_dark"):
        value = entry.get(key)
        ok = isinstance(value, str) and value.startswith("data:image/") and len(value) <= MAX_ICON_CHARS
        icons[key] = value if ok else None
    return {
        "type": module_type[:300],
        "display_name": _str_or_none(entry.get("display_name"), 200) or module_type.rsplit(".", 1)[-1],
        "description": _str_or_none(entry.get("description"), 4000),
        "category": _str_or_none(entry.get("category"), 100),
        **icons,
        "api": "2024" if entry.get("api") == "2024" else "current",
        "package": next(p for p in packages if module_type.startswith(p + ".")),
        "settings": [_clean_setting(s) for s in entry.get("settings") or []],
    }


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
    return [_clean_module(m, list(packages)) for m in result]


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

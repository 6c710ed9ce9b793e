"""The program that runs inside the sandbox interpreter (see runner.py).

It is passed to ``python -I -S -B -c`` as source text, with one argument: the
path of the request file. It lowers its own resource limits before touching any
repository code, puts the SDK, the pinned environment and the checkouts on ``sys.path``,
runs the operation, and writes one JSON object to the result file descriptor:
``{"ok": true, "result": ...}`` or ``{"ok": false, "error": {...}}``.
Nothing is printed to stdout; anything found there was printed by a module.
This file must not import anything outside the standard library and the SDK.
"""

import importlib
import json
import os
import pkgutil
import resource
import sys
import traceback


def set_limits(limits):
    def lower(kind, value):
        _soft, hard = resource.getrlimit(kind)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(kind, (value, value))

    lower(resource.RLIMIT_AS, limits["memory_bytes"])
    lower(resource.RLIMIT_CPU, limits["cpu_seconds"])
    lower(resource.RLIMIT_CORE, 0)
    lower(resource.RLIMIT_FSIZE, limits["file_bytes"])
    lower(resource.RLIMIT_NOFILE, limits["open_files"])
    if limits.get("processes"):
        lower(resource.RLIMIT_NPROC, limits["processes"])


class StepFailure(Exception):
    def __init__(self, kind, message, where=None, traceback=""):
        super().__init__(message)
        self.kind = kind
        self.where = where
        self.traceback = traceback


def _relative(filename, roots):
    for root in roots:
        prefix = root.rstrip("/") + "/"
        if filename.startswith(prefix):
            return filename[len(prefix):]
    return filename


def describe_exception(exc, roots, sdk_dir):
    """A short account of an exception: the frames in repository code, relative paths."""
    frames = traceback.extract_tb(exc.__traceback__)
    in_repo = [fr for fr in frames if any(fr.filename.startswith(r.rstrip("/") + "/") for r in roots)]
    shown = (in_repo or [fr for fr in frames if not fr.filename.startswith(sdk_dir)] or frames)[-6:]
    lines = [
        f'  File "{_relative(fr.filename, roots)}", line {fr.lineno}, in {fr.name}'
        + (f"\n    {fr.line.strip()}" if fr.line else "")
        for fr in shown
    ]
    where = None
    if in_repo:
        where = {"file": _relative(in_repo[-1].filename, roots), "line": in_repo[-1].lineno}
    if isinstance(exc, SyntaxError) and exc.filename:
        where = {"file": _relative(exc.filename, roots), "line": exc.lineno}
        lines.append(f'  File "{where["file"]}", line {exc.lineno}'
                     + (f"\n    {(exc.text or '').strip()}" if exc.text else ""))
    summary = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    if isinstance(exc, SyntaxError):
        summary = f"{type(exc).__name__}: {exc.msg}"
    return summary[:2000], "\n".join(lines)[:6000], where


def _fail_from(exc, doing, roots, sdk_dir):
    if isinstance(exc, MemoryError):
        return {"kind": "memory", "message": f"ran out of memory while {doing}"}
    if isinstance(exc, SystemExit):
        return {"kind": "exit", "message": f"a module called sys.exit({exc.code!r}) while {doing}"}
    summary, tb, where = describe_exception(exc, roots, sdk_dir)
    place = f" ({where['file']}, line {where['line']})" if where else ""
    return {
        "kind": "exception",
        "message": f"{doing} failed{place}: {summary}",
        "traceback": "Traceback (most recent call last, repository frames):\n" + tb if tb else "",
        "where": where,
    }


def discover(request, roots, sdk_dir):
    from thymis_controller.modules.modules import Module
    from thymis_controller.schema import describe_module, display_name_of

    found = []
    seen = set()
    for package in request["packages"]:
        doing = f"importing `{package}`"
        try:
            pkg = importlib.import_module(package)
            names = [package]
            errors = []
            if hasattr(pkg, "__path__"):
                for info in pkgutil.walk_packages(pkg.__path__, package + ".", onerror=errors.append):
                    names.append(info.name)
                if errors:
                    doing = f"importing `{errors[0]}`"
                    importlib.import_module(errors[0])  # re-raise the real error
            for name in sorted(set(names)):
                doing = f"importing `{name}`"
                mod = importlib.import_module(name)
                for attr in sorted(vars(mod)):
                    cls = vars(mod)[attr]
                    if not isinstance(cls, type) or not issubclass(cls, Module) or cls is Module:
                        continue
                    if not (cls.__module__ == package or cls.__module__.startswith(package + ".")):
                        continue  # imported from elsewhere (the SDK, another package)
                    if cls in seen or display_name_of(cls) is None:
                        continue  # already seen, or an abstract helper without a display name
                    seen.add(cls)
                    doing = f"instantiating `{cls.__module__}.{cls.__name__}`"
                    instance = cls()
                    doing = f"describing `{cls.__module__}.{cls.__name__}`"
                    entry = describe_module(instance)
                    entry["package"] = package
                    found.append(entry)
        except BaseException as exc:  # everything is reported to the parent
            raise StepFailure(**_fail_from(exc, doing, roots, sdk_dir)) from None
    found.sort(key=lambda m: m["type"])
    return found


def render(request, roots, sdk_dir, workdir):
    import pathlib

    from thymis_controller.project import Project
    from thymis_controller.render import render_module

    project = Project(pathlib.Path(workdir) / "project")
    outputs = []
    for item in request["requests"]:
        module_type = item["module_type"]
        doing = f"loading `{module_type}`"
        try:
            module_name, _, class_name = module_type.rpartition(".")
            cls = getattr(importlib.import_module(module_name), class_name)
            doing = f"rendering `{module_type}`"
            path = project.repo_dir / item.get("path", "module")
            path.mkdir(parents=True, exist_ok=True)
            text = render_module(cls(), item.get("settings") or {}, item.get("priority", 100), path, project)
            if not isinstance(text, str):
                raise TypeError("write_nix_settings produced no text")
            outputs.append(text)
        except BaseException as exc:
            raise StepFailure(**_fail_from(exc, doing, roots, sdk_dir)) from None
    return outputs


def probe():
    status = {}
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            status = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    except OSError:
        pass
    return {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "path": sys.path,
            "version": ".".join(map(str, sys.version_info[:3])), "pid": os.getpid(), "ppid": os.getppid(),
            "capabilities": status.get("CapEff", ""), "no_new_privs": status.get("NoNewPrivs", "")}


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        request = json.load(f)
    result_fd = request["result_fd"]
    sdk_dir = request["sdk_dir"]
    sys.dont_write_bytecode = True
    roots = request["roots"]
    os.chdir(request["workdir"])
    # The SDK first (a checkout cannot shadow it), then the pinned packages, then the repository's checkout.
    sys.path[:0] = [sdk_dir, request["env_dir"]] + roots
    set_limits(request["limits"])
    # Load the SDK (and its built-in modules) from its own bytecode cache, then
    # point the cache somewhere empty: a repository's committed __pycache__ files
    # could otherwise run code that differs from the source shown to the operator.
    import thymis_controller.modules.builtin_modules
    import thymis_controller.render
    import thymis_controller.schema  # noqa: F401 - loaded for its bytecode, see above

    sys.pycache_prefix = os.path.join(os.getcwd(), ".pycache-unused")
    try:
        if request["operation"] == "discover":
            out = {"ok": True, "result": discover(request, roots, sdk_dir)}
        elif request["operation"] == "render":
            out = {"ok": True, "result": render(request, roots, sdk_dir, os.getcwd())}
        elif request["operation"] == "probe":
            out = {"ok": True, "result": probe()}
        else:
            out = {"ok": False, "error": {"kind": "internal", "message": "unknown operation"}}
    except StepFailure as e:
        out = {"ok": False, "error": {"kind": e.kind, "message": str(e), "traceback": e.traceback, "where": e.where}}
    except MemoryError:
        out = {"ok": False, "error": {"kind": "memory", "message": "ran out of memory"}}
    try:
        data = json.dumps(out).encode("utf-8")
    except (TypeError, ValueError) as e:
        data = json.dumps({"ok": False, "error": {"kind": "internal", "message": f"result is not JSON: {e}"}}).encode()
    view = memoryview(data)
    while view:
        view = view[os.write(result_fd, view):]
    os.close(result_fd)
    for stream in (sys.stdout, sys.__stdout__, sys.stderr, sys.__stderr__):
        try:
            stream.flush()
        except Exception:  # a module may have replaced or closed a stream
            pass
    os._exit(0)


if __name__ == "__main__":
    main()

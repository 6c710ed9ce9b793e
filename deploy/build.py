"""Building a device's system from one committed revision of the project flake.

``build`` runs ``nix build --json --log-format internal-json --no-link --no-update-lock-file
'git+file://<project>?rev=<commit>#nixosConfigurations.<device>.config.system.build.toplevel'``: the
committed tree and its flake.lock, never uncommitted files. Progress (derivations done/expected) and
every log line go to the job context; the whole readable log is kept in the result or the error.
Remote builders configured for Nix (nix.conf, NIX_CONFIG) are used as Nix decides.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import nixcli
from deploy.flake import project_url
from deploy.nixlog import NixLog, Reporter
from jobs import processes
from thymis_controller.nix.text import NAME_PATTERN, attr_path_fragment

MODULE_FILE = re.compile(r"(?:^|/)(hosts|tags)/([A-Za-z_][A-Za-z0-9_-]*)/([A-Za-z_][A-Za-z0-9_.]*)\.nix"
                         r"(?::(\d+)(?::(\d+))?)?")
OPTION = re.compile(r"option [`']([^`']+)'")


@dataclass
class BuildResult:
    """store_path: the system's toplevel; drv_path: its derivation; duration in seconds; log: readable."""
    device: str
    commit: str
    store_path: str
    drv_path: str
    duration: float
    log: str


@dataclass
class ModuleLocation:
    """A generated module file an error message names: kind 'device' or 'tag', owner its name."""
    kind: str
    owner: str
    module_type: str
    path: str
    line: int | None = None

    def describe(self) -> str:
        where = f"{self.path}, line {self.line}" if self.line else self.path
        return f"module {self.module_type} on {self.kind} {self.owner} ({where})"


class BuildError(Exception):
    """The build failed. str(): nix's error, followed by the modules it points at.

    locations: the module files named by the error; option: the option named, if any; log: the whole log.
    """

    def __init__(self, message: str, *, log: str = "", locations: list[ModuleLocation] | None = None,
                 option: str | None = None, duration: float = 0.0):
        super().__init__(message)
        self.log = log
        self.locations = locations or []
        self.option = option
        self.duration = duration


def toplevel_ref(project_dir: Path, commit: str, device: str) -> str:
    return (project_url(project_dir, commit) + "#"
            + attr_path_fragment("nixosConfigurations", device, "config", "system", "build", "toplevel"))


def locate(text: str, file: str | None = None, line: int | None = None) -> list[ModuleLocation]:
    """The generated module files named in an error (hosts/<device>/<type>.nix, tags/<tag>/<type>.nix)."""
    found: dict[str, ModuleLocation] = {}
    candidates = [(file, line)] if file else []
    candidates += [(m.group(0), None) for m in MODULE_FILE.finditer(text)]
    for candidate, known_line in candidates:
        match = MODULE_FILE.search(candidate or "")
        if not match:
            continue
        top, owner, module_type, line_text = match.group(1), match.group(2), match.group(3), match.group(4)
        path = f"{top}/{owner}/{module_type}.nix"
        the_line = known_line or (int(line_text) if line_text else None)
        if path not in found or (found[path].line is None and the_line):
            found[path] = ModuleLocation("device" if top == "hosts" else "tag", owner, module_type, path, the_line)
    return list(found.values())


def _error_from(log: NixLog, device: str, returncode: int, duration: float) -> BuildError:
    fetch = nixcli.fetch_failure("\n".join(error.message for error in log.errors))
    if fetch:
        return BuildError(f"build of device {device} failed: {fetch}", log=log.text, duration=duration)
    if log.errors:
        first = log.errors[0]
        text = first.message
        if first.file and first.line:
            text += f"\n  at {first.file}:{first.line}" + (f":{first.column}" if first.column else "")
        locations = []
        for error in log.errors:
            locations += locate(error.message, error.file, error.line)
        option_match = OPTION.search(first.message)
    else:
        text = f"nix build exited with status {returncode}"
        locations, option_match = [], None
    lines = [f"build of device {device} failed: {text}"]
    lines += [f"  in {location.describe()}" for location in locations]
    if option_match:
        lines.append(f"  setting: {option_match.group(1)}")
    return BuildError("\n".join(lines), log=log.text, locations=locations,
                      option=option_match.group(1) if option_match else None, duration=duration)


def build(project_dir: Path, commit: str, device: str, ctx=None, *, nix_args: tuple[str, ...] = (),
          timeout: float | None = None) -> BuildResult:
    """Build ``nixosConfigurations.<device>`` of project commit ``commit``.

    ctx: any object with ``progress(phase, done, total)`` and ``log(line)`` (e.g. jobs.context.JobContext),
    or None. Phases reported: "evaluating", then "building" (derivations done/expected).
    nix_args: extra arguments for ``nix build`` (e.g. ``("--max-jobs", "0")``). timeout: seconds, then the
    build is stopped. Raises BuildError (nix's message, the module files it names) or ValueError.
    """
    if not NAME_PATTERN.match(device):
        raise ValueError(f"not a device name: {device!r}")
    if not re.fullmatch(r"[0-9a-f]{40}", commit or ""):
        raise ValueError(f"not a full commit id: {commit!r}")
    reporter = Reporter(ctx)
    log = NixLog(reporter)
    ref = toplevel_ref(project_dir, commit, device)
    command = nixcli.nix("build", "--json", "--no-link", "--log-format", "internal-json", "--no-update-lock-file",
                         *nix_args, ref)
    reporter.log(f"nix build {ref}")
    reporter.progress("evaluating", 0, 0, final=True)
    started = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            text=True, errors="replace", start_new_session=True)
    processes.track(proc)  # cancelling the job ends nix and its builders
    stdout: list[str] = []
    reader = threading.Thread(target=lambda: stdout.append(proc.stdout.read()), daemon=True)
    reader.start()
    timer = None
    if timeout:
        timer = threading.Timer(timeout, _kill_group, args=(proc,))
        timer.start()
    try:
        for line in proc.stderr:
            log.feed(line)
        returncode = proc.wait()
    finally:
        if timer:
            timer.cancel()
        if proc.poll() is None:
            _kill_group(proc)
            proc.wait()
        processes.untrack(proc)
    reader.join()
    duration = time.monotonic() - started
    if returncode != 0:
        if timeout and returncode < 0:
            raise BuildError(f"build of device {device} stopped after {timeout:g} s", log=log.text,
                             duration=duration)
        raise _error_from(log, device, returncode, duration)
    try:
        result = json.loads("".join(stdout))[0]
        store_path, drv_path = result["outputs"]["out"], result["drvPath"]
    except (ValueError, LookupError, TypeError) as exc:
        raise BuildError(f"build of device {device}: unexpected output from nix build: {''.join(stdout)[:500]!r}",
                         log=log.text, duration=duration) from exc
    total = log.total.get("building", 0)
    reporter.progress("building", total, total, final=True)
    reporter.log(f"built {store_path}" if total else f"{store_path} was already built")
    return BuildResult(device=device, commit=commit, store_path=store_path, drv_path=drv_path,
                       duration=duration, log=log.text)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass

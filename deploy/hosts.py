"""How commands reach a machine: this one, or a device over SSH (which target is which: deploy.targets).

Both run POSIX shell scripts (``run``) and make a store path available there (``copy_closure``:
nothing to do locally, ``nix copy --to ssh://...`` for a device). SSH never prompts: BatchMode, a
connect timeout, only the given key, only the given known-hosts file.
"""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import nixcli
from deploy.nixlog import NixLog, Reporter
from deploy.ssh_reasons import explain
from jobs import processes


class TargetError(ValueError):
    """A target that cannot be used: not a form ``deploy.targets.parse_target`` accepts, or SSH options
    that cannot be passed on."""


@dataclass
class SshOptions:
    """How to reach devices over SSH.

    key_file: private key to use (IdentitiesOnly); known_hosts_file: the only known-hosts file consulted;
    strict_host_key_checking: "yes" (unknown or changed host keys fail) or "accept-new";
    connect_timeout: seconds; extra_options: more ``-o`` options ("Key=value").
    Paths must not contain whitespace: Nix splits NIX_SSHOPTS on it.
    """
    key_file: Path | None = None
    known_hosts_file: Path | None = None
    strict_host_key_checking: str = "yes"
    connect_timeout: int = 10
    extra_options: tuple[str, ...] = ()

    def args(self, port: int | None) -> list[str]:
        args = ["-o", "BatchMode=yes", "-o", f"ConnectTimeout={int(self.connect_timeout)}",
                "-o", f"StrictHostKeyChecking={self.strict_host_key_checking}", "-o", "ServerAliveInterval=15",
                "-o", "ServerAliveCountMax=4"]
        if self.key_file:
            args += ["-o", "IdentitiesOnly=yes", "-i", str(self.key_file)]
        if self.known_hosts_file:
            args += ["-o", f"UserKnownHostsFile={self.known_hosts_file}", "-o", "GlobalKnownHostsFile=/dev/null"]
        for option in self.extra_options:
            args += ["-o", option]
        if port:
            args += ["-p", str(port)]
        for arg in args:
            if any(ch.isspace() for ch in arg):
                raise TargetError(f"SSH option {arg!r} contains whitespace, which NIX_SSHOPTS cannot carry")
        return args


@dataclass
class RunResult:
    returncode: int
    output: list[str] = field(default_factory=list)
    timed_out: bool = False


def _feed(proc, data: bytes) -> None:
    try:
        proc.stdin.buffer.write(data)
        proc.stdin.close()
    except (BrokenPipeError, OSError):
        pass  # the command ended early: its exit code says why


def _stream(command: list[str], reporter: Reporter, *, env=None, timeout: float | None = None,
            on_line=None, stdin: bytes | None = None) -> RunResult:
    """Run a command, its stdout and stderr merged, passing each line to ``on_line`` (or the reporter);
    ``stdin``: bytes the command reads (never in its arguments, where other users could see them)."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
                            text=True, errors="replace", env=env, start_new_session=True)
    processes.track(proc)  # cancelling the job ends ssh, nix copy, the activation script
    expired = threading.Event()

    def kill() -> None:  # the whole group: what the command started ends with it
        expired.set()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    timer = threading.Timer(timeout, kill) if timeout else None
    if timer:
        timer.start()
    if stdin is not None:
        threading.Thread(target=_feed, args=(proc, stdin), daemon=True).start()
    lines = []
    try:
        for line in proc.stdout:
            line = line.rstrip("\n")
            lines.append(line)
            (on_line or reporter.log)(line)
        returncode = proc.wait()
    finally:
        if timer:
            timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        processes.untrack(proc)
    return RunResult(returncode, lines, expired.is_set())


class LocalHost:
    """This machine: scripts run with /bin/sh, the store path is already here."""
    name = "local"

    def __str__(self) -> str:
        return "this machine"

    def run(self, script: str, reporter: Reporter, *, timeout: float | None = None, on_line=None,
            stdin: bytes | None = None) -> RunResult:
        return _stream(["/bin/sh", "-c", script], reporter, timeout=timeout, on_line=on_line, stdin=stdin)

    def run_command(self, argv: list[str], reporter: Reporter, *, timeout: float | None = None,
                    stdin: bytes | None = None) -> RunResult:
        """``argv`` with its stdout and stderr as one stream, each line logged as it comes."""
        return _stream(argv, reporter, timeout=timeout, stdin=stdin)

    def copy_closure(self, store_path: str, reporter: Reporter) -> None:
        return None


@dataclass
class HelperHost:
    """This machine through the root activation helper (THYMIS_LOCAL_ACTIVATION_COMMAND): files for it (its
    secrets) are placed by ``command deliver-secrets WORDS...`` reading the stream on stdin, as root."""
    command: str

    def __str__(self) -> str:
        return "this machine (through the activation helper)"


@dataclass
class SshHost:
    """A device reached as ``user@host`` on ``port`` with ``options``."""
    user: str
    host: str
    port: int | None = None
    options: SshOptions = field(default_factory=SshOptions)

    def __str__(self) -> str:
        return f"{self.user}@{self.host}" + (f":{self.port}" if self.port else "")

    @property
    def destination(self) -> str:
        return f"{self.user}@{self.host.strip('[]')}"

    def ssh_command(self, script: str) -> list[str]:
        return ["ssh", *self.options.args(self.port), self.destination, "--", script]

    def run(self, script: str, reporter: Reporter, *, timeout: float | None = None, on_line=None,
            stdin: bytes | None = None) -> RunResult:
        return _stream(self.ssh_command(script), reporter, timeout=timeout, on_line=on_line, stdin=stdin)

    def copy_closure(self, store_path: str, reporter: Reporter) -> None:
        """``nix copy`` the closure of ``store_path`` to the device (no-op for paths it has)."""
        env = dict(os.environ, NIX_SSHOPTS=" ".join(self.options.args(self.port)))
        command = nixcli.nix("copy", "--no-check-sigs", "--log-format", "internal-json",
                             "--to", f"ssh://{self.destination}", store_path)
        reporter.log(f"copying {store_path} to {self}")
        log = NixLog(reporter)
        result = _stream(command, reporter, env=env, on_line=log.feed)
        if result.returncode != 0:
            reason = explain(result.output, self)
            detail = reason.message if reason else (
                "; ".join(e.message for e in log.errors) or "\n".join(result.output[-10:]))
            raise CopyError(f"copying the system to {self} failed: {detail}", reason)


class CopyError(RuntimeError):
    """``nix copy`` to the device failed; ``reason``: the SSH failure, when that is why."""

    def __init__(self, message: str, reason=None):
        super().__init__(message)
        self.reason = reason


def quote(value: str) -> str:
    return shlex.quote(value)

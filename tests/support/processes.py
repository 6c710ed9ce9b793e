"""Processes for tests: a free loopback port, starting a program and waiting until it answers, stopping it.

Every fixture that starts a process uses ``Service``: it is ready only when ``probe`` succeeds (a connection
plus a real request, not just a bound port), and a process that exits or does not answer in time fails with
its output. ``stop`` terminates, waits, and kills what does not end.
"""
from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(process: subprocess.Popen | None, timeout: float = 10) -> None:
    """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def http_status(url: str, timeout: float = 2) -> int | None:
    """The HTTP status ``url`` answers a GET with, or None when nothing answers (refused, reset, timed out)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def http_answers(url: str, timeout: float = 2) -> bool:
    """True when ``url`` answers an HTTP GET with any status (a 4xx is an answer, a refused connection is not)."""
    return http_status(url, timeout) is not None


class Service:
    """A program started for a test, with its output in ``log_path``.

    ``Service(cmd, log_path, probe=..., name=...)`` starts it; ``wait_until_ready(timeout)`` polls ``probe``
    (a callable returning True once the service answers); ``output()`` is what it printed; ``stop()``.
    """

    def __init__(self, cmd: list[str], log_path: Path, *, probe: Callable[[], bool], name: str | None = None,
                 **popen) -> None:
        self.cmd = [str(c) for c in cmd]
        self.name = name or Path(self.cmd[0]).name
        self.log_path = Path(log_path)
        self.probe = probe
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.cmd, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, **popen)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_until_ready(self, timeout: float = 30) -> "Service":
        wait_until(self.probe, timeout, f"{self.name} to answer", process=self.process, output=self.output)
        return self

    def stop(self, timeout: float = 10) -> None:
        stop_process(self.process, timeout)


def wait_until(check: Callable[[], bool], timeout: float, what: str, *, process: subprocess.Popen | None = None,
               output: Callable[[], str] = str, interval: float = 0.1) -> None:
    """Poll ``check`` until it returns True; fail (stopping ``process``) when the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        exited = process is not None and process.poll() is not None
        if exited or time.monotonic() > deadline:
            stop_process(process)
            reason = f"exited with status {process.returncode}" if exited else f"no answer after {timeout:g} s"
            raise RuntimeError(f"waiting for {what}: {reason}; its output:\n{output()}")
        time.sleep(interval)

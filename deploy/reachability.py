"""Whether the `thymis` flake (THYMIS_FLAKE_URL) and its nixpkgs can be fetched, for /healthz and the Overview.

Checked in the background, never in a request: ``status(url)`` answers at once from what the last check found
and, when that is older than its time to live (10 minutes after success, 1 minute after a failure) and no check
of that URL runs, starts one in a thread. A check is ``nix flake archive`` of the flake: it fetches the flake
and all its inputs into the local store, as the next build would (one download attempt, a short connect
timeout, at most CHECK_TIMEOUT seconds); "reachable" when that worked and the flake has a ``nixpkgs`` input.
The first answer, before any check ended, is "checking". The URL is the operator's setting, not repository
code, and no flake's outputs are evaluated.
"""
from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import nixcli
from errors import hide_paths
from repos.access import redact_url

STORE_PATH = re.compile(r"/nix/store/[0-9a-z]{32}-[A-Za-z0-9+._?=-]+")
TTL_REACHABLE, TTL_UNREACHABLE, CHECK_TIMEOUT = 600.0, 60.0, 60.0
NOT_CONFIGURED, CHECKING, REACHABLE, UNREACHABLE = "not-configured", "checking", "reachable", "unreachable"


@dataclass
class Reachability:
    state: str
    message: str
    checked_at: datetime | None = None
    seconds: float | None = None               # how long the check took
    tree: dict | None = None                    # when reachable: the sources (`nix flake archive --json`)
    at: float = field(default=0.0, repr=False)  # time.monotonic() of the check's end

    def json(self) -> dict:
        return {"state": self.state, "reachable": {REACHABLE: True, UNREACHABLE: False}.get(self.state),
                "message": self.message,
                "checked_at": self.checked_at.replace(tzinfo=None).isoformat() + "Z" if self.checked_at else None}


def _shown(url: str) -> str:
    return hide_paths(redact_url(url))


def check(url: str, timeout: float | None = None) -> Reachability:
    """Ask nix, now, for the flake at ``url`` and its nixpkgs input (blocks up to ``timeout`` seconds, by default
    CHECK_TIMEOUT)."""
    timeout = CHECK_TIMEOUT if timeout is None else timeout
    if url.startswith("-"):
        return _result(UNREACHABLE, "THYMIS_FLAKE_URL is not a flake URL (it starts with '-')", time.monotonic())
    argv = nixcli.nix("--option", "download-attempts", "1", "--option", "connect-timeout", "5",
                      "flake", "archive", "--json", "--no-write-lock-file", url)
    started = time.monotonic()
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                              check=False)
    except subprocess.TimeoutExpired:
        return _result(UNREACHABLE, f"the thymis flake {_shown(url)} could not be fetched within {timeout:.0f} s "
                                    f"(no network?); {nixcli.FLAKE_HINT}", started)
    except OSError as exc:
        return _result(UNREACHABLE, f"nix could not be started to fetch the thymis flake: {exc}", started)
    if proc.returncode == 0:
        tree = _tree(proc.stdout)
        if "nixpkgs" not in (tree or {}).get("inputs", {}):
            return _result(UNREACHABLE, f"the thymis flake {_shown(url)} has no nixpkgs input, which device builds "
                                        "follow", started)
        result = _result(REACHABLE, f"the thymis flake {_shown(url)} and its nixpkgs can be fetched", started)
        result.tree = tree
        return result
    reason = nixcli.fetch_failure(proc.stderr)
    if reason is None:
        lines = [line.strip() for line in proc.stderr.splitlines() if line.strip().startswith("error:")]
        reason = (lines[0][len("error:"):].strip() if lines else f"nix exited with status {proc.returncode}")
    return _result(UNREACHABLE, f"the thymis flake {_shown(url)} or its nixpkgs cannot be reached: "
                                f"{hide_paths(redact_url(reason))}", started)


def _tree(stdout: str) -> dict | None:
    """{path, inputs: {name: {path, inputs}}} with store paths only; None when the answer is not that."""
    def clean(node) -> dict | None:
        if not isinstance(node, dict) or not isinstance(node.get("path"), str) \
                or not STORE_PATH.fullmatch(node["path"]):
            return None
        inputs = {name: clean(child) for name, child in (node.get("inputs") or {}).items()}
        if any(child is None for child in inputs.values()):
            return None
        return {"path": node["path"], "inputs": inputs}
    try:
        return clean(json.loads(stdout))
    except ValueError:
        return None


def _result(state: str, message: str, started: float) -> Reachability:
    now = time.monotonic()
    return Reachability(state, message, checked_at=datetime.now(timezone.utc), seconds=round(now - started, 3), at=now)


class FlakeReachability:
    """The cache of checks by URL, shared by the threads of one process."""

    def __init__(self, checker=check):
        self._checker = checker
        self._lock = threading.Lock()
        self._results: dict[str, Reachability] = {}
        self._running: set[str] = set()

    def status(self, url: str) -> Reachability:
        """What is known now (never waits); starts a background check when that is stale."""
        if not url:
            return Reachability(NOT_CONFIGURED, "no thymis flake is configured: set THYMIS_FLAKE_URL")
        with self._lock:
            known = self._results.get(url)
            ttl = TTL_REACHABLE if known and known.state == REACHABLE else TTL_UNREACHABLE
            stale = known is None or time.monotonic() - known.at >= ttl
            if stale and url not in self._running:
                self._running.add(url)
                threading.Thread(target=self._run, args=(url,), name="thymis-flake-check", daemon=True).start()
        return known or Reachability(CHECKING, f"checking whether the thymis flake {_shown(url)} and its nixpkgs "
                                               "can be reached")

    def _run(self, url: str) -> None:
        try:
            result = self._checker(url)
        except Exception as exc:  # a surprise must not leave the URL marked as running forever
            result = _result(UNREACHABLE, f"the thymis flake could not be checked: {exc}", time.monotonic())
        with self._lock:
            self._results[url] = result
            self._running.discard(url)

    def wait(self, url: str, timeout: float) -> Reachability:
        """For tests and the CLI: the status once no check of ``url`` runs (or ``timeout`` passed)."""
        deadline = time.monotonic() + timeout
        result = self.status(url)
        while time.monotonic() < deadline:
            with self._lock:
                if url not in self._running:
                    return self._results.get(url, result)
            time.sleep(0.05)
        return self.status(url)


reachability = FlakeReachability()

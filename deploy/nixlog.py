"""Reading Nix's ``--log-format internal-json`` stream (``@nix {...}`` lines on stderr).

Activities start and stop; results attach to an activity: build log lines (type 101), progress
(105: done, expected, running, failed) and expected counts (106). ``NixLog.feed`` turns each line into
readable log lines and progress for a job context. Note: with Nix 2.8, ``-L`` replaces the JSON logger,
so it must not be combined with ``--log-format internal-json``; build output arrives as type-101 results
anyway.
"""
from __future__ import annotations

import inspect
import json
import re
from dataclasses import dataclass, field

from nixcli import is_retry_warning

ACT_COPY_PATHS = 103
ACT_BUILDS = 104
ACT_BUILD = 105
RES_BUILD_LOG_LINE = 101
RES_SET_PHASE = 104
RES_PROGRESS = 105
RES_SET_EXPECTED = 106
ERROR_LEVEL = 0
INFO_LEVEL = 3  # lvlInfo; higher levels are talkative/debug

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
PHASES = {ACT_BUILDS: "building", ACT_COPY_PATHS: "copying"}


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


class Reporter:
    """Calls ``ctx.progress`` / ``ctx.log`` of any object that has them (``None``: report nothing).

    ``final=True`` asks contexts that thin out progress writes (jobs.context.JobContext) to write anyway.
    """

    def __init__(self, ctx):
        self.ctx = ctx
        self._force = False
        if ctx is not None:
            try:
                self._force = "force" in inspect.signature(ctx.progress).parameters
            except (TypeError, ValueError):
                self._force = False

    def progress(self, phase: str, done: int, total: int, *, final: bool = False) -> None:
        if self.ctx is None:
            return
        if final and self._force:
            self.ctx.progress(phase, done, total, force=True)
        else:
            self.ctx.progress(phase, done, total)

    def log(self, line: str) -> None:
        if self.ctx is not None:
            self.ctx.log(line)


@dataclass
class NixError:
    message: str              # without colour codes
    file: str | None = None
    line: int | None = None
    column: int | None = None


@dataclass
class NixLog:
    """State of one nix invocation's log: readable lines, errors, progress per phase."""
    reporter: Reporter
    lines: list[str] = field(default_factory=list)
    errors: list[NixError] = field(default_factory=list)
    done: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)
    _activities: dict[int, dict] = field(default_factory=dict)
    _retried: set[str] = field(default_factory=set)

    def _emit(self, line: str) -> None:
        self.lines.append(line)
        self.reporter.log(line)

    def feed(self, raw: str) -> None:
        """One stderr line: JSON events are interpreted, anything else is kept as a log line."""
        raw = raw.rstrip("\n")
        if not raw.startswith("@nix "):
            if raw.strip():
                self._emit(strip_ansi(raw))
            return
        try:
            event = json.loads(raw[5:])
        except ValueError:
            self._emit(strip_ansi(raw))
            return
        action = event.get("action")
        if action == "start":
            self._activities[event.get("id")] = event
            text = strip_ansi(event.get("text") or "")
            if text and event.get("level", 0) <= INFO_LEVEL:
                self._emit(text)
        elif action == "stop":
            self._activities.pop(event.get("id"), None)
        elif action == "result":
            self._result(event)
        elif action == "msg":
            self._message(event)

    def _result(self, event: dict) -> None:
        kind = event.get("type")
        fields = event.get("fields") or []
        activity = self._activities.get(event.get("id"), {})
        if kind == RES_BUILD_LOG_LINE and fields:
            name = _drv_name(activity)
            self._emit(f"{name}> {strip_ansi(str(fields[0]))}" if name else strip_ansi(str(fields[0])))
        elif kind == RES_SET_PHASE and fields:
            name = _drv_name(activity)
            self._emit(f"{name}: phase {fields[0]}" if name else f"phase {fields[0]}")
        elif kind == RES_PROGRESS and len(fields) >= 2:
            phase = PHASES.get(activity.get("type"))
            if phase:
                done, expected = int(fields[0]), int(fields[1])
                self.done[phase], self.total[phase] = done, expected
                self.reporter.progress(phase, done, expected)

    def _message(self, event: dict) -> None:
        level = event.get("level", 0)
        text = strip_ansi(event.get("msg") or "")
        if level == ERROR_LEVEL:
            if text.startswith("(use '--show-trace'"):
                return
            raw = strip_ansi(event.get("raw_msg") or text.removeprefix("error: "))
            self.errors.append(NixError(raw, event.get("file"), event.get("line"), event.get("column")))
            self._emit(text)
        elif level <= INFO_LEVEL and text:
            if is_retry_warning(text):  # one line per download, not one per attempt
                if text.split("retrying in")[0] in self._retried:
                    return
                self._retried.add(text.split("retrying in")[0])
            self._emit(text)

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + ("\n" if self.lines else "")


def _drv_name(activity: dict) -> str:
    fields = activity.get("fields") or []
    if activity.get("type") == ACT_BUILD and fields and isinstance(fields[0], str):
        base = fields[0].rsplit("/", 1)[-1]
        return base.split("-", 1)[1].removesuffix(".drv") if "-" in base else base
    return ""

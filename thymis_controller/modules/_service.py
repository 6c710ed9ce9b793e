"""Shared by the Bash and Python built-ins: unit names, indented Nix strings, package lists, timers."""

from __future__ import annotations

import pathlib
import re

from thymis_controller.models import SystemdTimerType
from thymis_controller.nix import NixError, nix_package
from thymis_controller.nix.templating import generate_timer_settings


def service_name(prefix: str, path, project) -> str:
    """``<prefix>-<path below the project's repository, '/' and '.' as '-'>`` (e.g. ``…-hosts-dev1``),
    unique to the device or tag the module belongs to, as Thymis names it."""
    try:
        below = pathlib.PurePath(path).relative_to(pathlib.PurePath(project.path) / "repository")
    except (TypeError, ValueError):
        below = pathlib.PurePath(pathlib.PurePath(path).name)
    return prefix + str(below).replace("/", "-").replace(".", "-")


_DOLLARS = re.compile(r"\$+(?=\{)")


def _escape_dollars(match) -> str:
    run = match.group(0)
    return run if len(run) % 2 == 0 else run[:-1] + '${"$"}'


def indented_string(text: str, indent: int) -> str:
    """A Nix indented string (``''…''``) whose value is exactly ``text`` (which ends with a newline):
    ``''`` is escaped as ``'''``, and a ``$`` that would start an interpolation (before ``{``, after an even
    number of ``$``: Nix reads ``$$`` as two dollars) is written as ``${"$"}`` (the escape ``''$`` would
    merge with a quote before it), so the text can neither end the string nor interpolate.
    When every line of the text is indented, the first space is written as ``${" "}`` so that Nix's
    removal of the common indentation keeps it."""
    if "\0" in text:
        raise NixError("text cannot contain NUL bytes in Nix")
    pad = " " * indent
    escaped = _DOLLARS.sub(_escape_dollars, text.replace("''", "'''"))
    lines = [line if line.strip() else "" for line in escaped.split("\n")[:-1]]
    first = next((i for i, line in enumerate(lines) if line), None)
    if first is not None and all(not line or line[0] == " " for line in lines):
        lines[first] = '${" "}' + lines[first][1:]
    lines = [pad + line if line else "" for line in lines]
    closing = " " * max(indent - 2, 0) + "''"
    return "''\n" + "".join(line + "\n" for line in lines) + closing


def package_list(entries, prefix: str = "") -> str:
    """``[ pkgs.a pkgs.b ]`` from list entries ``{"package": "a"}``; names must be attribute paths."""
    names = []
    for entry in entries or []:
        name = entry.get("package") if isinstance(entry, dict) else None
        if isinstance(name, str) and name.strip():
            name = name.strip()
            names.append(nix_package(name if name.startswith("pkgs.") or not prefix else prefix + name))
    return "[ " + " ".join(names) + (" ]" if names else "]")


def timer_lines(settings: dict, default) -> list[str]:
    raw = settings.get("timer_config", default)
    if raw is None and settings.get("on_calendar"):  # this controller's earlier Bash module
        raw = {"timer_type": "realtime", "on_calendar": [settings["on_calendar"]]}
    if raw is None:
        return []
    try:
        timer = SystemdTimerType.model_validate(raw)
    except ValueError as e:
        raise NixError(f"timer configuration: {e}") from None
    for calendar in getattr(timer, "on_calendar", None) or []:
        if calendar:
            check_calendar(calendar)
    return generate_timer_settings(timer)


# systemd.time(7): shorthands, or weekdays, dates, times, ranges and repetitions; words other than weekday
# names and a trailing time zone are not part of any calendar expression.
_SHORTHANDS = {"minutely", "hourly", "daily", "monthly", "weekly", "yearly", "annually", "quarterly",
               "semiannually"}
_WEEKDAYS = re.compile(r"(mon|tue|wed|thu|fri|sat|sun)[a-z]*", re.IGNORECASE)
_CALENDAR_TOKEN = re.compile(r"[0-9*.,:~/+-]+|[A-Za-z]+(?:(?:\.\.|[,-])[A-Za-z]+)*|UTC|[A-Z][A-Za-z]+/[A-Za-z_/]+")


def check_calendar(expression: str) -> None:
    """NixError unless ``expression`` looks like a systemd OnCalendar expression ("Mon *-*-* 09:00", "daily")."""
    if expression.strip().lower() in _SHORTHANDS:
        return
    for token in expression.split():
        if not _CALENDAR_TOKEN.fullmatch(token):
            break
        words = [w for w in re.split(r"\.\.|[,-]", token) if w.isalpha()]
        if words and not all(_WEEKDAYS.fullmatch(w) or w == "UTC" for w in words) and "/" not in token:
            break
    else:
        return
    raise NixError(f"{expression!r} is not a systemd calendar expression (examples: daily, hourly, "
                   "Mon..Fri 09:00, *-*-* 04:30:00)")

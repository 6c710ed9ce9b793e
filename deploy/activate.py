"""Activating a built system on a host: set the system profile, switch, roll back when switching fails.

The same POSIX shell script runs on this machine (``LocalHost``) and on a device over SSH (``SshHost``),
so the rollback happens on the host itself even if the connection drops during the switch:

1. remember the profile's current generation (number and store path);
2. ``nix-env --profile P --set <path>`` (or ``--switch-generation N`` to return to an existing one);
3. ``<path>/bin/switch-to-configuration switch``;
4. if that fails: ``nix-env --profile P --switch-generation <previous>`` and the previous system's
   ``switch-to-configuration switch``; the failed generation stays listed but is no longer current.

The script prints ``@@thymis <event> ...`` lines that are read here; everything else goes to the log.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from deploy.hosts import LocalHost, SshHost, quote
from deploy.nixlog import Reporter
from deploy.ssh_reasons import explain

DEFAULT_PROFILE = "/nix/var/nix/profiles/system"
STORE_PATH = re.compile(r"^/nix/store/[0-9a-z]{32}-[A-Za-z0-9+._?=-]+$")
MARK = "@@thymis "


@dataclass
class Generation:
    """One generation of a profile: ``<profile>-<number>-link`` -> store_path, created (UTC)."""
    number: int
    store_path: str
    created: datetime
    current: bool = False


@dataclass
class ActivationResult:
    """A successful switch: the profile now points at store_path as generation ``generation``."""
    host: str
    profile: str
    store_path: str
    generation: int | None
    previous: str | None
    message: str
    log: list[str] = field(default_factory=list)


class ActivationError(RuntimeError):
    """Activation failed. rolled_back_to: the store path re-activated (None: no rollback happened or it
    failed too); switched: whether the new system's switch-to-configuration ran; log: the output."""

    def __init__(self, message: str, *, rolled_back_to: str | None = None, log: list[str] | None = None,
                 generation: int | None = None):
        super().__init__(message)
        self.rolled_back_to = rolled_back_to
        self.log = log or []
        self.generation = generation


_ACTIVATE = r"""
set -u
profile=__PROFILE__
new=__NEW__
mode=__MODE__
gen_of() { l=$(readlink "$1" 2>/dev/null) || return 0; l=${l%-link}; echo "${l##*-}"; }
previous_gen=$(gen_of "$profile")
previous=""
[ -z "$previous_gen" ] || previous=$(readlink -f "$profile")
echo "@@thymis previous ${previous_gen:-none} ${previous:-none}"
mkdir -p "$(dirname "$profile")" || exit 20
if [ "$mode" = set ]; then
  nix-env --profile "$profile" --set "$new" || { echo "@@thymis failed set-profile"; exit 20; }
else
  nix-env --profile "$profile" --switch-generation "$mode" || { echo "@@thymis failed set-profile"; exit 20; }
fi
echo "@@thymis generation $(gen_of "$profile")"
if "$new/bin/switch-to-configuration" switch; then echo "@@thymis switched"; exit 0; fi
echo "@@thymis switch-failed"
if [ -z "$previous_gen" ]; then echo "@@thymis no-previous"; exit 23; fi
nix-env --profile "$profile" --switch-generation "$previous_gen" ||
  { echo "@@thymis rollback-failed profile"; exit 22; }
if "$previous/bin/switch-to-configuration" switch; then echo "@@thymis rolled-back $previous"; exit 21; fi
echo "@@thymis rollback-failed switch"
exit 22
"""

_LIST = r"""
profile=__PROFILE__
printf '@@thymis current %s\n' "$(readlink "$profile" 2>/dev/null)"
for l in "$profile"-*-link; do
  [ -L "$l" ] || continue
  printf '@@thymis gen %s\t%s\t%s\n' "$l" "$(readlink "$l")" "$(stat -c %Y "$l")"
done
"""


def _check_path(store_path: str) -> None:
    if not STORE_PATH.match(store_path or ""):
        raise ValueError(f"not a store path: {store_path!r}")


def _check_profile(profile: str) -> None:
    if not profile.startswith("/") or "\n" in profile:
        raise ValueError(f"the profile must be an absolute path: {profile!r}")


def _script(template: str, **values: str) -> str:
    for key, value in values.items():
        template = template.replace(f"__{key.upper()}__", quote(value))
    return template


def _run_activation(host, profile: str, store_path: str, mode: str, reporter: Reporter) -> ActivationResult:
    events: dict[str, str] = {}
    log: list[str] = []

    def on_line(line: str) -> None:
        if line.startswith(MARK):
            key, _, rest = line[len(MARK):].partition(" ")
            events[key] = rest
        else:
            log.append(line)
            reporter.log(line)

    result = host.run(_script(_ACTIVATE, profile=profile, new=store_path, mode=mode), reporter, on_line=on_line)
    previous = events.get("previous", "none none").split(" ", 1)[-1]
    previous = None if previous == "none" else previous
    generation = int(events["generation"]) if events.get("generation", "").isdigit() else None
    where = f"{profile} on {host}"
    if result.returncode == 0 and "switched" in events:
        message = f"switched {where} to {store_path} (generation {generation})"
        reporter.log(message)
        return ActivationResult(str(host), profile, store_path, generation, previous, message, log)
    if "rolled-back" in events:
        message = f"switch failed, rolled back to {events['rolled-back']}"
    elif "no-previous" in events:
        message = f"switch failed on {host}; there is no previous generation of {profile} to roll back to"
    elif "rollback-failed" in events:
        message = f"switch failed on {host} and rolling back to {previous} failed too"
    elif "failed" in events:
        message = f"could not set {where} to {store_path}"
    elif result.returncode == 255 and isinstance(host, SshHost):
        reason = explain(log, host)
        message = f"could not reach {host} over SSH: " + (reason.message if reason else
                                                            "; ".join(log[-3:]) or "connection failed")
    else:
        message = f"activation on {host} failed with status {result.returncode}"
    reporter.log(message)
    raise ActivationError(message, rolled_back_to=events.get("rolled-back"), log=log, generation=generation)


def activate_on(host, store_path: str, ctx=None, *, profile: str = DEFAULT_PROFILE) -> ActivationResult:
    """Make ``store_path`` the current system on ``host`` (a ``deploy.hosts`` LocalHost or SshHost).

    Over SSH the closure is first copied with ``nix copy``. Then the profile is set and
    ``switch-to-configuration switch`` runs; if it fails the previous generation is re-activated and
    ActivationError says "switch failed, rolled back to <previous>" (``rolled_back_to`` is set).
    ctx: an object with ``progress(phase, done, total)`` and ``log(line)``, or None.
    """
    _check_path(store_path)
    _check_profile(profile)
    reporter = Reporter(ctx)
    reporter.progress("copying", 0, 1, final=True)
    host.copy_closure(store_path, reporter)
    reporter.progress("activating", 0, 1, final=True)
    result = _run_activation(host, profile, store_path, "set", reporter)
    reporter.progress("activating", 1, 1, final=True)
    return result


def generations_on(host, *, profile: str = DEFAULT_PROFILE, ctx=None) -> list[Generation]:
    """The profile's generations on ``host``, oldest first (empty if the profile does not exist)."""
    _check_profile(profile)
    reporter = Reporter(ctx)
    lines: list[str] = []
    result = host.run(_script(_LIST, profile=profile), reporter, on_line=lines.append)
    if result.returncode != 0:
        reason = explain(lines, host) if isinstance(host, SshHost) else None
        raise ActivationError(f"could not list the generations of {profile} on {host}: "
                              + (reason.message if reason else "; ".join(lines[-3:])), log=lines)
    current = None
    found: list[Generation] = []
    prefix = profile.rsplit("/", 1)[-1] + "-"
    for line in lines:
        if line.startswith(MARK + "current "):
            link = line[len(MARK + "current "):]
            current = _number(link.rsplit("/", 1)[-1], prefix)
        elif line.startswith(MARK + "gen "):
            link, path, mtime = line[len(MARK + "gen "):].split("\t")
            number = _number(link.rsplit("/", 1)[-1], prefix)
            if number is not None:
                found.append(Generation(number, path, datetime.fromtimestamp(int(mtime), timezone.utc)))
    for generation in found:
        generation.current = generation.number == current
    return sorted(found, key=lambda g: g.number)


def _number(link_name: str, prefix: str) -> int | None:
    if link_name.startswith(prefix) and link_name.endswith("-link"):
        middle = link_name[len(prefix):-len("-link")]
        if middle.isdigit():
            return int(middle)
    return None


def rollback_on(host, store_path: str, ctx=None, *, profile: str = DEFAULT_PROFILE,
                generation: int | None = None) -> ActivationResult:
    """Activate an older system ("Roll back to this"): generation number ``generation`` (which points at
    ``store_path``), or else the existing generation that points at ``store_path``, becomes current again (a new
    generation if none does; over SSH the path is copied first), then it is switched to — with the same
    automatic rollback if that switch fails."""
    _check_path(store_path)
    _check_profile(profile)
    reporter = Reporter(ctx)
    existing = [g for g in generations_on(host, profile=profile) if g.store_path == store_path
                and (generation is None or g.number == generation)]
    reporter.progress("activating", 0, 1, final=True)
    if existing:
        mode = str(existing[-1].number)
        reporter.log(f"rolling back {profile} on {host} to generation {mode} ({store_path})")
    else:
        mode = "set"
        reporter.log(f"{store_path} is not a generation of {profile}; activating it as a new one")
        host.copy_closure(store_path, reporter)
    result = _run_activation(host, profile, store_path, mode, reporter)
    reporter.progress("activating", 1, 1, final=True)
    return result


def activate_with_command(command: str, store_path: str, ctx=None, *, timeout: float = 1800) -> ActivationResult:
    """Local activation through a privileged helper (the NixOS module's THYMIS_LOCAL_ACTIVATION_COMMAND): the
    command gets the toplevel store path as its only argument, switches (rolling back itself on failure) and
    its exit code is the result. The controller itself then needs no root rights.

    The job log is the helper's output in the order it was written (stdout and stderr as one stream); a failure
    is the helper's own summary (see ``helper_failure``), and a rollback it did is reported as one."""
    _check_path(store_path)
    reporter = Reporter(ctx)
    reporter.progress("activating", 0, 1, final=True)
    try:
        result = LocalHost().run_command([command, store_path], reporter, timeout=timeout)
    except OSError as exc:
        raise ActivationError(f"the activation command could not be started: {exc}") from None
    lines = result.output
    if result.returncode != 0:
        if result.timed_out:
            raise ActivationError(f"the activation command did not finish within {timeout:.0f} s", log=lines)
        message, rolled_back_to = helper_failure(lines, result.returncode)
        reporter.log(message)
        raise ActivationError(message, rolled_back_to=rolled_back_to, log=lines)
    reporter.progress("activating", 1, 1, final=True)
    message = f"activated {store_path} through {command}"
    reporter.log(message)
    return ActivationResult(host="local", profile="(activation command)", store_path=store_path, generation=None,
                            previous=None, message=message, log=lines)


_HELPER_ROLLBACK = re.compile(r"rolling back to (/nix/store/\S+)")
_HELPER_CAUSE = re.compile(r"^[\w-]+: ((?:refusing to activate|could not|switch-to-configuration \S+ failed).*)$")


def helper_failure(lines: list[str], returncode: int) -> tuple[str, str | None]:
    """(message, rolled_back_to) from the helper's lines: its first failure line is the cause; "rolling back
    to <path>" without "the rollback failed too" means the previous system is active again."""
    rolled = next((m.group(1) for m in map(_HELPER_ROLLBACK.search, lines) if m), None)
    failed_too = any("rollback failed too" in line for line in lines)
    cause = next((m.group(1) for m in map(_HELPER_CAUSE.match, lines) if m), None)
    detail = f" ({cause})" if cause else ""
    if rolled and failed_too:
        return f"switch failed and rolling back to {rolled} failed too{detail}", None
    if rolled:
        return f"switch failed, rolled back to {rolled}{detail}", rolled
    last = next((line for line in reversed(lines) if line.strip()), "")
    return f"activation failed (exit {returncode}): {cause or last}".rstrip(": "), None

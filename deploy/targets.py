"""Where a device's system is activated: one type per kind of target, chosen by ``parse_target``.

A device's ``target`` is "local" (this appliance) or "ssh://user@host[:port]". ``parse_target`` is the only
place that reads that text: device input validation calls it (``configs.inputs.check_target``), deploy
and rollback jobs call it to get an object that activates, rolls back and lists generations.

- ``LocalTarget``:   the system profile of this machine, switched by the controller itself;
- ``CommandTarget``: this machine through a privileged helper (the NixOS module's
  THYMIS_LOCAL_ACTIVATION_COMMAND), which switches and rolls back itself;
- ``SshTarget``:     a device over SSH (``nix copy``, then the same switch script as locally).

A new kind of target is a new class here and a branch in ``parse_target``; ``TARGET_HELP`` is the text
pages and the API document show for the field.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from deploy.activate import (
    DEFAULT_PROFILE,
    ActivationResult,
    Generation,
    activate_on,
    activate_with_command,
    generations_on,
    rollback_on,
)
from deploy.hosts import HelperHost, LocalHost, SshHost, SshOptions, TargetError

__all__ = ["TARGET_HELP", "NO_TARGET", "no_target", "Target", "LocalTarget", "CommandTarget", "SshTarget",
           "TargetError", "parse_target",
           "activate", "rollback", "generations"]

TARGET_HELP = "local (this appliance) or ssh://user@host[:port]"
TARGET_UNSET_HELP = TARGET_HELP + "; leave empty until you know where it goes (it can be built, not deployed)"
NO_TARGET = "set a target first: this device has no deployment target yet (" + TARGET_HELP + ")"
BAD_TARGET = "the target must be 'local' (this appliance) or ssh://user@host[:port]"
BAD_PORT = "the SSH port must be between 1 and 65535"
_SSH = re.compile(r"ssh://(?P<user>[A-Za-z_][A-Za-z0-9_.-]{0,31})@"
                  r"(?P<host>[A-Za-z0-9][A-Za-z0-9.-]{0,252}|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{1,5}))?")


class Target:
    """What every kind of target does. ``ctx``: an object with ``progress(phase, done, total)`` and
    ``log(line)``, or None."""

    def activate(self, store_path: str, ctx=None, *, profile: str = DEFAULT_PROFILE) -> ActivationResult:
        """Make ``store_path`` the current system; a failed switch is rolled back (ActivationError says so)."""
        raise NotImplementedError

    def rollback(self, store_path: str, ctx=None, *, profile: str = DEFAULT_PROFILE,
                 generation: int | None = None) -> ActivationResult:
        """Activate an older system again ("Roll back to this"): generation ``generation`` when given."""
        raise NotImplementedError

    def generations(self, *, profile: str = DEFAULT_PROFILE, ctx=None) -> list[Generation]:
        """The profile's generations, oldest first (empty if the profile does not exist)."""
        raise NotImplementedError

    def file_host(self) -> LocalHost | SshHost | HelperHost:
        """Where files for the device (its secrets, secret_store.delivery) are placed."""
        raise NotImplementedError


class _HostTarget(Target):
    """A target the controller switches itself, through ``self.host`` (see deploy.activate)."""
    host: LocalHost | SshHost

    def activate(self, store_path, ctx=None, *, profile=DEFAULT_PROFILE):
        return activate_on(self.host, store_path, ctx, profile=profile)

    def rollback(self, store_path, ctx=None, *, profile=DEFAULT_PROFILE, generation=None):
        return rollback_on(self.host, store_path, ctx, profile=profile, generation=generation)

    def generations(self, *, profile=DEFAULT_PROFILE, ctx=None):
        return generations_on(self.host, profile=profile, ctx=ctx)

    def file_host(self):
        return self.host


@dataclass
class LocalTarget(_HostTarget):
    """This machine's profile, set and switched by the controller's own process."""
    host: LocalHost = field(default_factory=LocalHost)


@dataclass
class SshTarget(_HostTarget):
    """A device reached as ``user@hostname`` on ``port`` with ``options``."""
    user: str
    hostname: str
    port: int | None = None
    options: SshOptions = field(default_factory=SshOptions)

    @property
    def host(self) -> SshHost:
        return SshHost(self.user, self.hostname, self.port, self.options)


@dataclass
class CommandTarget(Target):
    """This machine through a privileged helper: it gets the toplevel store path as its only argument,
    switches (rolling back itself on failure), and its exit code is the result. Rolling back to an older
    system is the same call with that system's path; generations are read from the local profile."""
    command: str
    timeout: float = 1800

    def activate(self, store_path, ctx=None, *, profile=DEFAULT_PROFILE):
        return activate_with_command(self.command, store_path, ctx, timeout=self.timeout)

    def rollback(self, store_path, ctx=None, *, profile=DEFAULT_PROFILE, generation=None):
        return activate_with_command(self.command, store_path, ctx, timeout=self.timeout)  # the helper sets it

    def generations(self, *, profile=DEFAULT_PROFILE, ctx=None):
        return generations_on(LocalHost(), profile=profile, ctx=ctx)

    def file_host(self):
        return HelperHost(self.command)  # the helper places them as root (its deliver-secrets action)


def no_target(device: str) -> str:
    """The error of a deploy or rollback of a device without a target (pages and JSON alike)."""
    return f"set a target first: device {device} has no deployment target yet ({TARGET_HELP})"


def parse_target(value, *, ssh: SshOptions | None = None, activation_command: str | None = None) -> Target:
    """The target named by ``value``; TargetError (a ValueError) with the message pages and API show.

    "local" -> CommandTarget when an activation command is configured, else LocalTarget;
    "ssh://user@host[:port]" -> SshTarget with ``ssh`` options (host: a name or address not starting
    with '-' or '.', or a bracketed IPv6 address; port 1 to 65535).
    No target yet ("" or None: a device created or imported without one) -> TargetError(NO_TARGET).
    """
    if value in ("", None):
        raise TargetError(NO_TARGET)
    if value == "local":
        return CommandTarget(activation_command) if activation_command else LocalTarget()
    match = _SSH.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise TargetError(BAD_TARGET)
    port = int(match.group("port")) if match.group("port") else None
    if port is not None and not 0 < port < 65536:
        raise TargetError(BAD_PORT)
    return SshTarget(match.group("user"), match.group("host"), port, ssh or SshOptions())


def activate(target: str, store_path: str, ctx=None, *, profile: str = DEFAULT_PROFILE,
             ssh: SshOptions | None = None) -> ActivationResult:
    """``parse_target(target, ssh=ssh).activate(...)``."""
    return parse_target(target, ssh=ssh).activate(store_path, ctx, profile=profile)


def rollback(target: str, store_path: str, ctx=None, *, profile: str = DEFAULT_PROFILE,
             ssh: SshOptions | None = None) -> ActivationResult:
    """``parse_target(target, ssh=ssh).rollback(...)``."""
    return parse_target(target, ssh=ssh).rollback(store_path, ctx, profile=profile)


def generations(target: str, *, profile: str = DEFAULT_PROFILE, ssh: SshOptions | None = None,
                ctx=None) -> list[Generation]:
    """``parse_target(target, ssh=ssh).generations(...)``."""
    return parse_target(target, ssh=ssh).generations(profile=profile, ctx=ctx)

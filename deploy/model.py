"""Plain inputs of the deploy library: what to generate, described without database rows.

``deploy.compose`` turns devices, tags and repositories into these for the job handlers; the library
modules that take them (render, flake, build, activate, many) never import the database.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

DEVICE_OWNER = "device"
TAG_OWNER_PREFIX = "tag-"
MANAGED_DIRS = ("hosts", "tags")   # the generated module files: hosts/<device>/, tags/<tag>/ (module_file_path)

# Module types are dotted Python paths ("mypkg.mod.Foo"); the module file is named "<type>.nix".
MODULE_TYPE_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass(frozen=True)
class ModuleFile:
    """One (device or tag) x module: the Nix text its ``write_nix_settings`` rendered.

    owner: "device" for the device's own module, "tag-<tagname>" for a module of one of its tags.
    module_type: the module's type, e.g. "thymis_controller.modules.thymis.ThymisDevice".
    body: Nix attribute definitions only (what ``write_nix_settings`` writes, priority already applied
    with ``lib.mkOverride``), e.g. 'networking.hostName = lib.mkOverride 80 "dev1";'. The generator wraps
    it as ``{ inputs, pkgs, lib, config, ... }: { <body> }``.
    """
    owner: str
    module_type: str
    body: str

    @property
    def tag(self) -> str | None:
        """The tag name for a tag's module, None for the device's own."""
        return self.owner[len(TAG_OWNER_PREFIX):] if self.owner.startswith(TAG_OWNER_PREFIX) else None


@dataclass
class DeviceConfig:
    """A device to put into the project flake as ``nixosConfigurations.<name>``.

    target: "local" or "ssh://user@host[:port]" (not used by generation; carried for deploy).
    files: its own module files (owner "device") and those of every tag it has (owner "tag-<name>").
    system: the Nix system the configuration is evaluated for.
    secrets_dir: the folder the controller places the device's secrets in (set as the device module's
    ``thymis.config.secrets-dir``, which makes it root-only at boot); None leaves the module's default.
    """
    name: str
    target: str = "local"
    files: list[ModuleFile] = field(default_factory=list)
    system: str = "x86_64-linux"
    secrets_dir: str | None = None


@dataclass
class FlakeInput:
    """An external repository as a flake input ``inputs.<name>``.

    url: a flake URL pinned to what was validated, e.g. "git+file:///data/repos/x.git?rev=<sha>".
    has_thymis_input: the repository's own flake declares an input named ``thymis`` (recorded by
    validation); the project's ``thymis`` then follows it.
    follows: optional ``{inner input: project input path}``, written as
    ``<name>.inputs.<inner>.follows = "<path>"`` (e.g. {"nixpkgs": "nixpkgs"} so that a repository's own
    nixpkgs input needs no download).
    """
    name: str
    url: str
    has_thymis_input: bool = False
    follows: dict[str, str] = field(default_factory=dict)


def module_file_path(owner: str, device: str, module_type: str) -> str:
    """Path of a module file in the project: hosts/<device>/<type>.nix or tags/<tag>/<type>.nix."""
    if owner == DEVICE_OWNER:
        return f"hosts/{device}/{module_type}.nix"
    if owner.startswith(TAG_OWNER_PREFIX):
        return f"tags/{owner[len(TAG_OWNER_PREFIX):]}/{module_type}.nix"
    raise ValueError(f"module owner must be 'device' or 'tag-<name>', not {owner!r}")

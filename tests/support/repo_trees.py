"""Builders for test repositories (plain folders, as exported from git).

Each builder writes a repository tree under a given folder and returns its
path. The lead's integration tests can commit the same trees to the test git
server.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

MARKER_README = "# Test modules\n\nThis repository contains thymis modules.\n"

VALID_FLAKE = """\
{
  description = "Test modules";
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";
  inputs.thymis.url = "github:Thymis-io/thymis";
  outputs = { self, nixpkgs, thymis }: {
    nixosModules.default = { ... }: { };
  };
}
"""

CURRENT_API_MODULES = '''\
import pathlib

import thymis_controller.modules.modules as modules
from thymis_controller import models
from thymis_controller.lib import read_into_base64
from thymis_controller.modules.modules import LocalizedString, ListType, SelectOneType, Setting


class Greeter(modules.Module):
    display_name = LocalizedString(en="Greeter", de="Begruesser")
    description = "Writes a greeting to /etc/greeting."
    category = "demo"
    icon = read_into_base64(pathlib.Path(__file__).parent / "greeter.svg")

    greeting = Setting(
        display_name=LocalizedString(en="Greeting", de="Gruss"),
        type="string",
        default="hello",
        description="The text.",
        example="hi",
        order=20,
        nix_attr_name="environment.etc.greeting.text",
    )
    level = Setting(
        display_name="Level",
        type=SelectOneType(select_one=[("Low", "low"), "high"]),
        default="low",
        order=10,
        nix_attr_name="demo.level",
    )
    port = Setting(display_name="Port", type="int", default=8080, order=30, nix_attr_name="demo.port")
    enable = Setting(display_name="Enable", type="bool", default=True, order=40, nix_attr_name="demo.enable")


class Users(modules.Module):
    display_name = "Users"

    users = Setting(
        display_name="Users",
        type=ListType(
            settings={"name": Setting(display_name="Name", type="string"),
                      "admin": Setting(display_name="Admin", type="bool")},
            element_name=LocalizedString(en="User"),
        ),
        default=[],
        nix_attr_name="demo.users",
    )
    note = Setting(display_name="Note", type="textarea", default="")

    def write_nix_settings(self, f, path, module_settings: models.ModuleSettings, priority: int, project):
        f.write("  # users module\\n")
        super().write_nix_settings(f, path, module_settings, priority, project)
'''

GREETER_SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4"><rect width="4" height="4"/></svg>\n'

OLD_API_MODULES = '''\
import pathlib

import thymis_controller
import thymis_controller.lib
from thymis_controller import models, modules
from thymis_controller.models import ModuleSettings, Setting
from thymis_controller.modules import Module


class Kiosk(Module):
    displayName: str = "Kiosk (2024)"
    icon: str = thymis_controller.lib.read_into_base64(pathlib.Path(__file__).parent / "assets" / "missing.png")

    kiosk_url = Setting(
        name="kiosk.url",
        type="string",
        default="https://example.com",
        description="The URL to display in kiosk mode.",
        example="https://example.com",
    )
    rotation = models.Setting(
        name="kiosk.rotation",
        type="select-one",
        options=["normal", "left"],
        default="normal",
        description="The rotation of the display.",
        example="normal",
    )


class HomeAssistant(modules.Module):
    displayName: str = "Home Assistant"

    timezone = Setting(name="homeassistant.timezone", type="string", default="Europe/Berlin", description="Timezone.")

    def write_nix_settings(self, f, module_settings: thymis_controller.models.ModuleSettings, priority: int):
        timezone = (
            module_settings.settings["timezone"] if "timezone" in module_settings.settings else self.timezone.default
        )
        f.write("  services.home-assistant.enable = true;\\n")
        f.write(f"  # timezone {timezone}\\n")
        return super().write_nix_settings(f, module_settings, priority)
'''


def write_tree(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text) if text.startswith("\n") else text, encoding="utf-8")
    return root


def make_repo(
    root: Path,
    *,
    readme: str | None = MARKER_README,
    flake: str | None = VALID_FLAKE,
    files: dict[str, str] | None = None,
) -> Path:
    """A repository folder with README.md, flake.nix and the given extra files."""
    tree = dict(files or {})
    if readme is not None:
        tree["README.md"] = readme
    if flake is not None:
        tree["flake.nix"] = flake
    return write_tree(root, tree)


def valid_repo(root: Path, package: str = "demo_modules") -> Path:
    """The valid repository: two current-API modules in one package."""
    return make_repo(
        root,
        files={
            f"{package}/__init__.py": "",
            f"{package}/modules.py": CURRENT_API_MODULES,
            f"{package}/greeter.svg": GREETER_SVG,
        },
    )


def old_api_repo(root: Path, package: str = "legacy_modules") -> Path:
    """A repository written for the 2024 module API."""
    return make_repo(root, files={f"{package}/__init__.py": "", f"{package}/modules.py": OLD_API_MODULES})


def single_module_repo(root: Path, package: str, body: str, module_file: str = "modules.py") -> Path:
    """A repository whose package holds one file with the given source."""
    return make_repo(root, files={f"{package}/__init__.py": "", f"{package}/{module_file}": body})


def four_module_repo(root: Path, package: str = "bench_modules") -> Path:
    """Four modules over two files (used by the benchmark)."""
    files = {f"{package}/__init__.py": "", f"{package}/a.py": CURRENT_API_MODULES,
             f"{package}/greeter.svg": GREETER_SVG}
    files[f"{package}/b.py"] = OLD_API_MODULES
    return make_repo(root, files=files)

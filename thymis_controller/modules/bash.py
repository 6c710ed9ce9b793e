"""Built-in: run a Bash script on the device (once at boot, or on a calendar timer).

The script text is written as an escaped Nix string, never spliced into Nix code.
"""

import pathlib
import re

import thymis_controller.modules.modules as modules
from thymis_controller.lib import read_into_base64
from thymis_controller.nix import NixPackage, nix_attr_name, to_nix

_ICONS = pathlib.Path(__file__).parent / "icons"


def service_name(path, project) -> str:
    """A systemd unit name unique to the device or tag the module belongs to."""
    suffix = ""
    if path is not None and project is not None:
        try:
            suffix = str(pathlib.PurePath(path).relative_to(project.repo_dir))
        except ValueError:
            suffix = pathlib.PurePath(path).name
    suffix = re.sub(r"[^a-z0-9]+", "-", suffix.lower()).strip("-")
    return "thymis-bash" + (f"-{suffix}" if suffix else "")


class BashModule(modules.Module):
    display_name = modules.LocalizedString(en="Bash Script", de="Bash-Skript")
    description = "Runs a Bash script on the device, once at boot or on a systemd calendar schedule."
    category = "scripting"
    icon = read_into_base64(_ICONS / "script.svg")

    script = modules.Setting(
        display_name=modules.LocalizedString(en="Script", de="Skript"),
        type=modules.TextAreaCodeType(language="bash"),
        default="",
        description="The Bash script to run.",
        example='echo "hello from $(hostname)"',
        order=10,
    )
    on_calendar = modules.Setting(
        display_name=modules.LocalizedString(en="Schedule", de="Zeitplan"),
        type="string",
        default="",
        description="A systemd OnCalendar expression; empty runs the script once at boot.",
        example="hourly",
        order=20,
    )

    def write_nix_settings(self, f, path, module_settings, priority, project):
        script = module_settings.settings.get("script") or ""
        if not script.strip():
            return
        calendar = (module_settings.settings.get("on_calendar") or "").strip()
        name = service_name(path, project)
        service = {
            "description": "Bash script from the Thymis controller",
            "serviceConfig": {"Type": "oneshot"},
            "path": [NixPackage("bash"), NixPackage("coreutils")],
            "script": script,
        }
        if not calendar:
            service["wantedBy"] = ["multi-user.target"]
        f.write(f"  systemd.services.{nix_attr_name(name)} = {to_nix(service, 1)};\n")
        if calendar:
            timer = {"wantedBy": ["timers.target"], "timerConfig": {"OnCalendar": calendar}}
            f.write(f"  systemd.timers.{nix_attr_name(name)} = {to_nix(timer, 1)};\n")

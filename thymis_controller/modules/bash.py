"""Built-in: a Bash script run by a systemd service on a systemd timer (Thymis's BashModule).

Written as Thymis writes it: ``systemd.services."thymis-bash-service-<hosts|tags>-<name>"`` (a oneshot
service with ``#!/bin/bash`` + the script and the chosen packages on its PATH) and a timer of the same
name (``wantedBy = [ "timers.target" ]`` and the ``timerConfig`` of the timer setting). Unlike Thymis, the
script is escaped for the Nix string it is written into (``''`` and ``${`` stay literal) and package
names must be attribute paths, so no setting can add Nix code. A device saved with this controller's
earlier ``on_calendar`` setting keeps its calendar timer.
"""

import pathlib

import thymis_controller.modules.modules as modules
from thymis_controller import models
from thymis_controller.lib import read_into_base64
from thymis_controller.modules._service import indented_string, package_list, service_name, timer_lines
from thymis_controller.nix import nix_string
from thymis_controller.project import Project

_ICONS = pathlib.Path(__file__).parent / "icons"


def package_setting(names: tuple, element: tuple, description_en: str, description_de: str,
                    order: int) -> modules.Setting:
    """A list of package names: ``names`` / ``element`` are (English, German) labels."""
    element_name = modules.LocalizedString(en=element[0], de=element[1])
    return modules.Setting(
        display_name=modules.LocalizedString(en=names[0], de=names[1]),
        type=modules.ListType(
            settings={"package": modules.Setting(display_name=element_name, type="string", order=0)},
            element_name=element_name,
        ),
        default=[],
        description=modules.LocalizedString(en=description_en, de=description_de),
        order=order,
    )


def timer_setting(what: str, was: str) -> modules.Setting:
    return modules.Setting(
        display_name=modules.LocalizedString(en="Timer Configuration", de="Timer Konfiguration"),
        type=modules.SystemdTimerType(),
        default=None,
        description=modules.LocalizedString(en=f"The timer configuration for the {what}.",
                                            de=f"Die Timer-Konfiguration für das {was}."),
        example="",
        order=10,
    )


def write_service(f, name: str, service_lines: list[str], timers: list[str], let: str = "") -> None:
    unit = nix_string(name)
    f.write(f"  systemd.services.{unit} = {let}{{\n")
    f.writelines(f"    {line}\n" for line in service_lines)
    f.write("    serviceConfig = {\n")
    f.writelines(f"      {line}\n" for line in (["ExecStart = \"${script}\";"] if let else []) + ['Type = "oneshot";'])
    f.write("    };\n  };\n")
    f.write(f"  systemd.timers.{unit} = {{\n    wantedBy = [ \"timers.target\" ];\n")
    f.writelines(f"    {line}\n" for line in timers)
    f.write("  };\n")


class BashModule(modules.Module):
    display_name = "Bash Module"
    description = modules.LocalizedString(
        en="Runs a Bash script on the device on a systemd timer.",
        de="Führt ein Bash-Skript auf dem Gerät über einen systemd-Timer aus.",
    )
    category = "scripting"
    icon = read_into_base64(_ICONS / "script.svg")

    timer_config = timer_setting("bash script", "Bash-Skript")
    packages = package_setting(("Required Packages", "Benötigte Pakete"), ("Package", "Paket"),
                               "List of packages from nixpkgs: https://search.nixos.org/packages",
                               "Liste der Pakete aus nixpkgs: https://search.nixos.org/packages", 20)
    script = modules.Setting(
        display_name=modules.LocalizedString(en="Bash Script", de="Bash-Skript"),
        type=modules.TextAreaCodeType(language="bash"),
        default="",
        description=modules.LocalizedString(en="The bash script to be executed.",
                                            de="Das auszuführende Bash-Skript."),
        example="",
        order=30,
    )

    def write_nix_settings(self, f, path, module_settings: models.ModuleSettings, priority: int, project: Project):
        settings = module_settings.settings
        script = (settings.get("script", self.script.default) or "").strip()
        text = "#!/bin/bash\n" + script + "\n"
        lines = [f"script = {indented_string(text, 6)};",
                 f"path = {package_list(settings.get('packages', self.packages.default))};"]
        write_service(f, service_name("thymis-bash-service-", path, project), lines,
                      timer_lines(settings, self.timer_config.default))

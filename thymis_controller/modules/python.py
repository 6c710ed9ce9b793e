"""Built-in: a Python script run by a systemd service on a systemd timer (Thymis's PythonModule).

As Thymis writes it: the script becomes ``pkgs.writers.writePython3 "<unit>-script"`` with the chosen
``python3Packages`` as its libraries, started by ``systemd.services."thymis-python-service-<…>"`` (a
oneshot service with the chosen system packages on its PATH), with a timer of the same name. The script is
escaped for its Nix string and package names must be attribute paths (see the Bash module).
"""

import pathlib

import thymis_controller.modules.modules as modules
from thymis_controller import models
from thymis_controller.lib import read_into_base64
from thymis_controller.modules._service import indented_string, package_list, service_name, timer_lines
from thymis_controller.modules.bash import package_setting, timer_setting, write_service
from thymis_controller.nix import nix_string
from thymis_controller.project import Project

_ICONS = pathlib.Path(__file__).parent / "icons"


class PythonModule(modules.Module):
    display_name = "Python Module"
    description = modules.LocalizedString(
        en="Runs a Python script on the device on a systemd timer.",
        de="Führt ein Python-Skript auf dem Gerät über einen systemd-Timer aus.",
    )
    category = "scripting"
    icon = read_into_base64(_ICONS / "script.svg")

    timer_config = timer_setting("Python script", "Python-Skript")
    python_packages = package_setting(
        ("Python Packages", "Python-Pakete"), ("Python Package", "Python-Paket"),
        "List of Python packages from python3Packages (e.g., requests, numpy, pandas)",
        "Liste der Python-Pakete aus python3Packages (z.B. requests, numpy, pandas)", 20)
    system_packages = package_setting(
        ("System Packages", "System-Pakete"), ("System Package", "System-Paket"),
        "List of system packages from nixpkgs (e.g., git, curl, ffmpeg)",
        "Liste der System-Pakete aus nixpkgs (z.B. git, curl, ffmpeg)", 30)
    script = modules.Setting(
        display_name=modules.LocalizedString(en="Python Script", de="Python-Skript"),
        type=modules.TextAreaCodeType(language="python"),
        default="",
        description=modules.LocalizedString(en="The Python script to be executed.",
                                            de="Das auszuführende Python-Skript."),
        example="",
        order=40,
    )

    def write_nix_settings(self, f, path, module_settings: models.ModuleSettings, priority: int, project: Project):
        settings = module_settings.settings
        name = service_name("thymis-python-service-", path, project)
        script = (settings.get("script", self.script.default) or "").strip() + "\n"
        libraries = package_list(settings.get("python_packages", self.python_packages.default), "python3Packages.")
        let = (f"let\n    script = pkgs.writers.writePython3 {nix_string(name + '-script')} {{\n"
               f"      libraries = {libraries};\n    }} {indented_string(script, 6)};\n  in ")
        lines = [f"path = {package_list(settings.get('system_packages', self.system_packages.default))};"]
        write_service(f, name, lines, timer_lines(settings, self.timer_config.default), let=let)

"""Built-in: time zone and NTP servers (Thymis's LocalizationModule).

Writes ``networking.timeServers = [ … ];`` for the servers given and ``time.timeZone = "<zone>";`` (the
default zone when none is chosen), both without a priority, as Thymis does.
"""

import pathlib

import thymis_controller.modules.modules as modules
from thymis_controller import models
from thymis_controller.lib import read_into_base64
from thymis_controller.nix.templating import convert_python_value_to_nix
from thymis_controller.project import Project

_ICONS = pathlib.Path(__file__).parent / "icons"


class LocalizationModule(modules.Module):
    display_name = modules.LocalizedString(en="Localization & Time", de="Lokalisierung & Zeit")
    category = modules.LocalizedString(en="System", de="System")
    description = modules.LocalizedString(en="System timezone and NTP time servers.",
                                          de="System-Zeitzone und NTP-Zeitserver.")
    icon = read_into_base64(_ICONS / "device.svg")

    timezone = modules.Setting(
        display_name=modules.LocalizedString(en="Timezone", de="Zeitzone"),
        type="string",
        default="Europe/Berlin",
        description=modules.LocalizedString(en="The timezone.", de="Die Zeitzone."),
        example="Europe/Berlin",
        order=10,
    )
    time_servers = modules.Setting(
        display_name=modules.LocalizedString(en="Time Servers", de="Zeitserver"),
        type=modules.ListType(
            settings={"server": modules.Setting(
                display_name=modules.LocalizedString(en="Server", de="Server"), type="string", default="",
                description=modules.LocalizedString(en="The NTP time server.", de="Der NTP Zeitserver."),
                example="")},
            element_name=modules.LocalizedString(en="Server", de="Server"),
        ),
        default=None,
        description=modules.LocalizedString(en="Time servers.", de="Zeitserver."),
        example="",
        order=20,
    )

    def write_nix_settings(self, f, path, module_settings: models.ModuleSettings, priority: int, project: Project):
        settings = module_settings.settings
        servers = settings.get("time_servers", self.time_servers.default)
        zone = settings.get("timezone", self.timezone.default)
        if servers:
            names = [entry.get("server") if isinstance(entry, dict) else None for entry in servers]
            f.write(f"  networking.timeServers = {convert_python_value_to_nix(names, ident=1)};\n")
        if zone:
            f.write(f"  time.timeZone = {convert_python_value_to_nix(zone)};\n")
        super().write_nix_settings(f, path, module_settings, priority, project)

"""Built-in: the core device module (hostname, device type, NixOS state version)."""

import pathlib
import re

import thymis_controller.modules.modules as modules
from thymis_controller.lib import read_into_base64
from thymis_controller.nix import NixError

_ICONS = pathlib.Path(__file__).parent / "icons"
_HOSTNAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\Z")


class ThymisDevice(modules.Module):
    display_name = modules.LocalizedString(en="Core Device Configuration", de="Gerätekonfiguration")
    description = modules.LocalizedString(
        en="Hostname, hardware type and NixOS state version of a device.",
        de="Hostname, Hardwaretyp und NixOS-Zustandsversion eines Geräts.",
    )
    category = "core"
    icon = read_into_base64(_ICONS / "device.svg")

    device_type = modules.Setting(
        display_name=modules.LocalizedString(en="Device type", de="Gerätetyp"),
        type=modules.SelectOneType(
            select_one=[
                ("Generic x86_64", "generic-x86_64"),
                ("Generic aarch64", "generic-aarch64"),
                ("Raspberry Pi 4", "raspberry-pi-4"),
            ]
        ),
        default="generic-x86_64",
        description="The hardware the configuration is built for.",
        nix_attr_name="thymis.config.device-type",
        order=10,
    )
    device_name = modules.Setting(
        display_name=modules.LocalizedString(en="Hostname", de="Hostname"),
        type="string",
        default="",
        description="The device's hostname (lower-case letters, digits and dashes).",
        example="sensor-01",
        nix_attr_name="networking.hostName",
        order=20,
    )
    nix_state_version = modules.Setting(
        display_name=modules.LocalizedString(en="NixOS state version", de="NixOS-Zustandsversion"),
        type=modules.SelectOneType(select_one=["24.05", "24.11", "25.05"]),
        default="24.11",
        description="The NixOS release whose defaults for stateful data the device keeps.",
        nix_attr_name="system.stateVersion",
        order=30,
    )

    def write_nix_settings(self, f, path, module_settings, priority, project):
        hostname = module_settings.settings.get("device_name")
        if hostname and not _HOSTNAME.match(hostname):
            raise NixError(f"not a valid hostname: {hostname!r}")
        settings = dict(module_settings.settings)
        if not hostname:
            settings.pop("device_name", None)  # empty: leave NixOS's default
        module_settings = type(module_settings)(type=module_settings.type, settings=settings)
        super().write_nix_settings(f, path, module_settings, priority, project)

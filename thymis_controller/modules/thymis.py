"""Built-in: the core device module (Thymis's ThymisDevice): hardware type, image format, hostname,
NixOS state version and the controller URL the device's agent reports to.

Nix written, as Thymis writes it:

* ``imports``: for a device (``hosts/<name>``), the thymis flake's ``thymis-device-<type>`` and
  ``thymis-image-<format>`` modules (the first format the type allows when none is chosen). Each is
  imported only when the thymis flake in use has it, so a project also builds with a thymis flake
  that only provides ``nixosModules.thymis-device`` (this controller's own and its test stand-in).
* ``thymis.config.agent.controller-url``: the chosen URL, else the controller's at priority 100.
* ``thymis.config.device-name`` when a hostname is set, plus ``networking.hostName`` with the same value
  and priority, so the name holds whichever thymis device module is used.
* the settings with a NixOS option (device type, image format, state version) as ``lib.mkOverride``.
"""

import pathlib
import re

import thymis_controller.modules.modules as modules
from thymis_controller import models
from thymis_controller.config import global_settings
from thymis_controller.lib import read_into_base64
from thymis_controller.nix import NixError, nix_string
from thymis_controller.nix.templating import convert_python_value_to_nix
from thymis_controller.project import Project

_ICONS = pathlib.Path(__file__).parent / "icons"
_HOSTNAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
_FLAKE_MODULE = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")

# device type -> the image formats it can be built as, in the order of the format list
IMAGE_FORMATS_BY_TYPE = {
    "generic-x86_64": ["nixos-vm", "usb-stick-installer"],
    "generic-aarch64": ["nixos-vm"],
    "raspberry-pi-3": ["sd-card-image"],
    "raspberry-pi-4": ["sd-card-image"],
    "raspberry-pi-5": ["sd-card-image"],
}


def _text(en: str, de: str) -> modules.LocalizedString:
    return modules.LocalizedString(en=en, de=de)


class ThymisDevice(modules.Module):
    display_name = "Device"
    description = _text(
        "Core device identity: hardware type, image format, hostname and state version.",
        "Kern-Geräteidentität: Hardwaretyp, Image-Format, Hostname und State-Version.",
    )
    category = "core"
    icon = read_into_base64(_ICONS / "device.svg")

    device_type = modules.Setting(
        display_name=_text("Device Type", "Gerätetyp"),
        nix_attr_name="thymis.config.device-type",
        type=modules.SelectOneType(
            select_one=[
                ("Generic x86-64", "generic-x86_64"),
                ("Raspberry Pi 3", "raspberry-pi-3"),
                ("Raspberry Pi 4", "raspberry-pi-4"),
                ("Raspberry Pi 5", "raspberry-pi-5"),
                ("Generic aarch64", "generic-aarch64"),  # kept for devices saved before the Thymis list
            ],
            extra_data={"only_editable_on_target_type": ["config"]},
        ),
        default="",
        description=_text("The type of device.", "Der Typ des Geräts."),
        example="",
        order=10,
    )
    image_format = modules.Setting(
        display_name=_text("Image Format", "Image Format"),
        nix_attr_name="thymis.config.image-format",
        type=modules.SelectOneType(
            select_one=[
                ("SD-Card Image", "sd-card-image"),
                ("Virtual Disk Image (qcow)", "qcow"),
                ("USB Stick Installer", "usb-stick-installer"),
                ("NixOS VM", "nixos-vm"),
            ],
            extra_data={
                "restrict_values_on_other_key": {"device_type": IMAGE_FORMATS_BY_TYPE},
                "only_editable_on_target_type": ["config"],
            },
        ),
        default="",
        description=_text("The image format.", "Das Image-Format."),
        example="",
        order=15,
    )
    device_name = modules.Setting(
        display_name=_text("Default Hostname", "Standard-Hostname"),
        type="string",
        default="",
        description=_text(
            "The hostname of the devices of this configuration (letters, digits and dashes). "
            "Empty: the thymis device module's default, 'thymis'.",
            "Der Hostname der Geräte dieser Konfiguration (Buchstaben, Ziffern und Bindestriche). "
            "Leer: der Standard des Thymis-Gerätemoduls, 'thymis'.",
        ),
        example="my-raspberry-pi",
        order=20,
    )
    nix_state_version = modules.Setting(
        display_name=_text("NixOS State Version", "NixOS State Version"),
        nix_attr_name="system.stateVersion",
        type=modules.SelectOneType(select_one=["24.05", "24.11", "25.05", "25.11", "26.05"]),
        default="26.05",
        description=_text("The NixOS state version.", "Die NixOS Zustandsversion."),
        example="",
        order=25,
    )
    agent_controller_url = modules.Setting(
        display_name=_text("Thymis Controller URL", "Thymis Controller-URL"),
        type="string",
        default="",
        description=_text("URL of this Thymis Controller instance", "URL dieser Thymis Controller-Instanz"),
        example="",
        order=80,
    )

    def first_image_format(self, device_type: str) -> str | None:
        allowed = IMAGE_FORMATS_BY_TYPE.get(device_type, [])
        return next((value for _, value in self.image_format.type.options() if value in allowed), None)

    def _import(self, name: str) -> str:
        if not _FLAKE_MODULE.match(name):
            raise NixError(f"not a thymis flake module name: {name!r}")
        attr = nix_string(name)
        return f"lib.optional (inputs.thymis.nixosModules ? {attr}) inputs.thymis.nixosModules.{attr}"

    def write_nix_settings(self, f, path, module_settings: models.ModuleSettings, priority: int, project: Project):
        settings = module_settings.settings
        device_type = settings.get("device_type", self.device_type.default) or ""
        image_format = settings.get("image_format", self.image_format.default) or ""
        url = settings.get("agent_controller_url", self.agent_controller_url.default) or ""
        hostname = settings.get("device_name") or ""
        if hostname and (not isinstance(hostname, str) or not _HOSTNAME.match(hostname)):
            raise NixError(f"not a valid hostname: {hostname!r} (letters, digits and dashes, at most 63)")

        wanted = []
        if pathlib.PurePath(path).parent.name == "hosts":
            if device_type:
                wanted.append(f"thymis-device-{device_type}")
            chosen = image_format or (self.first_image_format(device_type) if device_type else None)
            if chosen:
                wanted.append(f"thymis-image-{chosen}")
        f.write("  imports = [ ]" + "".join(f"\n    ++ {self._import(n)}" for n in wanted) + ";\n")

        controller_url = url or global_settings.AGENT_ACCESS_URL or global_settings.BASE_URL or ""
        f.write(f"  thymis.config.agent.controller-url = lib.mkOverride {priority if url else 100} "
                f"{convert_python_value_to_nix(controller_url)};\n")
        if hostname:
            for option in ("thymis.config.device-name", "networking.hostName"):
                f.write(f"  {option} = lib.mkOverride {priority} {convert_python_value_to_nix(hostname)};\n")
        super().write_nix_settings(f, path, module_settings, priority, project)

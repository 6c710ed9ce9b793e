"""Built-in: the operator's own Nix code, written into the configuration as-is.

This is the one module that writes operator text verbatim (as :class:`RawNix`):
whoever may edit a device's modules can already decide its whole NixOS
configuration, so nothing is gained by escaping here, and escaping would make
the module useless. Every other value goes through ``thymis_controller.nix``.
"""

import pathlib

import thymis_controller.modules.modules as modules
from thymis_controller.lib import read_into_base64
from thymis_controller.nix import RawNix

_ICONS = pathlib.Path(__file__).parent / "icons"


class CustomNixModule(modules.Module):
    display_name = modules.LocalizedString(en="Custom Nix", de="Eigener Nix-Code")
    description = (
        "NixOS option definitions written into the device configuration exactly as typed "
        "(not escaped), e.g. `services.openssh.enable = true;`."
    )
    category = "scripting"
    icon = read_into_base64(_ICONS / "code.svg")

    nix_code = modules.Setting(
        display_name=modules.LocalizedString(en="Nix code (written as-is)", de="Nix-Code (unverändert)"),
        type=modules.TextAreaCodeType(language="nix"),
        default="",
        description="Attribute definitions inside the device's NixOS module; written verbatim.",
        example="services.openssh.enable = true;\nenvironment.systemPackages = [ pkgs.htop ];",
        order=10,
    )

    def write_nix_settings(self, f, path, module_settings, priority, project):
        code = module_settings.settings.get("nix_code") or ""
        if code.strip():
            # Deliberately verbatim: see the module docstring.
            raw = RawNix(code)
            f.write("  # Custom Nix (operator's text, verbatim)\n")
            f.write(raw if raw.endswith("\n") else raw + "\n")

"""Built-in: Nix text written into the configuration as typed (Thymis's WhateverModule, "Custom Module").

Like CustomNixModule, the one other module that writes operator text verbatim: whoever may edit a
device's modules already decides its whole NixOS configuration, and escaping would defeat the module.
Thymis keeps the text in a setting named ``settings``; so does this module.
"""

import pathlib

import thymis_controller.modules.modules as modules
from thymis_controller.lib import read_into_base64
from thymis_controller.nix import RawNix


class WhateverModule(modules.Module):
    display_name = "Custom Module"
    description = "NixOS option definitions written into the configuration exactly as typed (not escaped)."
    category = "scripting"
    icon = read_into_base64(pathlib.Path(__file__).parent / "icons" / "code.svg")

    settings = modules.Setting(
        display_name=modules.LocalizedString(en="Settings", de="Einstellungen"),
        type="textarea",
        default="",
        description="The settings for the freeform module (Nix attribute definitions, written verbatim).",
        example="services.openssh.enable = true;",
        nix_attr_name=None,
    )

    def write_nix_settings(self, f, path, module_settings, priority, project):
        text = module_settings.settings.get("settings", self.settings.default) or ""
        if not isinstance(text, str):
            raise TypeError("the Custom Module's settings must be text")
        f.write(RawNix(text))  # deliberately verbatim: see the module docstring

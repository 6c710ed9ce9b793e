"""Built-in: a browser in kiosk mode on the device's display (Thymis's Kiosk).

The same NixOS setup as Thymis's: X with SDDM logging in the user ``thymiskiosk`` automatically, i3 (bar
hidden, no screen blanking) starting Chromium with ``--kiosk <URL>``, xrandr rotation and mode for HDMI-1,
PulseAudio at the chosen volume and sink, an optional VNC server on port 5900, and a nonce in the display
manager's environment so that a change of settings restarts it. Unlike Thymis, every value is checked for
the shell line it ends up in (an http(s) URL, an xrandr mode name, 0-100 volume, a plain sink name and VNC
password) and the nonce is a hash of the settings, the same on every render.
"""

import hashlib
import json
import pathlib
import re

import thymis_controller.modules.modules as modules
from thymis_controller import models
from thymis_controller.lib import read_into_base64
from thymis_controller.modules._service import indented_string
from thymis_controller.nix import NixError, nix_string
from thymis_controller.project import Project

_URL = re.compile(r"https?://[^\s'\"\\`$;|&<>(){}]+\Z")
_MODE = re.compile(r"[A-Za-z0-9._]+\Z")
_PLAIN = re.compile(r"[A-Za-z0-9 ._:-]*\Z")
BIN = "/run/current-system/sw/bin"


def _t(en: str, de: str) -> modules.LocalizedString:
    return modules.LocalizedString(en=en, de=de)


def _checked(pattern, value, what: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise NixError(f"{what} {str(value)[:80]!r} cannot be used (see the setting's description)")
    return value


class Kiosk(modules.Module):
    display_name = "Kiosk"
    description = _t("Shows a web page full-screen on the device's display.",
                     "Zeigt eine Webseite im Vollbild auf dem Bildschirm des Geräts.")
    category = "display"
    icon = read_into_base64(pathlib.Path(__file__).parent / "icons" / "device.svg")

    kiosk_url = modules.Setting(display_name=_t("URL", "URL"), type="string", default="https://example.com",
                                description="The URL to display in kiosk mode (http or https).",
                                example="https://example.com", order=10)
    xrandr_mode = modules.Setting(display_name=_t("Display mode", "Bildschirmmodus"), type="string",
                                  default="1024x600_60.00", description="xrandr mode.", example="1024x600_60.00",
                                  order=40)
    xrandr_rotation = modules.Setting(
        display_name=_t("Display rotation", "Bildschirmrotation"),
        type=modules.SelectOneType(select_one=["normal", "left", "right", "inverted"]), default="normal",
        description="xrandr rotation.", example="normal", order=50)
    volume = modules.Setting(display_name=_t("Volume", "Lautstärke"), type="int", default=100,
                             description="Volume between 0% and 100%.", example="100", order=55)
    audio_sink_fuzzy = modules.Setting(
        display_name=_t("Audio Sink", "Audio Sink"), type="string", default="",
        description="Part of the audio sink's name, e.g. 'hdmi' (list them on the device with "
                    "`pactl list short sinks` as the kiosk user).", example="HDMI", order=57)
    enable_vnc = modules.Setting(display_name=_t("Enable VNC server", "VNC-Server aktivieren"), type="bool",
                                 default=False, description="Enable VNC server.", example="true", order=60)
    vnc_password = modules.Setting(display_name=_t("VNC password", "VNC-Passwort"), type="string",
                                   default="password", description="VNC password.", example="password", order=70)

    def _value(self, settings: dict, name: str):
        return settings[name] if name in settings else getattr(self, name).default

    def i3_config(self, settings: dict) -> str:
        url = _checked(_URL, self._value(settings, "kiosk_url"), "kiosk URL")
        rotation = self._value(settings, "xrandr_rotation")
        if rotation not in ("normal", "left", "right", "inverted"):
            raise NixError(f"display rotation {rotation!r} is not one of normal, left, right, inverted")
        volume = max(0, min(100, int(self._value(settings, "volume"))))
        sink = _checked(_PLAIN, self._value(settings, "audio_sink_fuzzy") or "", "audio sink")
        lines = ["# i3 config file (v4)", "bar {", "    mode invisible", "}",
                 f'exec "{BIN}/xrandr --newmode 1024x600_60.00  48.96  1024 1064 1168 1312  600 601 604 622  '
                 f'-HSync +Vsync; {BIN}/xrandr --addmode HDMI-1 1024x600_60.00;"']
        if rotation != "normal":
            lines.append(f'exec "sleep 2; {BIN}/xrandr --output HDMI-1 --rotate {rotation}"')
        if "xrandr_mode" in settings:
            mode = _checked(_MODE, settings["xrandr_mode"], "display mode")
            lines.append(f'exec "sleep 2; {BIN}/xrandr --output HDMI-1 --mode {mode}"')
        else:
            lines.append(f'exec "sleep 2; {BIN}/xrandr --output HDMI-1 --auto"')
        lines += [f'exec "{BIN}/xset s off"', f'exec "{BIN}/xset -dpms"',
                  'exec "${pkgs.unclutter}/bin/unclutter"',
                  'exec ${pkgs.bash}/bin/bash -c "rm -rf ~/.config/chromium/Singleton*; '
                  f"${{pkgs.chromium}}/bin/chromium --kiosk '{url}' --disable-gpu\""]
        if self._value(settings, "enable_vnc"):
            password = _checked(_PLAIN, self._value(settings, "vnc_password") or "", "VNC password")
            lines += ['exec ${pkgs.bash}/bin/bash -c "mkdir -p $HOME/tigervnc; ${pkgs.tigervnc}/bin/vncpasswd -f '
                      f"<<< '{password}' > $HOME/tigervnc/passwd\"",
                      "exec ${pkgs.tigervnc}/bin/x0vncserver -display :0 -PasswordFile=$HOME/tigervnc/passwd"]
        lines.append(f'exec "${{pkgs.pamixer}}/bin/pamixer --set-volume {volume}"')
        if sink:
            lines.append("exec \"${pkgs.pulseaudio}/bin/pactl set-default-sink $(${pkgs.pulseaudio}/bin/pactl "
                         f"list short sinks | grep -m1 -i '{sink}' | cut -f1)\"")
        return "\n".join(lines) + "\n"

    def write_nix_settings(self, f, path, module_settings: models.ModuleSettings, priority: int, project: Project):
        settings = module_settings.settings
        # The i3 config holds Nix interpolations of packages (${pkgs.chromium}); operator values in it are
        # checked above, and the escaping of indented_string is undone for those on purpose.
        config = indented_string(self.i3_config(settings), 4).replace('${"$"}{pkgs.', "${pkgs.")
        nonce = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
        p = priority
        f.write(
            f"  services.xserver.enable = lib.mkOverride {p} true;\n"
            f"  services.displayManager.sddm.enable = lib.mkOverride {p} true;\n"
            f"  services.displayManager.autoLogin.enable = lib.mkOverride {p} true;\n"
            f'  services.displayManager.autoLogin.user = lib.mkOverride {p} "thymiskiosk";\n'
            f"  users.users.thymiskiosk = lib.mkOverride {p} {{\n"
            "    isNormalUser = true;\n    createHome = true;\n  };\n"
            "  services.pipewire.enable = false;\n"
            "  hardware.pulseaudio.enable = true;\n"
            "  hardware.pulseaudio.support32Bit = true;\n"
            f"  services.xserver.windowManager.i3.enable = lib.mkOverride {p} true;\n"
            f"  services.xserver.windowManager.i3.configFile = lib.mkOverride {p} "
            f'(pkgs.writeText "i3-config" {config});\n'
            f"  systemd.services.display-manager.restartIfChanged = lib.mkOverride {p} true;\n"
            f"  systemd.services.display-manager.environment.NONCE = lib.mkOverride {p} {nix_string(nonce)};\n"
            "  networking.firewall.allowedTCPPorts = [ 5900 ];\n"
        )

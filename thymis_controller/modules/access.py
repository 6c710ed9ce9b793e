"""Built-in: SSH access and the root account (authorized keys, password hash)."""

import pathlib
import re

import thymis_controller.modules.modules as modules
from thymis_controller.lib import read_into_base64
from thymis_controller.nix import NixError, to_nix

_ICONS = pathlib.Path(__file__).parent / "icons"
_KEY = re.compile(r"(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp\d+|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)"
                  r" [A-Za-z0-9+/=]+( [^\n\r]*)?\Z")
_HASH = re.compile(r"(\$[A-Za-z0-9]+\$[^\s:]+|!|\*)\Z")


class SSHAccess(modules.Module):
    display_name = modules.LocalizedString(en="SSH & Users", de="SSH & Benutzer")
    description = "OpenSSH server, the keys allowed to log in as root, and the root password hash."
    category = "security"
    icon = read_into_base64(_ICONS / "key.svg")

    ssh_enable = modules.Setting(
        display_name=modules.LocalizedString(en="Enable SSH server", de="SSH-Server aktivieren"),
        type="bool",
        default=True,
        nix_attr_name="services.openssh.enable",
        order=10,
    )
    password_authentication = modules.Setting(
        display_name=modules.LocalizedString(en="Allow password login", de="Passwort-Login erlauben"),
        type="bool",
        default=False,
        description="Whether SSH accepts passwords (keys are always accepted).",
        nix_attr_name="services.openssh.settings.PasswordAuthentication",
        order=20,
    )
    authorized_keys = modules.Setting(
        display_name=modules.LocalizedString(en="Authorized keys", de="Autorisierte Schlüssel"),
        type=modules.ListType(
            settings={
                "key": modules.Setting(
                    display_name=modules.LocalizedString(en="Public key", de="Öffentlicher Schlüssel"),
                    type="string",
                    default="",
                    example="ssh-ed25519 AAAAC3Nza... admin@laptop",
                )
            },
            element_name=modules.LocalizedString(en="Key", de="Schlüssel"),
        ),
        default=[],
        description="Public keys that may log in as root.",
        order=30,
    )
    root_password_hash = modules.Setting(
        display_name=modules.LocalizedString(en="Root password hash", de="Root-Passwort-Hash"),
        type="string",
        default="",
        description="A crypt(3) hash, e.g. from `mkpasswd -m sha-512`; `!` locks the password.",
        example="$6$salt$hash",
        order=40,
    )

    def write_nix_settings(self, f, path, module_settings, priority, project):
        settings = dict(module_settings.settings)
        keys = settings.pop("authorized_keys", None) or []
        password_hash = (settings.pop("root_password_hash", None) or "").strip()
        super().write_nix_settings(f, path, type(module_settings)(type=module_settings.type, settings=settings),
                                   priority, project)
        key_texts = []
        for entry in keys:
            key = (entry.get("key") if isinstance(entry, dict) else entry) or ""
            key = key.strip()
            if not key:
                continue
            if not _KEY.match(key):
                raise NixError(f"not an OpenSSH public key: {key[:40]!r}")
            key_texts.append(key)
        if key_texts:
            f.write(f"  users.users.root.openssh.authorizedKeys.keys = "
                    f"lib.mkOverride {int(priority)} {to_nix(key_texts, 1)};\n")
        if password_hash:
            if not _HASH.match(password_hash):
                raise NixError("the root password hash must be a crypt(3) hash such as $6$..., or ! to lock it")
            f.write(f"  users.users.root.hashedPassword = lib.mkOverride {int(priority)} {to_nix(password_hash)};\n")

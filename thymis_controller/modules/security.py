"""Built-in: root password, SSH keys and trusted certificates (Thymis's SecurityAccessModule).

Written as Thymis writes it: with a password secret chosen, ``users.users.root.hashedPasswordFile``
(priority of the module) names the file the password hash is placed in on the device; the authorized keys
(``users.users.root.openssh.authorizedKeys.keys``) and certificates (``security.pki.certificates``) are
lists without a priority, so that the keys of a tag and of a device add up. Keys must be OpenSSH public
keys (one line) and certificates PEM blocks, so a value cannot add configuration of its own.
"""

import pathlib
import re

import thymis_controller.modules.modules as modules
from thymis_controller import db_models, models
from thymis_controller.lib import read_into_base64
from thymis_controller.nix import NixError
from thymis_controller.nix.templating import convert_python_value_to_nix
from thymis_controller.project import Project

_ICONS = pathlib.Path(__file__).parent / "icons"
_KEY = re.compile(r"(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp\d+|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)"
                  r" [A-Za-z0-9+/=]+( [^\n\r]*)?\Z")
PASSWORD_HASH_PATH = "/run/thymis/root_password_hash"


def _t(en: str, de: str) -> modules.LocalizedString:
    return modules.LocalizedString(en=en, de=de)


def _entries(values, key: str) -> list:
    return [entry.get(key) if isinstance(entry, dict) else None for entry in values or []]


class SecurityAccessModule(modules.Module):
    display_name = _t("Security & Access", "Sicherheit & Zugriff")
    category = _t("System", "System")
    description = _t("Root password, authorized SSH keys and trusted root certificates.",
                     "Root-Passwort, autorisierte SSH-Schlüssel und vertrauenswürdige Stammzertifikate.")
    icon = read_into_base64(_ICONS / "key.svg")

    password_secret = modules.Setting(
        display_name=_t("Root Password", "Root Passwort"),
        type=modules.SecretType(
            allowed_types=[db_models.SecretTypes.SINGLE_LINE],
            default_processing_type=db_models.SecretProcessingTypes.MKPASSWD_YESCRYPT,
            default_save_to_image=True,
            on_device_path=PASSWORD_HASH_PATH,
            on_device_owner="root",
            on_device_group="root",
            on_device_mode="0400",
        ),
        default="",
        description=_t("The root password of the device.", "Das Root-Passwort des Geräts."),
        example="",
        order=10,
    )
    authorized_keys = modules.Setting(
        display_name=_t("Authorized Keys", "Authorisierte Schlüssel"),
        type=modules.ListType(
            settings={"key": modules.Setting(
                display_name="", type="string", default="",
                description=_t("The authorized key.", "Der authorisierte Schlüssel."), example="ssh-rsa AAAA...")},
            element_name=_t("Key", "Schlüssel"),
        ),
        default=[],
        description=_t("Authorized keys.", "Authorisierte Schlüssel."),
        example="",
        order=20,
    )
    security_pki_certificates = modules.Setting(
        display_name=_t("Trusted root certificates", "Vertrauenswürdige Stammzertifikate"),
        type=modules.ListType(
            settings={"certificate": modules.Setting(
                display_name=_t("Certificate", "Zertifikat"), type="textarea", default="",
                description=_t("The certificate in PEM format.", "Das Zertifikat im PEM-Format."), example="")},
            element_name=_t("Certificate", "Zertifikat"),
        ),
        default=[],
        description=_t("PKI certificates, added to /etc/ssl/certs/ca-certificates.crt (Mozilla's store as base).",
                       "PKI-Zertifikate, ergänzt in /etc/ssl/certs/ca-certificates.crt (Mozillas Store als Basis)."),
        order=30,
    )

    def write_nix_settings(self, f, path, module_settings: models.ModuleSettings, priority: int, project: Project):
        settings = module_settings.settings
        if settings.get("password_secret", self.password_secret.default):
            f.write(f"  users.users.root.hashedPasswordFile = lib.mkOverride {priority} "
                    f"{convert_python_value_to_nix(self.password_secret.type.on_device_path)};\n")
        keys = _entries(settings.get("authorized_keys", self.authorized_keys.default), "key")
        for key in keys:
            if key is not None and (not isinstance(key, str) or not _KEY.match(key.strip())):
                raise NixError(f"not an OpenSSH public key: {str(key)[:40]!r}")
        if keys:
            f.write(f"  users.users.root.openssh.authorizedKeys.keys = {convert_python_value_to_nix(keys, ident=1)};\n")
        certificates = _entries(settings.get("security_pki_certificates", self.security_pki_certificates.default),
                                "certificate")
        for certificate in certificates:
            if certificate is not None and (not isinstance(certificate, str)
                                            or "-----BEGIN CERTIFICATE-----" not in certificate):
                raise NixError("a trusted certificate must be a PEM block (-----BEGIN CERTIFICATE----- …)")
        if certificates:
            f.write(f"  security.pki.certificates = {convert_python_value_to_nix(certificates, ident=1)};\n")
        super().write_nix_settings(f, path, module_settings, priority, project)

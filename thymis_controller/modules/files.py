"""Built-in: secrets and artifacts placed on the device (Thymis's FilesModule).

No Nix of its own: the two lists are written by the base class to ``thymis.config.files.secrets`` and
``thymis.config.files.artifacts`` (entries with the secret or artifact, path, owner, group, mode), for the
thymis device module to place. :meth:`FilesModule.register_secret_settings` reports each secret with the
path, owner, group and mode of its entry, as Thymis's does.
"""

import pathlib

import thymis_controller.modules.modules as modules
from thymis_controller import db_models, models
from thymis_controller.lib import read_into_base64
from thymis_controller.project import Project

_ICONS = pathlib.Path(__file__).parent / "icons"


def _t(en: str, de: str) -> modules.LocalizedString:
    return modules.LocalizedString(en=en, de=de)


def _placement(what_en: str, what_de: str, value: modules.Setting) -> dict:
    """The sub-settings of one placed file: the value, then where and with which rights it is placed."""
    def text(en, de, description_en, description_de, order):
        return modules.Setting(display_name=_t(en, de), type="string", default="",
                               description=_t(description_en, description_de), example="", order=order)
    return {
        what_en.lower(): value,
        "path": text("Path", "Pfad", f"The path where the {what_en.lower()} will be placed.",
                     f"Der Pfad, an dem das {what_de} abgelegt wird.", 10),
        "owner": text("Owner", "Besitzer", f"The owner of the {what_en.lower()}.", f"Der Besitzer des {what_de}s.", 20),
        "group": text("Group", "Gruppe", f"The group of the {what_en.lower()}.", f"Die Gruppe des {what_de}s.", 30),
        "mode": text("Mode", "Modus", f"The mode of the {what_en.lower()}, e.g. 0600.",
                     f"Der Modus des {what_de}s, z.B. 0600.", 40),
    }


class FilesModule(modules.Module):
    display_name = _t("Files", "Dateien")
    category = _t("Files", "Dateien")
    description = _t("Deploy secrets and artifacts onto the device filesystem.",
                     "Secrets und Artifacts im Dateisystem des Geräts bereitstellen.")
    icon = read_into_base64(_ICONS / "code.svg")

    secrets = modules.Setting(
        display_name=_t("Secrets", "Secrets"),
        nix_attr_name="thymis.config.files.secrets",
        description=_t("Secrets to be placed on the device (passwords, keys, certificates), each with path, "
                       "owner, group and mode.",
                       "Secrets, die auf dem Gerät abgelegt werden (Passwörter, Schlüssel, Zertifikate), je mit "
                       "Pfad, Besitzer, Gruppe und Modus."),
        type=modules.ListType(
            settings=_placement("Secret", "Secret", modules.Setting(
                display_name=_t("Secret", "Secret"),
                type=modules.SecretType(
                    allowed_types=[db_models.SecretTypes.SINGLE_LINE, db_models.SecretTypes.MULTI_LINE,
                                   db_models.SecretTypes.ENV_LIST, db_models.SecretTypes.FILE],
                    default_processing_type=db_models.SecretProcessingTypes.NONE,
                    default_save_to_image=False,
                ),
                default="", description=_t("The secret.", "Das Secret."), example="", order=0)),
            element_name=_t("Secret", "Secret"),
            element_key="path",
        ),
        default=[],
        example="",
        order=10,
    )
    artifacts = modules.Setting(
        display_name=_t("Artifacts", "Artifacts"),
        nix_attr_name="thymis.config.files.artifacts",
        description=_t("Artifacts to be placed on the device.", "Artifacts, die auf dem Gerät abgelegt werden."),
        type=modules.ListType(
            settings=_placement("Artifact", "Artifact", modules.Setting(
                display_name=_t("Artifact", "Artifact"), type=modules.ArtifactType(), default="",
                description=_t("The artifact.", "Das Artifact."), example="", order=0)),
            element_name=_t("Artifact", "Artifact"),
            element_key="path",
        ),
        default=[],
        example="",
        order=20,
    )

    def register_secret_settings(self, module_settings: models.ModuleSettings, project: Project = None):
        found = [(kind, value) for kind, value in super().register_secret_settings(module_settings, project)
                 if kind is not self.secrets.type.settings["secret"].type]
        base = self.secrets.type.settings["secret"].type
        for entry in module_settings.settings.get("secrets") or []:
            if not isinstance(entry, dict) or not entry.get("secret"):
                continue
            placed = modules.SecretType(
                allowed_types=base.allowed_types,
                default_processing_type=base.default_processing_type,
                default_save_to_image=base.default_save_to_image,
                on_device_path=entry.get("path"),
                on_device_owner=entry.get("owner"),
                on_device_group=entry.get("group"),
                on_device_mode=entry.get("mode"),
            )
            found.append((placed, entry["secret"]))
        return found

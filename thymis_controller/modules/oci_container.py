"""Built-in: OCI containers run by Podman (Thymis's OCIContainers).

For the containers listed: Podman enabled (auto-prune, Docker compatibility, DNS on the default network),
``virtualisation.oci-containers.backend = "podman"`` and one
``virtualisation.oci-containers.containers."<name>"`` each with its image, environment, volumes and ports
(``"<host>:<container>"``), labels and the journald log driver, as Thymis's template writes them. Every value
is an escaped Nix string.
"""

import pathlib

import thymis_controller.modules.modules as modules
from thymis_controller import models
from thymis_controller.lib import read_into_base64
from thymis_controller.nix import NixError, nix_string
from thymis_controller.project import Project

_ICONS = pathlib.Path(__file__).parent / "icons"

PODMAN = """  virtualisation.podman = {
    enable = true;
    autoPrune.enable = true;
    dockerCompat = true;
    defaultNetwork.settings = {
      dns_enabled = true;
    };
  };
  virtualisation.oci-containers.backend = "podman";
"""


def _t(en: str, de: str) -> modules.LocalizedString:
    return modules.LocalizedString(en=en, de=de)


def _pairs(first: tuple, second: tuple, element: tuple, description: tuple, order: int, example=None):
    """A list setting whose entries hold two texts (host/container, key/value)."""
    fields = {name: modules.Setting(display_name=_t(*label), type="string", default="")
              for name, label in (first, second)}
    return modules.Setting(display_name=_t(element[0] + "s", element[1]),
                           type=modules.ListType(settings=fields, element_name=_t(*element)), default=[],
                           description=_t(*description), example=example, order=order)


class OCIContainers(modules.Module):
    display_name = _t("OCI Containers", "OCI Container")
    description = _t("Runs OCI (Docker) containers on the device with Podman.",
                     "Führt OCI-(Docker-)Container mit Podman auf dem Gerät aus.")
    category = "services"
    icon = read_into_base64(_ICONS / "code.svg")

    containers = modules.Setting(
        display_name=_t("Containers", "Container"),
        type=modules.ListType(
            settings={
                "container_name": modules.Setting(display_name=_t("Container Name", "Container Name"), type="string",
                                                  description=_t("The name of the container.",
                                                                 "Der Name des Containers."), order=10),
                "image": modules.Setting(display_name=_t("Image", "Image"), type="string",
                                         description="The image of the container.", order=15),
                "ports": _pairs(("host", ("Host", "Host")), ("container", ("Container", "Container")),
                                ("Port", "Port"), ("Container ports to expose/publish on the host.",
                                                   "Ports des Containers, die auf dem Host freigegeben werden."), 25),
                "volumes": _pairs(("host", ("Host", "Host")), ("container", ("Container", "Container")),
                                  ("Volume", "Volume"), ("The volumes to mount in the container.",
                                                         "Die Volumes, die im Container gemountet werden."), 30),
                "environment": _pairs(("key", ("Key/Name", "Schlüssel/Name")), ("value", ("Value", "Wert")),
                                      ("Environment Variable", "Umgebungsvariable"),
                                      ("The environment variables to set in the container.",
                                       "Die Umgebungsvariablen, die im Container gesetzt werden."), 35),
                "labels": _pairs(("key", ("Key", "Schlüssel")), ("value", ("Value", "Wert")), ("Label", "Label"),
                                 ("The labels to set in the container.", "Die Labels des Containers."), 40),
            },
            element_name=_t("Container", "Container"),
            element_key="container_name",
        ),
        default=[],
        description=_t("The containers to run.", "Die Container, die ausgeführt werden sollen."),
        order=10,
    )

    def write_nix_settings(self, f, path, module_settings: models.ModuleSettings, priority: int, project: Project):
        containers = [c for c in module_settings.settings.get("containers") or [] if isinstance(c, dict)]
        if not containers:
            return
        f.write(PODMAN)
        for container in containers:
            name, image = container.get("container_name"), container.get("image")
            if not isinstance(name, str) or not name.strip() or not isinstance(image, str) or not image.strip():
                raise NixError("every container needs a name and an image")
            f.write(f"  virtualisation.oci-containers.containers.{nix_string(name)} = {{\n")
            f.write(f"    image = {nix_string(image)};\n")
            for option, key, joined in (("environment", "environment", False), ("volumes", "volumes", True),
                                        ("ports", "ports", True), ("labels", "labels", False)):
                entries = [e for e in container.get(key) or [] if isinstance(e, dict)]
                if joined:
                    lines = [nix_string(f"{e.get('host') or ''}:{e.get('container') or ''}") for e in entries]
                    f.write(f"    {option} = [\n" + "".join(f"      {line}\n" for line in lines) + "    ];\n")
                else:
                    lines = [f"{nix_string(str(e.get('key') or ''))} = {nix_string(str(e.get('value') or ''))};"
                             for e in entries]
                    f.write(f"    {option} = {{\n" + "".join(f"      {line}\n" for line in lines) + "    };\n")
            f.write('    log-driver = "journald";\n  };\n')

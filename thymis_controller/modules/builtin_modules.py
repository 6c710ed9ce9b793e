"""The modules that ship with the controller, listed next to external ones.

Thymis's ten built-in modules under Thymis's type names (``thymis_controller.modules.<file>.<Class>``),
then this controller's two extras: SSHAccess (OpenSSH server options and a root password hash without the
secrets store) and CustomNixModule (verbatim Nix, kept for devices saved with it; Thymis's equivalent is
WhateverModule).
"""

from thymis_controller.modules.access import SSHAccess
from thymis_controller.modules.bash import BashModule
from thymis_controller.modules.custom_nix import CustomNixModule
from thymis_controller.modules.files import FilesModule
from thymis_controller.modules.kiosk import Kiosk
from thymis_controller.modules.localization import LocalizationModule
from thymis_controller.modules.modules import Module
from thymis_controller.modules.networking import NetworkingModule
from thymis_controller.modules.oci_container import OCIContainers
from thymis_controller.modules.python import PythonModule
from thymis_controller.modules.security import SecurityAccessModule
from thymis_controller.modules.thymis import ThymisDevice
from thymis_controller.modules.whatever import WhateverModule

__all__ = ["ALL_MODULES", "BUILTIN_MODULE_CLASSES", "THYMIS_MODULE_CLASSES", "builtin_modules",
           "builtin_module_types", "builtin_module_descriptions"]

THYMIS_MODULE_CLASSES: tuple[type[Module], ...] = (
    ThymisDevice, NetworkingModule, LocalizationModule, SecurityAccessModule, FilesModule, OCIContainers, Kiosk,
    WhateverModule, BashModule, PythonModule,
)
BUILTIN_MODULE_CLASSES: tuple[type[Module], ...] = THYMIS_MODULE_CLASSES + (SSHAccess, CustomNixModule)


def builtin_modules() -> list[Module]:
    """A fresh instance of every built-in module."""
    return [cls() for cls in BUILTIN_MODULE_CLASSES]


ALL_MODULES: list[Module] = builtin_modules()  # Thymis's name for the list of module instances


def builtin_module_types() -> set[str]:
    return {f"{cls.__module__}.{cls.__name__}" for cls in BUILTIN_MODULE_CLASSES}


def builtin_module_descriptions() -> list[dict]:
    """JSON descriptions of the built-in modules (trusted code: described in-process),
    shaped like the sandbox's descriptions of external modules (``package`` is None)."""
    from thymis_controller.schema import describe_module

    return [dict(describe_module(m), package=None) for m in builtin_modules()]

"""The modules that ship with the controller, listed next to external ones."""

from thymis_controller.modules.access import SSHAccess
from thymis_controller.modules.bash import BashModule
from thymis_controller.modules.custom_nix import CustomNixModule
from thymis_controller.modules.modules import Module
from thymis_controller.modules.thymis import ThymisDevice

__all__ = ["builtin_modules", "BUILTIN_MODULE_CLASSES", "builtin_module_types", "builtin_module_descriptions"]

BUILTIN_MODULE_CLASSES: tuple[type[Module], ...] = (ThymisDevice, SSHAccess, BashModule, CustomNixModule)


def builtin_modules() -> list[Module]:
    """A fresh instance of every built-in module."""
    return [cls() for cls in BUILTIN_MODULE_CLASSES]


def builtin_module_types() -> set[str]:
    return {f"{cls.__module__}.{cls.__name__}" for cls in BUILTIN_MODULE_CLASSES}


def builtin_module_descriptions() -> list[dict]:
    """JSON descriptions of the built-in modules (trusted code: described in-process),
    shaped like the sandbox's descriptions of external modules (``package`` is None)."""
    from thymis_controller.schema import describe_module

    return [dict(describe_module(m), package=None) for m in builtin_modules()]

"""``thymis_controller.modules``: the module base class and setting types.

``from thymis_controller.modules import Module`` (both APIs) and
``import thymis_controller.modules.modules as modules`` (current API) work as
in Thymis. The built-in modules live in the submodules of this package and are
listed by :func:`thymis_controller.modules.builtin_modules.builtin_modules`.
"""

from thymis_controller.modules.modules import (
    ArtifactType,
    HasLocalize,
    ListType,
    Localizable,
    LocalizedString,
    Module,
    SecretType,
    SelectOneType,
    Setting,
    SettingTypes,
    SystemdTimerType,
    TextAreaCodeType,
    english,
    localize,
)

__all__ = [
    "Module",
    "Setting",
    "LocalizedString",
    "HasLocalize",
    "Localizable",
    "localize",
    "english",
    "SelectOneType",
    "ListType",
    "TextAreaCodeType",
    "SecretType",
    "ArtifactType",
    "SystemdTimerType",
    "SettingTypes",
]


def __getattr__(name: str):
    # Thymis's older spelling: the built-in module instances as thymis_controller.modules.ALL_MODULES
    if name in ("ALL_MODULES", "ALL_MODULES_START"):
        from thymis_controller.modules.builtin_modules import ALL_MODULES

        return ALL_MODULES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

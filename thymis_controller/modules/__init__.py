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

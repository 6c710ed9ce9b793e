"""``thymis_controller.models``: what modules receive, the setting types, and the 2024 ``Setting``.

* :class:`ModuleSettings` is the object ``write_nix_settings`` gets: ``type`` is
  the module's type string and ``settings`` a plain dict of the values the
  operator chose (JSON values), keyed by the setting's attribute name.
* The setting types (``SelectOneType``, ``ListType``, ``SecretType``, ``ArtifactType``,
  ``TextAreaCodeType``, ``SystemdTimerType`` with ``model_validate``) live in
  :mod:`thymis_controller.models.module`, the same classes as ``thymis_controller.modules``'.
* :class:`Setting` is the 2024 API (``Setting(name=<nix attribute path>,
  type=..., default=..., description=..., example=...)``), used by older
  repositories as ``from thymis_controller.models import Setting``. The current
  API's setting lives in ``thymis_controller.modules.modules``.
"""

from __future__ import annotations

from typing import Any

from thymis_controller.models.module import (
    ArtifactType,
    ListType,
    ModuleSettings,
    SecretType,
    SelectOneType,
    SettingTypes,
    SystemdTimerType,
    TextAreaCodeType,
    ValueTypes,
)
from thymis_controller.nix.templating import convert_python_value_to_nix

__all__ = ["ModuleSettings", "SettingValue", "Setting", "ArtifactType", "ListType", "SecretType", "SelectOneType",
           "SettingTypes", "SystemdTimerType", "TextAreaCodeType", "ValueTypes"]


class SettingValue:
    """2024 API: a wrapper around one value (``.value``)."""

    def __init__(self, value: Any = None):
        self.value = value

    def __repr__(self) -> str:
        return f"SettingValue({self.value!r})"


class Setting:
    """2024 API setting: ``name`` is the NixOS option the value is written to.

    Unknown keyword arguments (``options=[...]`` of a ``"select-one"``) are kept
    in :attr:`extra`. A call with ``display_name=`` and no ``name=`` is a
    current-API setting imported from the wrong place; it is handed over to
    :class:`thymis_controller.modules.modules.Setting`.
    """

    def __new__(cls, *args, **kwargs):
        if not args and "name" not in kwargs and "display_name" in kwargs:
            from thymis_controller.modules.modules import Setting as CurrentSetting

            return CurrentSetting(**kwargs)
        return super().__new__(cls)

    def __init__(
        self,
        name: str,
        type: Any = "string",
        default: Any = None,
        description: str | None = None,
        example: str | None = None,
        **extra,
    ):
        self.name = name
        self.type = type
        self.default = default
        self.description = description
        self.example = example
        self.extra = extra
        self.options = extra.get("options")

    def write_nix(self, f, value, priority: int) -> None:
        """2024 API: write ``<name> = lib.mkOverride <priority> <value>;``."""
        if isinstance(value, SettingValue):
            value = value.value
        f.write(f"  {self.name} = lib.mkOverride {int(priority)} {convert_python_value_to_nix(value)};\n")

    def model_copy(self) -> "Setting":
        return Setting(self.name, self.type, self.default, self.description, self.example, **self.extra)

    def __repr__(self) -> str:
        return f"Setting(name={self.name!r}, type={self.type!r})"


def __getattr__(name: str):
    # Very old repositories import the module base class from here; resolved
    # lazily because thymis_controller.modules imports this.
    if name in {"Module", "LocalizedString"}:
        from thymis_controller.modules import modules

        return getattr(modules, name)
    raise AttributeError(f"module 'thymis_controller.models' has no attribute {name!r}")

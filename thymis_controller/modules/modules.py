"""The module API external repositories program against (Thymis-compatible).

Current API::

    from thymis_controller.modules.modules import Module, Setting, LocalizedString, SelectOneType, ListType

    class Hello(Module):
        display_name = LocalizedString(en="Hello", de="Hallo")
        greeting = Setting(display_name="Greeting", type="string", default="hi",
                           nix_attr_name="environment.etc.greeting.text")

2024 API (still accepted)::

    from thymis_controller.models import Setting, ModuleSettings
    from thymis_controller.modules import Module

    class Hello(Module):
        displayName = "Hello"
        greeting = Setting(name="environment.etc.greeting.text", type="string", default="hi")

        def write_nix_settings(self, f, module_settings, priority): ...

Settings are class attributes; the key of a value in ``ModuleSettings.settings``
is the attribute's name.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional, Protocol

from thymis_controller import models
from thymis_controller.models.module import (
    ArtifactType,
    ListType,
    SecretType,
    SelectOneType,
    SettingTypes,
    SystemdTimerType,
    TextAreaCodeType,
)
from thymis_controller.nix import NixError, nix_attr_path, nix_package
from thymis_controller.nix.templating import convert_python_value_to_nix

__all__ = [
    "Module",
    "Setting",
    "HasLocalize",
    "Localizable",
    "localize",
    "english",
    "LocalizedString",
    "SelectOneType",
    "ListType",
    "TextAreaCodeType",
    "SecretType",
    "ArtifactType",
    "SystemdTimerType",
    "SettingTypes",
    "VALUE_TYPES",
    "DEFAULT_PRIORITY",
    "is_unset_setting_value",
    "iter_settings",
    "setting_value_to_nix",
]

VALUE_TYPES = ("bool", "string", "path", "package", "textarea", "int")

# Thymis's priority for values nobody set explicitly (that of lib.mkOptionDefault).
DEFAULT_PRIORITY = 1500


def is_unset_setting_value(value: Any, nested: bool = False) -> bool:
    """Thymis's rule: None, [] and {} carry no information; "" does only as a whole setting (``nested``
    False), not as an empty field inside a list entry."""
    if value is None or value == [] or value == {}:
        return True
    return nested and value == ""


class HasLocalize(Protocol):
    def localize(self, locale: str) -> str: ...


Localizable = Any  # str or anything with .localize(locale)


class LocalizedString(dict):
    """Language code -> text, e.g. ``LocalizedString(en="Hostname", de="Hostname")``."""

    def __init__(self, mapping: dict | None = None, **texts: str):
        super().__init__(mapping or {}, **texts)

    def localize(self, locale: str) -> str:
        for key in (locale, "en"):
            if self.get(key):
                return str(self[key])
        return next((str(v) for v in self.values() if v), "")

    def __str__(self) -> str:
        return self.localize("en")


def localize(locale: str, value: Optional[Localizable]) -> Optional[str]:
    """The text of ``value`` in ``locale`` (falling back to English); None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if hasattr(value, "localize"):
        return str(value.localize(locale))
    if isinstance(value, dict):
        return LocalizedString(value).localize(locale)
    return str(value)


def english(value: Optional[Localizable]) -> Optional[str]:
    """The English text of a plain string or LocalizedString."""
    return localize("en", value)


class Setting:
    """A setting of a module (current API)."""

    def __init__(
        self,
        display_name: Localizable,
        type: Any,
        description: Optional[Localizable] = None,
        default: Any = None,
        example: Optional[str] = None,
        order: int = 0,
        nix_attr_name: Optional[str] = None,
        **extra,
    ):
        self.display_name = display_name
        self.type = type
        self.description = description
        self.default = default
        self.example = example
        self.order = order
        self.nix_attr_name = nix_attr_name
        self.extra = extra

    def __repr__(self) -> str:
        return f"Setting(display_name={english(self.display_name)!r}, type={self.type!r})"


def iter_settings(module) -> Iterator[tuple[str, Any]]:
    """``(attribute name, setting)`` for each setting of a module (instance or class),
    in declaration order (base classes first), both APIs."""
    cls = module if isinstance(module, type) else type(module)
    seen: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if name.startswith("_"):
                continue
            if isinstance(value, (Setting, models.Setting)):
                seen[name] = value
            elif name in seen:
                del seen[name]  # a subclass replaced the setting with something else
    for name in list(seen):
        value = getattr(module, name, None)
        if isinstance(value, (Setting, models.Setting)):
            yield name, value


def setting_value_to_nix(setting, value: Any) -> str:
    """Nix text for ``value`` of ``setting``, converted according to the setting's type."""
    kind = setting.type
    if kind == "bool":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        if not isinstance(value, bool):
            raise NixError(f"expected true or false, got {value!r}")
        return convert_python_value_to_nix(value)
    if kind == "int":
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            raise NixError(f"expected a whole number, got {value!r}")
        return convert_python_value_to_nix(value)
    if kind == "package":
        return nix_package(value)
    if kind in ("path", "string", "textarea") and not isinstance(value, str):
        raise NixError(f"expected text, got {type(value).__name__}")
    return convert_python_value_to_nix(value)


def _nix_target(setting) -> Optional[str]:
    if isinstance(setting, models.Setting):
        if isinstance(setting.type, ListType) or setting.type == "list":
            return None
        return setting.name
    return setting.nix_attr_name


def _settings_and_priority(args: tuple, kwargs: dict):
    # Both call shapes are in use: (f, path, module_settings, priority, project)
    # in the current API and (f, module_settings, priority) in the 2024 API.
    if len(args) >= 4:
        return args[1], args[2]
    if len(args) == 2:
        return args[0], args[1]
    if len(args) == 3:  # (path, module_settings, priority) without project
        return args[1], args[2]
    ms = kwargs.get("module_settings", args[0] if args else None)
    return ms, kwargs.get("priority")


class Module:
    """Base class of every module. Subclasses set ``display_name`` (or the 2024
    ``displayName``) and declare settings as class attributes."""

    description: Optional[Localizable] = None
    category: Optional[Localizable] = None
    icon: Optional[str] = None
    icon_dark: Optional[str] = None

    @property
    def type(self) -> str:
        cls = type(self)
        return f"{cls.__module__}.{cls.__name__}"

    @staticmethod
    def read_into_base64(path) -> Optional[str]:
        from thymis_controller.lib import read_into_base64

        return read_into_base64(path)

    def write_nix_settings(self, f, *args, **kwargs) -> None:
        """Write ``<nix attribute> = lib.mkOverride <priority> <value>;`` for each
        chosen setting that names a NixOS option. Accepts both
        ``(f, path, module_settings, priority, project)`` and the 2024
        ``(f, module_settings, priority)``. Unset (None) values are not written."""
        module_settings, priority = _settings_and_priority(args, kwargs)
        priority = int(priority)
        for key, value in dict(module_settings.settings).items():
            if isinstance(value, models.SettingValue):
                value = value.value
            setting = getattr(self, key, None) if not key.startswith("_") else None
            if not isinstance(setting, (Setting, models.Setting)) or value is None:
                continue
            target = _nix_target(setting)
            if target is None:
                continue
            nix_attr_path(target)
            try:
                text = setting_value_to_nix(setting, value)
            except NixError as e:
                raise NixError(f"setting {key!r} of {self.type}: {e}") from None
            f.write(f"  {target} = lib.mkOverride {priority} {text};\n")

    def iter_settings(self) -> dict[str, Any]:
        """Attribute name -> setting, for every setting of this module (both APIs)."""
        return dict(iter_settings(self))

    def register_secret_settings(self, module_settings, project=None) -> list[tuple[SecretType, Any]]:
        """``(secret type, chosen value)`` for each secret setting the operator filled in, also inside
        list entries (Thymis asks modules this to place secrets on the device)."""
        found = []
        for key, value in dict(module_settings.settings).items():
            setting = getattr(self, key, None) if not key.startswith("_") else None
            kind = getattr(setting, "type", None)
            if isinstance(kind, SecretType) and value:
                found.append((kind, value))
            elif isinstance(kind, ListType) and isinstance(value, list):
                for entry in value:
                    for sub_key, sub_value in (entry.items() if isinstance(entry, dict) else ()):
                        sub = kind.settings.get(sub_key)
                        if isinstance(getattr(sub, "type", None), SecretType) and sub_value:
                            found.append((sub.type, sub_value))
        return found

    def write_nix(self, path, module_settings, priority: int, project=None) -> None:
        """Write this module's NixOS module file ``<type>.nix`` into the folder ``path``."""
        from thymis_controller.render import render_module_file

        render_module_file(self, path, module_settings, priority, project)

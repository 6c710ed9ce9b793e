"""``thymis_controller.models.module``: setting types and what ``write_nix_settings`` receives.

The setting types (``SelectOneType``, ``ListType``, ``SecretType``, ``ArtifactType``, ``TextAreaCodeType``,
``SystemdTimerType``) are importable from here, from ``thymis_controller.models`` and from
``thymis_controller.modules`` alike: one class each, so ``isinstance`` checks agree whichever path a module
used. Standard library only: the web process describes the built-in modules with them.
"""
from __future__ import annotations

from typing import Any, Literal, Optional, Union

from thymis_controller.db_models import SecretProcessingTypes, SecretTypes

__all__ = [
    "ArtifactType",
    "ListType",
    "ModuleSettings",
    "SecretType",
    "SelectOneType",
    "SettingTypes",
    "SystemdTimerType",
    "TextAreaCodeType",
    "ValueTypes",
]

ValueTypes = Literal["bool", "string", "path", "package", "textarea", "int"]


class _Plain:
    """Equality and repr from the attributes, as a dataclass would give."""

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"


class SelectOneType(_Plain):
    """One of a fixed set of values: ``select_one=["a", "b"]`` or ``[(label, value), ...]``.

    ``extra_data`` carries hints for the form (Thymis: ``restrict_values_on_other_key``, ...)."""

    def __init__(self, select_one: list, extra_data: Optional[dict] = None, **extra):
        self.select_one = list(select_one)
        self.extra_data = extra_data
        self._extra = extra

    def options(self) -> list[tuple[Any, Any]]:
        return [tuple(o) if isinstance(o, (tuple, list)) else (o, o) for o in self.select_one]


class ListType(_Plain):
    """A list of entries, each with its own sub-settings (``settings={"key": Setting(...)}``).

    ``element_key`` names the sub-setting that identifies an entry (e.g. ``"interface"``)."""

    def __init__(self, settings: dict, element_name=None, element_key: Optional[str] = None, **extra):
        self.settings = dict(settings)
        self.element_name = element_name
        self.element_key = element_key
        self._extra = extra


class TextAreaCodeType(_Plain):
    """Multi-line code with a language hint (shown as a code editor)."""

    def __init__(self, language: Optional[str] = None, **extra):
        self.language = language
        self._extra = extra


class SecretType(_Plain):
    """A secret chosen from the controller's secrets, and where it goes on the device."""

    def __init__(
        self,
        allowed_types: Optional[list] = None,
        default_processing_type: Optional[SecretProcessingTypes] = None,
        default_save_to_image: bool = False,
        on_device_path: Optional[str] = None,
        on_device_owner: Optional[str] = None,
        on_device_group: Optional[str] = None,
        on_device_mode: Optional[str] = None,
        **extra,
    ):
        self.allowed_types = [SecretTypes(t) if isinstance(t, str) else t for t in allowed_types or []]
        self.default_processing_type = (SecretProcessingTypes(default_processing_type)
                                        if isinstance(default_processing_type, str) else default_processing_type)
        self.default_save_to_image = default_save_to_image
        self.on_device_path = on_device_path
        self.on_device_owner = on_device_owner
        self.on_device_group = on_device_group
        self.on_device_mode = on_device_mode
        self._extra = extra


class ArtifactType(_Plain):
    """A file uploaded to the controller (an artifact), placed on the device."""

    def __init__(self, **extra):
        self._extra = extra


_TIMER_TEXT_FIELDS = ("on_boot_sec", "on_unit_active_sec", "accuracy_sec", "randomized_delay_sec")
TIMER_TYPES = ("realtime", "monotonic", "continuous")


class SystemdTimerType(_Plain):
    """A systemd timer: ``realtime`` (``on_calendar`` entries, ``persistent``) or ``monotonic``
    (``on_boot_sec``, ``on_unit_active_sec``), each with optional ``accuracy_sec`` and
    ``randomized_delay_sec``. As a setting type its fields are the defaults; a setting's value is the
    same object as JSON, read with :meth:`model_validate`."""

    def __init__(
        self,
        timer_type: Optional[str] = "realtime",
        on_boot_sec: Optional[str] = None,
        on_unit_active_sec: Optional[str] = None,
        accuracy_sec: Optional[str] = None,
        on_calendar: Optional[list[str]] = None,
        persistent: Optional[bool] = None,
        randomized_delay_sec: Optional[str] = None,
    ):
        self.timer_type = timer_type
        self.on_boot_sec = on_boot_sec
        self.on_unit_active_sec = on_unit_active_sec
        self.accuracy_sec = accuracy_sec
        self.on_calendar = on_calendar
        self.persistent = persistent
        self.randomized_delay_sec = randomized_delay_sec

    @classmethod
    def model_validate(cls, value) -> "SystemdTimerType":
        """A timer from its JSON form, its fields checked; ValueError names the first wrong one."""
        if isinstance(value, cls):
            return value
        if not isinstance(value, dict):
            raise ValueError(f"a timer configuration must be an object, got {type(value).__name__}")
        unknown = sorted(set(value) - set(vars(cls())))
        if unknown:
            raise ValueError(f"unknown timer field {unknown[0]!r}")
        timer_type = value.get("timer_type", "realtime")
        if timer_type is not None and timer_type not in TIMER_TYPES:
            raise ValueError(f"timer_type must be one of {', '.join(TIMER_TYPES)}, got {timer_type!r}")
        for name in _TIMER_TEXT_FIELDS:
            if value.get(name) is not None and not isinstance(value[name], str):
                raise ValueError(f"timer field {name} must be text")
        calendar = value.get("on_calendar")
        if calendar is not None and (not isinstance(calendar, list) or not all(isinstance(c, str) for c in calendar)):
            raise ValueError("timer field on_calendar must be a list of texts")
        if value.get("persistent") is not None and not isinstance(value["persistent"], bool):
            raise ValueError("timer field persistent must be true or false")
        return cls(**value)

    def model_dump(self) -> dict:
        return dict(vars(self))


SettingTypes = Union[str, SelectOneType, ListType, SecretType, ArtifactType, TextAreaCodeType, SystemdTimerType]


class ModuleSettings:
    """The settings one device or tag gives one module: ``type`` is the module's type string and
    ``settings`` a plain dict of the values the operator chose (JSON values), keyed by attribute name."""

    def __init__(self, type: str, settings: Optional[dict[str, Any]] = None, **extra):
        self.type = type
        self.settings = dict(settings or {})
        self.extra = extra

    def model_dump(self) -> dict:
        return {"type": self.type, "settings": dict(self.settings)}

    dict = model_dump  # pydantic v1 spelling

    @classmethod
    def model_validate(cls, value) -> "ModuleSettings":
        if isinstance(value, cls):
            return value
        if not isinstance(value, dict) or not isinstance(value.get("type"), str):
            raise ValueError("module settings must be an object with a string `type`")
        return cls(type=value["type"], settings=value.get("settings") or {})

    def __eq__(self, other) -> bool:
        return isinstance(other, ModuleSettings) and self.model_dump() == other.model_dump()

    def __repr__(self) -> str:
        return f"ModuleSettings(type={self.type!r}, settings={self.settings!r})"

"""The JSON description of a module: what the controller stores and shows.

:func:`describe_module` turns a module instance of either API into plain JSON
data (English texts). The web process never sees external module objects, only
this JSON, produced inside the sandbox.
"""

from __future__ import annotations

import json
from typing import Any

from thymis_controller import models
from thymis_controller.modules.modules import (
    ArtifactType,
    ListType,
    Module,
    SecretType,
    SelectOneType,
    Setting,
    SystemdTimerType,
    TextAreaCodeType,
    english,
    iter_settings,
)

__all__ = ["describe_module", "display_name_of", "describe_setting", "MAX_ICON_CHARS"]

MAX_ICON_CHARS = 512 * 1024


def display_name_of(module_or_cls) -> str | None:
    """English display name from ``display_name`` (current) or ``displayName`` (2024)."""
    for attr in ("display_name", "displayName"):
        value = getattr(module_or_cls, attr, None)
        if value is not None and not isinstance(value, property):
            text = english(value)
            if text:
                return text
    return None


def _json_value(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return str(value)


def _text(value: Any) -> str | None:
    return None if value is None else english(value)


def _icon(value: Any) -> str | None:
    """A data: image as it is; the controller refuses one longer than MAX_ICON_CHARS, naming the icon."""
    if isinstance(value, str) and value.startswith("data:image/"):
        return value
    return None


def _type_fields(kind: Any, setting: Any) -> dict:
    if isinstance(kind, SelectOneType):
        return {
            "type": "select-one",
            "options": [{"label": english(label), "value": _json_value(value)} for label, value in kind.options()],
        }
    if isinstance(kind, ListType):
        return {
            "type": "list",
            "element_name": _text(kind.element_name),
            "element_key": kind.element_key,
            "settings": [describe_setting(name, sub, i) for i, (name, sub) in enumerate(kind.settings.items())],
        }
    if isinstance(kind, TextAreaCodeType):
        return {"type": "textarea-code", "language": kind.language}
    if isinstance(kind, SecretType):
        processing = kind.default_processing_type
        return {"type": "secret", "allowed_types": [getattr(t, "value", str(t)) for t in kind.allowed_types],
                "processing": getattr(processing, "value", processing) or "none",
                "on_device": {key: _json_value(getattr(kind, f"on_device_{key}", None))
                              for key in ("path", "owner", "group", "mode")}}
    if isinstance(kind, ArtifactType):
        return {"type": "artifact"}
    if isinstance(kind, SystemdTimerType):
        return {"type": "systemd-timer", "timer_defaults": _json_value(kind.model_dump())}
    if kind == "select-one":  # 2024 API: Setting(type="select-one", options=[...])
        options = getattr(setting, "options", None) or []
        return {"type": "select-one", "options": [{"label": str(o), "value": _json_value(o)} for o in options]}
    if isinstance(kind, str):
        return {"type": kind}
    return {"type": "unknown", "type_repr": repr(kind)[:200]}


def describe_setting(name: str, setting: Any, index: int = 0) -> dict:
    """One setting as JSON: name, display_name, type (+ options / sub-settings), ..."""
    if isinstance(setting, models.Setting):  # 2024 API: `name` is the NixOS option
        entry = {
            "name": name,
            "display_name": name.replace("_", " ").capitalize(),
            "description": _text(setting.description),
            "default": _json_value(setting.default),
            "example": None if setting.example is None else str(setting.example),
            "nix_attr_name": setting.name,
            "order": index,
        }
    elif isinstance(setting, Setting):
        entry = {
            "name": name,
            "display_name": _text(setting.display_name) or name,
            "description": _text(setting.description),
            "default": _json_value(setting.default),
            "example": None if setting.example is None else str(setting.example),
            "nix_attr_name": setting.nix_attr_name,
            "order": int(setting.order or 0),
        }
    else:
        raise TypeError(f"{name!r} is not a setting")
    entry.update(_type_fields(setting.type, setting))
    return entry


def _api_of(module: Module, settings: list) -> str:
    cls = type(module)
    if getattr(cls, "display_name", None) is None and getattr(cls, "displayName", None) is not None:
        return "2024"
    if any(isinstance(s, models.Setting) for _, s in settings):
        return "2024"
    return "current"


def describe_module(module: Module) -> dict:
    """The JSON description of one module instance.

    Example::

        {"type": "my_pkg.modules.Hello", "display_name": "Hello", "description": None,
         "category": None, "icon": None, "icon_dark": None, "api": "current",
         "settings": [{"name": "greeting", "display_name": "Greeting", "type": "string",
                       "description": None, "default": "hi", "example": None,
                       "nix_attr_name": "environment.etc.greeting.text", "order": 0}]}
    """
    settings = list(iter_settings(module))
    described = [describe_setting(name, s, i) for i, (name, s) in enumerate(settings)]
    order = {id(d): i for i, d in enumerate(described)}
    described.sort(key=lambda d: (d["order"], order[id(d)]))
    return {
        "type": module.type,
        "display_name": display_name_of(module) or type(module).__name__,
        "description": _text(getattr(module, "description", None)),
        "category": _text(getattr(module, "category", None)),
        "icon": _icon(getattr(module, "icon", None)),
        "icon_dark": _icon(getattr(module, "icon_dark", None)),
        "api": _api_of(module, settings),
        "settings": described,
    }

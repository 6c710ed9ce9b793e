"""Turning Python values into Nix source text, safely.

Every value that comes from an operator (a setting typed into a form or sent as
JSON) goes through :func:`to_nix` before it is written into a generated ``.nix``
file. Strings are always written as double-quoted Nix strings with ``\\``, ``"``
and ``${`` escaped, so a value can never end the string, start an
interpolation or add Nix code of its own. Only :class:`RawNix` is written
as-is, and it exists for the one place where the operator's own Nix text is
the point (the "Custom Nix" built-in module).

The text rules themselves (escaping, keywords, names) are in
:mod:`thymis_controller.nix.text`, which the controller's deploy code uses too.
Thymis's helpers (``convert_python_value_to_nix`` with Thymis's layout, ``template_env``,
``format_nix_file``, ``generate_timer_settings``) are in :mod:`thymis_controller.nix.templating` and
importable from here too, as older Thymis modules do.
"""

from __future__ import annotations

import math

from thymis_controller.nix.templating import (
    convert_python_value_to_nix,
    format_nix_file,
    generate_timer_settings,
    string_can_be_identifier_for_attrs_key,
)
from thymis_controller.nix.text import (
    KEYWORDS,
    NAME_PATTERN,
    NixError,
    attr_path_fragment,
    is_identifier,
    nix_attr_name,
    nix_attr_path,
    nix_string,
)

__all__ = [
    "NixError",
    "RawNix",
    "NixPackage",
    "NixPath",
    "to_nix",
    "nix_string",
    "nix_attr_name",
    "nix_attr_path",
    "nix_package",
    "is_identifier",
    "convert_python_value_to_nix",
    "format_nix_file",
    "generate_timer_settings",
    "string_can_be_identifier_for_attrs_key",
    "attr_path_fragment",
    "KEYWORDS",
    "NAME_PATTERN",
]

_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


class RawNix(str):
    """Nix source text written verbatim. Only for text the operator wrote as Nix."""


class NixPackage(str):
    """A package attribute path below ``pkgs``, e.g. ``htop`` or ``python3Packages.flask``."""


class NixPath(str):
    """An absolute path on the device, written as a string (never a path literal)."""


def nix_package(name: str) -> str:
    """``pkgs.<name>`` for a package attribute path made of identifiers only."""
    if not isinstance(name, str) or not name:
        raise NixError("a package name must be a non-empty string")
    parts = name.split(".")
    if parts[0] == "pkgs" and len(parts) > 1:
        parts = parts[1:]
    for part in parts:
        if not is_identifier(part):
            raise NixError(f"not a package attribute name: {name!r}")
    return "pkgs." + ".".join(parts)


def _nix_path(value: str) -> str:
    if not value.startswith("/"):
        raise NixError(f"a path must be absolute: {value!r}")
    # Written as a string: a Nix path literal would copy that file from the
    # controller into the store while evaluating.
    return nix_string(value)


def _nix_int(value: int) -> str:
    if not _INT_MIN <= value <= _INT_MAX:
        raise NixError(f"integer out of Nix's 64-bit range: {value}")
    # Parenthesised when negative: inside a list `[ 1 -2 ]` means `[ (1 - 2) ]`.
    return f"({value})" if value < 0 else str(value)


def _nix_float(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        raise NixError(f"Nix has no float value {value!r}")
    text = repr(value)
    mantissa, _, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    text = mantissa + ("e" + exponent if exponent else "")
    return f"({text})" if value < 0 else text


def to_nix(value, indent: int = 0) -> str:
    """Nix source for a JSON-like Python value.

    None -> null, bool, int, float, str -> escaped string, list -> list,
    dict -> attribute set (keys quoted unless identifiers), plus
    :class:`NixPath`, :class:`NixPackage` and :class:`RawNix`.
    """
    pad = "  " * indent
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, RawNix):
        return f"({value}\n{pad})" if "\n" in value else f"({value})"
    if isinstance(value, NixPackage):
        return nix_package(str(value))
    if isinstance(value, NixPath):
        return _nix_path(str(value))
    if isinstance(value, str):
        return nix_string(value)
    if isinstance(value, int):
        return _nix_int(value)
    if isinstance(value, float):
        return _nix_float(value)
    if isinstance(value, (list, tuple)):
        if not value:
            return "[ ]"
        inner = "".join(f"{pad}  {to_nix(v, indent + 1)}\n" for v in value)
        return f"[\n{inner}{pad}]"
    if isinstance(value, dict):
        if not value:
            return "{ }"
        inner = "".join(
            f"{pad}  {nix_attr_name(k)} = {to_nix(v, indent + 1)};\n"
            for k, v in value.items()
        )
        return f"{{\n{inner}{pad}}}"
    raise NixError(f"cannot write a {type(value).__name__} value as Nix")


def __getattr__(name: str):
    if name == "template_env":  # created on first use (needs Jinja2)
        from thymis_controller.nix import templating

        return templating.template_env
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Nix source text, written safely: string literals, attribute names and paths, the language's keywords
and the rule for names the controller turns into attribute names.

Standard library only: the sandbox runs this package with nothing else on the path. The controller's own
code (``deploy``, ``repos``) imports it from here, so there is one escaping rule for both.
"""
from __future__ import annotations

import re

__all__ = ["KEYWORDS", "NAME_PATTERN", "NixError", "attr_path_fragment", "is_identifier", "nix_attr_name",
           "nix_attr_path", "nix_string"]

# Nix identifiers: [a-zA-Z_][a-zA-Z0-9_'-]*, minus the language's keywords.
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_'-]*\Z")
KEYWORDS = frozenset({"if", "then", "else", "assert", "with", "let", "in", "rec", "inherit", "or"})
# Device, tag and flake input names: they become attribute names (inputs.<name>, nixosConfigurations.<name>)
# and directory names, so letters, digits, '_' and '-', starting with a letter or '_', at most 63 characters.
# Callers also refuse KEYWORDS.
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,62}\Z")  # \Z: no trailing newline
_FRAGMENT_PART = re.compile(r"[A-Za-z0-9_'-]+\Z")


class NixError(ValueError):
    """A Python value that has no safe Nix form (NUL byte, NaN, huge int, ...)."""


def is_identifier(name: str) -> bool:
    """True if ``name`` can be written unquoted as an attribute name."""
    return bool(_IDENTIFIER.match(name)) and name not in KEYWORDS


def nix_string(value: str) -> str:
    """A double-quoted Nix string whose value is exactly ``value``."""
    if not isinstance(value, str):
        raise NixError(f"expected a string, got {type(value).__name__}")
    if "\0" in value:
        raise NixError("strings cannot contain NUL bytes in Nix")
    escaped = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("${", "\\${")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f'"{escaped}"'


def nix_attr_name(key: str) -> str:
    """One attribute name: bare if it is an identifier, otherwise quoted."""
    if not isinstance(key, str):
        raise NixError(f"attribute names must be strings, got {type(key).__name__}")
    return key if is_identifier(key) else nix_string(key)


def nix_attr_path(path: str) -> str:
    """Check a dotted attribute path written by a module author (``a.b."c-d"``).

    Returns it unchanged when every component is an identifier or a plain quoted
    string without escapes or interpolation; raises :class:`NixError` otherwise.
    """
    if not isinstance(path, str) or not path:
        raise NixError("an attribute path must be a non-empty string")
    component = r'(?:[A-Za-z_][A-Za-z0-9_\'-]*|"[^"\\$\n]*")'
    if not re.fullmatch(rf"{component}(?:\.{component})*", path):
        raise NixError(f"not a Nix attribute path: {path!r}")
    for part in re.findall(component, path):
        if part in KEYWORDS:
            raise NixError(f"not a Nix attribute path: {path!r} ({part!r} is a keyword)")
    return path


def attr_path_fragment(*names: str) -> str:
    """An attribute path for a flake URL fragment (``a."b.c".d``): plain parts bare, others quoted."""
    return ".".join(n if _FRAGMENT_PART.match(n) else nix_string(n) for n in names)

"""Writing names and strings into Nix source safely."""
from __future__ import annotations

import re

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_'-]*$")
_KEYWORDS = {"if", "then", "else", "let", "in", "with", "rec", "inherit", "assert", "or"}


def nix_string(value: str) -> str:
    """A double-quoted Nix string literal that evaluates to exactly ``value``."""
    out = ['"']
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "$" and value[i + 1:i + 2] == "{":
            out.append("\\$")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        else:
            out.append(ch)
        i += 1
    out.append('"')
    return "".join(out)


def nix_attr(name: str) -> str:
    """An attribute name: bare when it is a plain identifier, quoted otherwise."""
    if _IDENTIFIER.match(name) and name not in _KEYWORDS:
        return name
    return nix_string(name)


def attr_path_fragment(*names: str) -> str:
    """An attribute path for a flake URL fragment (``a."b.c".d``)."""
    return ".".join(n if re.match(r"^[A-Za-z0-9_'-]+$", n) else nix_string(n) for n in names)

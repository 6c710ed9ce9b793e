"""``thymis_controller.nix.templating``: the Nix text helpers Thymis's modules import.

:func:`convert_python_value_to_nix` writes values the way Thymis does, so a module gives the same Nix text
here as under Thymis: strings double-quoted and escaped, ``None`` as ``null``, lists one element per line
(``ident`` sets the indentation of the closing bracket, ``None`` elements are left out), attribute sets
flattened into dotted paths (``{ a.b = 1; }``) in breadth-first order. Where Thymis's text would not be valid
Nix (negative numbers, which Nix reads as a subtraction, and floats such as ``1e+20``) or could carry Nix code
(keys that are keywords, non-JSON objects) this version writes valid, quoted text or refuses.

``template_env`` is a Jinja2 environment with Thymis's delimiters (``"{{ … }}"``, ``"{% … %}"``), created on
first use so that the SDK imports without Jinja2. ``format_nix_file`` runs ``nixpkgs-fmt`` when it is
installed and otherwise leaves the file as it is; ``generate_timer_settings`` gives the ``timerConfig.*``
lines of a systemd timer setting.
"""
from __future__ import annotations

import logging
import math
import shutil
import subprocess

from thymis_controller.nix.text import NixError, is_identifier, nix_string

__all__ = [
    "convert_python_value_to_nix",
    "format_nix_file",
    "format_nix_value_as_string",
    "generate_timer_settings",
    "string_can_be_identifier_for_attrs_key",
    "write_comma_separated_identifier_list",
]

logger = logging.getLogger(__name__)
_INT_RANGE = (-(2**63), 2**63 - 1)


def string_can_be_identifier_for_attrs_key(s) -> bool:
    """True if ``s`` can be an attribute name without quotes (ASCII identifier, not a keyword)."""
    return isinstance(s, str) and is_identifier(s)


def write_comma_separated_identifier_list(identifiers: list[str]) -> str:
    """``identifiers`` each on a line starting with a comma (for function argument lists)."""
    for name in identifiers:
        if not string_can_be_identifier_for_attrs_key(name):
            raise NixError(f"not a Nix identifier: {name!r}")
    return "\n,".join([""] + list(identifiers)) if identifiers else ""


def _number(value) -> str:
    if isinstance(value, int):
        if not _INT_RANGE[0] <= value <= _INT_RANGE[1]:
            raise NixError(f"integer out of Nix's 64-bit range: {value}")
        text = str(value)
    else:
        if math.isnan(value) or math.isinf(value):
            raise NixError(f"Nix has no float value {value!r}")
        text = repr(value)
        mantissa, _, exponent = text.partition("e")
        if exponent and "." not in mantissa:
            text = f"{mantissa}.0e{exponent}"
    # `f -1` is a subtraction in Nix, and `[ -1 ]` a syntax error: a negative number needs parentheses.
    return f"({text})" if value < 0 else text


def _key(name) -> str:
    if not isinstance(name, str):
        raise NixError(f"attribute names must be strings, got {type(name).__name__}")
    return name if string_can_be_identifier_for_attrs_key(name) else nix_string(name)


def _flatten(value: dict) -> list[tuple[str, object]]:
    """(dotted path, leaf) pairs of nested attribute sets, breadth first; empty nested sets vanish."""
    queue = [[key] for key in value]
    leaves = []
    while queue:
        path = queue.pop(0)
        node = value
        for part in path:
            node = node[part]
        if isinstance(node, dict):
            queue.extend(path + [key] for key in node)
        else:
            leaves.append((".".join(_key(part) for part in path), node))
    return leaves


def convert_python_value_to_nix(value, ident: int = 0) -> str:
    """Nix text for a JSON value, laid out as Thymis lays it out (see the module docstring)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return nix_string(value)
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, (list, tuple)):
        line = "\n" + "  " * (ident + 1)
        items = line.join(convert_python_value_to_nix(v) for v in value if v is not None)
        return f"[{line}{items}\n{'  ' * ident}]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        body = "\n".join(f"  {path} = {convert_python_value_to_nix(leaf)};" for path, leaf in _flatten(value))
        return "{\n" + body + "\n}"
    raise NixError(f"cannot write a {type(value).__name__} value as Nix")


def format_nix_file(file_path) -> None:
    """Format a Nix file in place with ``nixpkgs-fmt`` if it is installed (a no-op otherwise)."""
    program = shutil.which("nixpkgs-fmt")
    if program is None:
        return
    result = subprocess.run([program, str(file_path)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        logger.error("nixpkgs-fmt %s failed with exit code %s: %s", file_path, result.returncode, result.stderr)


def format_nix_value_as_string(value: str) -> str:
    """``value`` formatted by ``nixpkgs-fmt`` if it is installed, else unchanged."""
    program = shutil.which("nixpkgs-fmt")
    if program is None:
        return value
    result = subprocess.run([program], input=value, capture_output=True, text=True, check=False)
    return result.stdout if result.returncode == 0 else value


def _timer_field(timer, name):
    return timer.get(name) if isinstance(timer, dict) else getattr(timer, name, None)


def generate_timer_settings(timer_config) -> list[str]:
    """The ``timerConfig.* = …;`` lines of a systemd timer setting (a SystemdTimerType or its JSON).

    ``realtime`` timers give one ``OnCalendar`` per non-empty calendar entry and ``Persistent`` when true;
    ``monotonic`` ones ``OnBootSec`` / ``OnUnitActiveSec``; both may add ``AccuracySec`` and
    ``RandomizedDelaySec``. Values are written as escaped Nix strings.
    """
    lines = []
    kind = _timer_field(timer_config, "timer_type")
    if kind == "realtime":
        for calendar in _timer_field(timer_config, "on_calendar") or []:
            if calendar:
                lines.append(f"timerConfig.OnCalendar = {nix_string(calendar)};")
        persistent = _timer_field(timer_config, "persistent")
        if persistent:
            lines.append(f"timerConfig.Persistent = {convert_python_value_to_nix(persistent)};")
    elif kind == "monotonic":
        for field, option in (("on_boot_sec", "OnBootSec"), ("on_unit_active_sec", "OnUnitActiveSec")):
            if _timer_field(timer_config, field):
                lines.append(f"timerConfig.{option} = {nix_string(_timer_field(timer_config, field))};")
    for field, option in (("accuracy_sec", "AccuracySec"), ("randomized_delay_sec", "RandomizedDelaySec")):
        if _timer_field(timer_config, field):
            lines.append(f"timerConfig.{option} = {nix_string(_timer_field(timer_config, field))};")
    return lines


_template_env = None


def _make_template_env():
    import jinja2  # only needed by modules that use the environment

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("thymis_controller", "templates_nix"),
        block_start_string='"{%',
        block_end_string='%}"',
        variable_start_string='"{{',
        variable_end_string='}}"',
        autoescape=False,
    )
    env.globals["string_can_be_identifier_for_attrs_key"] = string_can_be_identifier_for_attrs_key
    env.globals["write_comma_separated_identifier_list"] = write_comma_separated_identifier_list
    env.globals["convert_python_value_to_nix"] = convert_python_value_to_nix
    env.filters["nix"] = convert_python_value_to_nix
    return env


def __getattr__(name: str):
    global _template_env
    if name == "template_env":
        if _template_env is None:
            _template_env = _make_template_env()
        return _template_env
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

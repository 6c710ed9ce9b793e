"""One validation object for every input, in the spirit of sourcehut's ``Validation``.

A ``Validation`` wraps a source: a JSON object (``JsonSource``) or a submitted form (``FormSource``). Parsers
ask it for typed values (``text``, ``integer``, ``choice``, ``boolean``, ``list``, ``nested``, ``objects``);
each problem becomes a ``FieldError`` naming its path (``modules[0].settings.port``) and ``raise_if_errors``
raises one ``InputError`` with all of them. Parsers never ask where the input came from: how a form spells
numbers, checkboxes, lists, nested objects and "unset" is the form source's business, so a page and the JSON
API share rules and messages.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from werkzeug.datastructures import MultiDict

from errors import FieldError, InputError

MISSING = object()
MAX_ROWS = 500
TRUE_WORDS = {"true", "on", "1", "yes"}
FALSE_WORDS = {"false", "off", "0", "no", ""}
_FORM_INT = re.compile(r"\s*-?\d+\s*")


class Source:
    """Where values come from. ``keep``/``hide`` restrict which fields a parser sees."""

    form = False

    def __init__(self):
        self.keep: set[str] | None = None
        self.hide: set[str] = set()

    def visible(self, name: str) -> bool:
        return (self.keep is None or name in self.keep) and name not in self.hide

    def restricted(self, keep: Iterable[str] | None = None, hide: Iterable[str] = ()) -> Source:
        copy = self._copy()
        copy.keep = self.keep if keep is None else set(keep) & (self.keep or set(keep))
        copy.hide = self.hide | set(hide)
        return copy


class JsonSource(Source):
    """A decoded JSON object. A value may itself be a Source: a JSON body carrying one form (a settings card)."""

    def __init__(self, data: Mapping):
        super().__init__()
        self.data = data

    def _copy(self) -> JsonSource:
        return JsonSource(self.data)

    def keys(self) -> list[str]:
        return [key for key in self.data if self.visible(key)]

    def get(self, name: str) -> Any:
        """The value (None for JSON null), MISSING when absent."""
        return self.data.get(name, MISSING) if self.visible(name) else MISSING

    def boolean(self, name: str) -> Any:
        return self.get(name)

    def integer(self, name: str) -> Any:
        return self.get(name)

    def matches(self, value: Any, option: Any) -> bool:
        return value == option

    def child(self, name: str) -> Source | None | Any:
        """None when absent or null; a Source for an object; else the value (not an object)."""
        value = self.get(name)
        if value is MISSING or value is None or isinstance(value, Source):
            return None if value is MISSING else value
        return JsonSource(value) if isinstance(value, Mapping) else value

    def rows(self, name: str) -> Any:
        return self.get(name)

    def strings(self, name: str) -> Any:
        return self.get(name)


class FormSource(Source):
    """A submitted form (a werkzeug MultiDict). How a form spells things:

    - a nested object's fields are ``<name><sep><field>`` (``access_kind``; ``s.port`` under prefix ``s.``);
    - a list of objects is ``<name>.count`` rows of ``<name>.<i>.<field>`` (capped at MAX_ROWS);
    - a list of strings is the field repeated, with a hidden ``<name>-present`` so "none chosen" is sent too;
    - a checkbox comes after a hidden "false", so the last value sent wins; words like on/off/true/false;
    - a number is its digits; with ``blank_is_unset`` (generated settings forms) an empty input is unset;
    - fields nobody asks for (the CSRF token, buttons) are not errors, and panels of a choice not taken
      are dropped (the form sends every panel's inputs).
    """

    form = True

    def __init__(self, form: MultiDict, prefix: str = "", sep: str = "_", blank_is_unset: bool = False):
        super().__init__()
        self.data, self.prefix, self.sep, self.blank_is_unset = form, prefix, sep, blank_is_unset

    def _copy(self) -> FormSource:
        return FormSource(self.data, self.prefix, self.sep, self.blank_is_unset)

    def _key(self, name: str) -> str:
        return self.prefix + name
    def keys(self) -> list[str]:
        names: dict[str, None] = {}
        for key in self.data:
            if key.startswith(self.prefix):
                rest = key[len(self.prefix):]
                name = rest.split(self.sep, 1)[0] if self.sep in rest else rest.removesuffix("-present")
                if self.visible(name):
                    names[name] = None
        return list(names)

    def get(self, name: str) -> Any:
        if not self.visible(name) or self._key(name) not in self.data:
            return MISSING
        value = self.data.get(self._key(name))
        return MISSING if value == "" and self.blank_is_unset else value

    def boolean(self, name: str) -> Any:
        sent = self.data.getlist(self._key(name)) if self.visible(name) else []
        if not sent:
            return MISSING
        word = sent[-1].strip().lower()
        return True if word in TRUE_WORDS else False if word in FALSE_WORDS else sent[-1]

    def integer(self, name: str) -> Any:
        value = self.get(name)
        return int(value) if isinstance(value, str) and _FORM_INT.fullmatch(value) else value

    def matches(self, value: Any, option: Any) -> bool:
        return value == option or (isinstance(value, str) and value == str(option))

    def child(self, name: str) -> FormSource | None:
        if not self.visible(name):
            return None
        start = self._key(name) + self.sep
        if not any(key.startswith(start) for key in self.data):
            return None
        return FormSource(self.data, start, self.sep, self.blank_is_unset)

    def rows(self, name: str) -> list[FormSource] | Any:
        count = self.data.get(self._key(name) + self.sep + "count") if self.visible(name) else None
        if count is None:
            return MISSING
        total = min(int(count), MAX_ROWS) if count.isdigit() else 0
        start = self._key(name) + self.sep
        return [FormSource(self.data, f"{start}{i}{self.sep}", self.sep, self.blank_is_unset) for i in range(total)]

    def strings(self, name: str) -> list[str] | Any:
        if not self.visible(name):
            return MISSING
        if self._key(name) + "-present" in self.data:
            return self.data.getlist(self._key(name))
        return MISSING


def source_of(data: Any) -> Source:
    if isinstance(data, Validation):
        return data.source
    if isinstance(data, Source):
        return data
    if isinstance(data, MultiDict):
        return FormSource(data)
    return JsonSource(data)


def _printable(value: str) -> bool:
    return not any(ord(c) < 32 or ord(c) == 127 for c in value)


class Validation:
    """Typed getters over one source; errors are collected (shared with nested objects) and raised once."""

    def __init__(self, data: Any, path: str = "", errors: list[FieldError] | None = None):
        self.source = source_of(data)
        self.path = path
        self.errors: list[FieldError] = [] if errors is None else errors

    @classmethod
    def of(cls, data: Any) -> Validation:
        """``data`` itself when it is a Validation already, else a Validation over it."""
        return data if isinstance(data, Validation) else cls(data)

    def field(self, name: str) -> str:
        """The full path of ``name``: ``modules[0].settings.port``; "" is this object itself."""
        return (f"{self.path}.{name}" if self.path else name) if name else self.path

    def _sub(self, source: Source, path: str) -> Validation:
        return Validation(source, path, self.errors)

    def only(self, *names: str) -> Validation:
        """The same input seeing only ``names`` (others are ignored, not unknown)."""
        return self._sub(self.source.restricted(keep=names), self.path)

    def without(self, *names: str) -> Validation:
        return self._sub(self.source.restricted(hide=names), self.path)

    def panel(self, chosen: bool, *names: str) -> None:
        """Fields shown for one choice only: a form sends every panel's inputs, so when the choice is not
        taken they are dropped; a JSON body keeps them and its parser decides whether they are an error."""
        if not chosen and self.source.form:
            self.source = self.source.restricted(hide=names)

    def has(self, name: str) -> bool:
        """Whether ``name`` was sent (a JSON null counts as sent)."""
        return (self.source.get(name) is not MISSING or self.source.rows(name) is not MISSING
                or self.source.child(name) is not None)

    def names(self) -> list[str]:
        """The fields sent, in order. A form: the first part of each field name under this object's prefix,
        which is exact where the separator cannot occur in a name (``.`` in settings forms)."""
        return self.source.keys()

    def raw(self, name: str, default: Any = None) -> Any:
        """The value as sent (any JSON value; a string in a form)."""
        value = self.source.get(name)
        return default if value is MISSING else value

    def error(self, name: str, message: str, code: str = "invalid") -> None:
        self.errors.append(FieldError(self.field(name), message, code))

    def unknown(self, allowed: Iterable[str], message: Callable[[str], str] = lambda key: f"unknown field '{key}'"):
        """Report fields not in ``allowed`` (a JSON body only: forms carry tokens and buttons)."""
        if self.source.form:
            return
        allowed = set(allowed)
        for key in self.names():
            if key not in allowed:
                self.error(key, message(key))

    def unknown_field(self, name: str, message: str) -> None:
        """Report one field nobody reads (a JSON body only), keeping the order of the body's keys."""
        if not self.source.form:
            self.error(name, message)

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_if_errors(self, status: int = 422) -> None:
        if self.errors:
            raise InputError(list(self.errors), status)

    def text(self, name: str, *, required: str | None = None, max_len: int | None = None,
             too_long: str | None = None, control: str | None = None, strip: bool = True,
             wrong_type: str | None = None) -> str | None:
        """A string. ``required``: the message when absent or empty. ``too_long``/``control``: the messages for
        more than ``max_len`` characters / control characters (when not given, those are not checked)."""
        value = self.source.get(name)
        if value is MISSING or value is None:
            if required:
                self.error(name, required, "required")
            return None
        if not isinstance(value, str):
            self.error(name, wrong_type or f"{self.field(name)} must be a string")
            return None
        value = value.strip() if strip else value
        if required and not value:
            self.error(name, required, "required")
        elif max_len is not None and too_long and len(value) > max_len:
            self.error(name, too_long)
        elif control and not _printable(value):
            self.error(name, control)
        else:
            return value
        return None

    def integer(self, name: str, *, message: str, min: int | None = None, max: int | None = None,
                out_of_range: str | None = None, default: Any = None) -> int | None:
        """A whole number (not a boolean) from ``min`` to ``max``; ``default`` when absent."""
        value = self.source.integer(name)
        if value is MISSING:
            return default
        if not isinstance(value, int) or isinstance(value, bool):
            self.error(name, message)
            return None
        if (min is not None and value < min) or (max is not None and value > max):
            self.error(name, out_of_range or message)
            return None
        return value

    def boolean(self, name: str, *, message: str) -> bool | None:
        value = self.source.boolean(name)
        if value is MISSING:
            return None
        if not isinstance(value, bool):
            self.error(name, message)
            return None
        return value

    def choice(self, name: str, options: Iterable[Any], *, message: str, required: bool = False) -> Any:
        """One of ``options`` (a form matches an option by its text); None when absent or null."""
        value = self.source.get(name)
        if value is MISSING or value is None:
            if required:
                self.error(name, message, "required")
            return None
        for option in options:
            if self.source.matches(value, option):
                return option
        self.error(name, message)
        return None

    def list(self, name: str, *, message: str) -> list[str] | None:
        """A list of strings, duplicates dropped in order; None when absent."""
        value = self.source.strings(name)
        if value is MISSING:
            return None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.error(name, message)
            return None
        return list(dict.fromkeys(value))

    def nested(self, name: str, *, message: str | None = None) -> Validation | None:
        """The object ``name`` as a Validation whose errors are named ``<path>.<name>.<field>``."""
        value = self.source.child(name)
        if value is None:
            return None
        if not isinstance(value, Source):
            self.error(name, message or f"{self.field(name)} must be an object")
            return None
        return self._sub(value, self.field(name))

    def objects(self, name: str, *, message: str, item_message: str) -> Rows | None:
        """A list of objects, each a Validation named ``<name>[i]``; None when absent, or no list (``message``).
        Iterating yields None for an entry that is no object and reports it (``item_message``) then, so
        errors keep the order of the entries."""
        rows = self.source.rows(name)
        if rows is MISSING:
            return None
        if not isinstance(rows, list):
            self.error(name, message)
            return None
        return Rows(self, self.field(name), rows, item_message)


class Rows:
    def __init__(self, parent: Validation, path: str, rows: list, item_message: str):
        self.parent, self.path, self.rows, self.item_message = parent, path, rows, item_message

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Validation | None]:
        for index, row in enumerate(self.rows):
            path = f"{self.path}[{index}]"
            if isinstance(row, Mapping):
                row = JsonSource(row)
            if isinstance(row, Source):
                yield self.parent._sub(row, path)
            else:
                self.parent.errors.append(FieldError(path, self.item_message))
                yield None

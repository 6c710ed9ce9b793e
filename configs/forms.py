"""Reading a generated settings form back into settings values, and adding or removing list rows.

Field names: `s.<setting>` for a value, `s.<list>.<i>.<sub>` inside list entries, `s.<list>.count` for the
number of entries. Checkboxes come with a hidden "false" before them, so the last value sent wins.
"""
from __future__ import annotations

from validation import MAX_ROWS, FormSource

__all__ = ["MAX_ROWS", "change_rows", "read_settings", "settings_source"]


def settings_source(form) -> FormSource:
    """The settings of a generated settings form, for ``check_settings`` (an empty input is unset)."""
    return FormSource(form, prefix="s.", sep=".", blank_is_unset=True)


def read_settings(form, schema: list[dict], prefix: str = "s") -> dict:
    """The values as typed (strings), to show the form again or add/remove a row; saving checks them with
    ``settings_source``."""
    values: dict = {}
    for entry in schema:
        key = f"{prefix}.{entry['name']}"
        if entry.get("type") == "list":
            count = form.get(f"{key}.count", "0")
            count = min(int(count), MAX_ROWS) if count.isdigit() else 0
            values[entry["name"]] = [read_settings(form, entry.get("settings", []), f"{key}.{i}") for i in range(count)]
        elif entry.get("type") == "bool":
            sent = form.getlist(key)
            if sent:
                values[entry["name"]] = sent[-1]
        elif key in form:
            values[entry["name"]] = form.get(key)
    return values


def change_rows(values: dict, schema: list[dict], action: str) -> dict:
    """action "add-row:<list>" appends an empty entry, "remove-row:<list>:<i>" drops entry i (top-level lists)."""
    verb, _, target = action.partition(":")
    name, _, index = target.partition(":")
    if not any(e["name"] == name and e.get("type") == "list" for e in schema):
        return values
    rows = list(values.get(name) or [])
    if verb == "add-row":
        rows.append({})
    elif verb == "remove-row" and index.isdigit() and int(index) < len(rows):
        rows.pop(int(index))
    return {**values, name: rows}

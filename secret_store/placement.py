"""Where each secret goes on a device, with which owner, group and mode, and what is done to its value first.

A secret setting places its secret where its ``SecretType`` asks (``on_device_path``, ``on_device_owner``,
``on_device_group``, ``on_device_mode``); inside a list entry, sibling settings named ``path``, ``owner``,
``group`` and ``mode`` (Thymis's Files module) choose them for that entry. Without a path the secret goes to
``<secrets folder>/<name>`` (``<name>.<processing>`` when its value is processed), mode 0400. Without an owner or
group the file keeps the delivering user's (root on a device; a laptop's user when testing locally).

Modules are repository code, so what they ask for is checked like any other untrusted input (PlacementError,
naming the module and setting, before anything is built or sent):

- the path is a plain absolute path (no ``.``/``..`` component, no hidden name, letters, digits and ``_.+-``)
  strictly inside the secrets folder (THYMIS_SECRETS_DIR) or a folder of THYMIS_SECRET_PATHS (by default
  ``/run/thymis``, where Thymis's own modules place files, e.g. the root password hash): never ``/etc/shadow``;
- owner and group are user and group names (whether they exist is checked on the device, before anything is
  placed: secret_store.delivery);
- the mode gives other users nothing and the group no write (e.g. 0400, 0440, 0600, 0640, 0700), no special bits;
- two settings may not ask for one path with different secrets, processing or rights, nor a path inside another.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from deploy.render import GenerationError

SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}")
ACCOUNT = re.compile(r"[a-z_][a-z0-9_-]{0,30}\$?")
MODE = re.compile(r"0?[0-7]{3}")
PROCESSING = ("none", "mkpasswd-yescrypt")
DEFAULT_OWNER = DEFAULT_GROUP = ""  # the delivering user's (root on a device): no chown
DEFAULT_MODE = 0o400
ENTRY_FIELDS = ("path", "owner", "group", "mode")  # the sibling settings of a Files-style list entry


class PlacementError(GenerationError):
    """A module asks to place a secret somewhere, or with rights, the controller refuses; ``field`` says which
    of path, owner, group, mode or processing."""

    def __init__(self, message: str, field: str = "path"):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Placement:
    secret: str
    path: str
    owner: str
    group: str
    mode: int
    processing: str
    where: str  # "module M, setting S", for messages

    @property
    def rights(self) -> tuple:
        return (self.secret, self.processing, self.owner, self.group, self.mode)


def folders(settings) -> list[str]:
    """The folders secrets may be placed in: the secrets folder first, then THYMIS_SECRET_PATHS."""
    found = [str(settings.secrets_dir).rstrip("/")]
    for folder in getattr(settings, "secret_paths", ()) or ():
        if folder.rstrip("/") not in found:
            found.append(folder.rstrip("/"))
    return found


def folder_of(path: str, allowed: list[str]) -> str | None:
    """The allowed folder ``path`` lies strictly inside (the innermost), or None."""
    inside = [f for f in allowed if path.startswith(f + "/")]
    return max(inside, key=len) if inside else None


def check_path(path, allowed: list[str], where: str) -> str:
    if not isinstance(path, str) or not path:
        raise PlacementError(f"{where}: the secret's path must be text")
    shown = path[:200].encode("unicode_escape").decode()
    if not path.startswith("/"):
        raise PlacementError(f"{where}: the secret's path {shown} is not absolute")
    folder = folder_of(path, allowed)
    if folder is None:
        raise PlacementError(f"{where}: the secret's path {shown} is outside the folders secrets may be placed "
                             f"in ({', '.join(allowed)}; more with THYMIS_SECRET_PATHS)")
    parts = path[len(folder) + 1:].split("/")
    if any(not SEGMENT.fullmatch(part) for part in parts):
        raise PlacementError(f"{where}: the secret's path {shown} must be plain names below {folder} (letters, "
                             "digits and _ . + -, not starting with a dot; no empty, . or .. part)")
    if any(f == path or f.startswith(path + "/") for f in allowed):
        raise PlacementError(f"{where}: the secret's path {shown} is a folder secrets are placed in")
    return path


def _account(value, what: str, default: str, where: str) -> str:
    if value in (None, ""):
        return default
    if not isinstance(value, str) or not ACCOUNT.fullmatch(value):
        raise PlacementError(f"{where}: the secret's {what} must be a user or group name (lower-case letters, "
                             "digits, _ and -)", what)
    return value


def _mode(value, where: str) -> int:
    if value in (None, ""):
        return DEFAULT_MODE
    if not isinstance(value, str) or not MODE.fullmatch(value):
        raise PlacementError(f"{where}: the secret's mode must be octal like 0400 or 0640 (no special bits)", "mode")
    mode = int(value, 8)
    if mode & 0o027:
        raise PlacementError(f"{where}: mode {value} would let {'other users' if mode & 0o007 else 'its group'} "
                             f"{'read or change' if mode & 0o007 else 'change'} the secret: use e.g. 0400, 0440, "
                             "0600 or 0640", "mode")
    return mode


def place(entry: dict, secret: str, chosen: dict, settings, where: str) -> Placement:
    """The placement one secret setting asks for: ``entry`` its schema entry, ``chosen`` the entry's own
    path/owner/group/mode (Files-style list entries), which win over the SecretType's."""
    asked = dict(entry.get("on_device") or {})
    asked.update({key: chosen[key] for key in ENTRY_FIELDS if chosen.get(key) not in (None, "")})
    processing = entry.get("processing") or "none"
    if processing not in PROCESSING:
        raise PlacementError(f"{where}: unknown processing type {str(processing)[:50]!r} (known: "
                             f"{', '.join(PROCESSING)})", "processing")
    allowed = folders(settings)
    if asked.get("path") in (None, ""):
        path = f"{allowed[0]}/{secret}" + ("" if processing == "none" else f".{processing}")
    else:
        path = check_path(asked["path"], allowed, where)
    return Placement(secret=secret, path=path, owner=_account(asked.get("owner"), "owner", DEFAULT_OWNER, where),
                     group=_account(asked.get("group"), "group", DEFAULT_GROUP, where),
                     mode=_mode(asked.get("mode"), where), processing=processing, where=where)


def problem_at_save(entry: dict, secret: str, chosen: dict, label: str) -> tuple[str, str] | None:
    """(field, message) when saving would give a placement the controller refuses (a Files entry's path
    /etc/passwd, say): the field is the entry's own path/owner/group/mode when it set it, else the setting."""
    from flask import current_app, has_app_context
    if not has_app_context() or "THYMIS" not in current_app.config:
        return None
    try:
        place(entry, secret, chosen, current_app.config["THYMIS"], label)
    except PlacementError as exc:
        field = exc.field if chosen.get(exc.field) not in (None, "") and exc.field in ENTRY_FIELDS else None
        return field, str(exc)
    return None


def walk(schema: list[dict], values: dict, settings, where: str, found: list, strict: bool = True) -> dict:
    """``values`` as the module's Nix sees them (each secret setting holds its file's path on the device);
    the placements are appended to ``found``. ``strict=False`` (rendering every device of the project) gives a
    refused placement its default path instead of raising: that device's own deploy refuses it (delivery)."""
    out = dict(values or {})
    by_name = {entry["name"]: entry for entry in schema}
    for name, value in out.items():
        entry = by_name.get(name, {})
        if entry.get("type") == "secret" and isinstance(value, str) and value:
            try:
                placed = place(entry, value, values, settings, f"{where}, setting {name}")
            except PlacementError:
                if strict:
                    raise
                placed = place({"type": "secret"}, value, {}, settings, where)
            found.append(placed)
            out[name] = placed.path
        elif entry.get("type") == "list" and isinstance(value, list):
            out[name] = [walk(entry.get("settings", []), row, settings, f"{where}, {name}[{i}]", found, strict)
                         if isinstance(row, dict) else row for i, row in enumerate(value)]
    return out


def checked(placements: list[Placement]) -> list[Placement]:
    """One placement per path; PlacementError when two ask for one path differently or one inside another."""
    by_path: dict[str, Placement] = {}
    for placed in placements:
        other = by_path.setdefault(placed.path, placed)
        if other.rights != placed.rights:
            raise PlacementError(f"{placed.where} and {other.where} both place a secret at {placed.path}, with "
                                 "different secrets, processing or rights: choose another path for one")
    for path, placed in by_path.items():
        parts = path.split("/")
        for outer in ("/".join(parts[:n]) for n in range(2, len(parts))):
            if outer in by_path:
                raise PlacementError(f"{placed.where} places a secret inside {outer}, where "
                                     f"{by_path[outer].where} places a secret")
    return [by_path[path] for path in sorted(by_path)]

"""Secrets: create, replace the value, change the type, delete. Values are write-only: encrypted with the
vault's Fernet key before they are stored, never returned, never put into a message or a log."""
from __future__ import annotations

import base64
import binascii
import re

from peewee import IntegrityError

from errors import FieldError, InputError, NotFound
from models import Secret, SecretKind, database, isoformat, utcnow
from repos import vault
from secret_store.usage import all_usages
from validation import Validation

NAME_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
KINDS = [kind.value for kind in SecretKind]
LABELS = {SecretKind.SINGLE_LINE: "Single line", SecretKind.MULTI_LINE: "Multiple lines",
          SecretKind.ENV_LIST: "Environment variables (NAME=value lines)", SecretKind.FILE: "File"}
MAX_TEXT = 64 * 1024
MAX_FILE = 1024 * 1024
ENV_LINE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
FIELDS = {"name", "type", "value", "value_base64", "csrf_token"}


def get_secret(name: str) -> Secret:
    row = Secret.get_or_none(Secret.name == name)
    if row is None:
        raise NotFound(f"no secret named '{name}'")
    return row


def names_of_types(allowed: list[str] | None) -> list[str]:
    """The names of the secrets a setting accepting ``allowed`` types (empty: any) may choose."""
    query = Secret.select(Secret.name).order_by(Secret.name)
    if allowed:
        query = query.where(Secret.kind.in_(list(allowed)))
    return [row.name for row in query]


def check_setting_value(value, allowed: list[str] | None, label: str) -> str | None:
    """What is wrong with a secret setting's value (a secret's name): the message names the setting."""
    if not isinstance(value, str):
        return f"{label} must be the name of a secret"
    row = Secret.get_or_none(Secret.name == value)
    if row is None:
        return f"{label}: no secret named '{value}' (add it under Secrets first)"
    if allowed and row.kind not in allowed:
        return f"{label}: secret '{value}' is of type {row.kind}; this setting accepts {', '.join(allowed)}"
    return None


def _text_problem(kind: str, text: str) -> str | None:
    """What is wrong with a text value (the message never quotes the value)."""
    if len(text.encode()) > MAX_TEXT:
        return f"the value is larger than {MAX_TEXT // 1024} KiB"
    if "\0" in text:
        return "the value must not contain a NUL character"
    if kind == SecretKind.SINGLE_LINE:
        if not text:
            return "the value is required"
        if "\n" in text or "\r" in text:
            return "a single_line secret must be one line (no line break)"
    if kind == SecretKind.ENV_LIST:
        for number, line in enumerate(text.split("\n"), start=1):
            if line.strip() and not line.lstrip().startswith("#") and not ENV_LINE.match(line):
                return f"line {number} of the value is not NAME=value (NAME: letters, digits and _)"
    return None


def _value(v: Validation, kind: str, required: bool) -> bytes | None:
    """The value's bytes from ``value`` (text) or, for a file, ``value_base64``; None when not sent."""
    if kind == SecretKind.FILE and v.raw("value_base64") not in (None, ""):
        encoded = v.raw("value_base64")
        try:
            data = base64.b64decode(encoded, validate=True) if isinstance(encoded, str) else None
        except (binascii.Error, ValueError):
            data = None
        if data is None:
            v.error("value_base64", "value_base64 must be base64 text")
        elif len(data) > MAX_FILE:
            v.error("value_base64", f"the file is larger than {MAX_FILE // 1024 // 1024} MiB")
        return data
    if v.has("value_base64") and v.raw("value_base64") not in (None, "") and kind != SecretKind.FILE:
        v.error("value_base64", "value_base64 is only for secrets of type file; send value")
        return None
    text = v.raw("value")
    if text is None or (text == "" and v.source.form):
        if required:
            v.error("value", "the value is required", "required")
        return None
    if not isinstance(text, str):
        v.error("value", "the value must be a string")
        return None
    if v.source.form:  # browsers send a textarea's line breaks as CRLF
        text = text.replace("\r\n", "\n")
    limit = MAX_FILE if kind == SecretKind.FILE else MAX_TEXT
    problem = (f"the file is larger than {MAX_FILE // 1024 // 1024} MiB" if len(text.encode()) > limit else None) \
        if kind == SecretKind.FILE else _text_problem(kind, text)
    if problem:
        v.error("value", problem)
        return None
    return text.encode()


def _refused_type(row: Secret, kind: str) -> InputError | None:
    """A type change that a setting using the secret does not accept: 409 naming the setting."""
    for use in all_usages().get(row.name, []):
        allowed = use["allowed_types"]
        if allowed and kind not in allowed:
            return InputError([FieldError("type", f"secret '{row.name}' is used by {use['kind']} {use['name']} "
                               f"({use['module']}, setting {use['setting']}), which accepts "
                               f"{', '.join(allowed)}, not {kind}", "conflict")], status=409)
    return None


def save_secret(settings, data, existing: Secret | None = None) -> Secret:
    """Create a secret (``existing`` None) or change one: ``data`` is a JSON body, a form or a Validation."""
    v = Validation.of(data)
    v.unknown(FIELDS)
    creating = existing is None
    name = None
    if creating:
        name = v.text("name", required="the secret's name is required", max_len=64,
                      too_long="the secret's name must be at most 64 characters",
                      wrong_type="the secret's name must be a string")
        if name and not NAME_RULE.match(name):
            v.error("name", "the secret's name must start with a letter or digit and hold only letters, digits, "
                            ". _ and - (it becomes a file name on the device)")
    elif v.has("name") and v.raw("name") not in (None, existing.name):
        v.error("name", "a secret cannot be renamed: create one with the new name and choose it in the settings")
    kind = v.choice("type", KINDS, message=f"type must be one of: {', '.join(KINDS)}", required=creating)
    kind = kind or (existing.kind if existing else None)
    value = _value(v, kind, creating) if kind else None
    v.raise_if_errors()
    if not creating and kind != existing.kind:
        refused = _refused_type(existing, kind)
        if refused:
            raise refused
        if value is None:
            problem = _text_problem(kind, vault.decrypt_bytes(settings, existing.value).decode(errors="replace")) \
                if kind != SecretKind.FILE else None
            if problem:
                raise InputError([FieldError("value", f"the stored value does not fit type {kind}: {problem}; "
                                                      "send a new value with the type")])
    now = utcnow()
    try:
        with database.atomic():
            if creating:
                return Secret.create(name=name, kind=kind, value=vault.encrypt_bytes(settings, value), size=len(value),
                                     created_at=now, updated_at=now, value_updated_at=now)
            existing.kind, existing.updated_at = kind, now
            if value is not None:
                existing.value, existing.size, existing.value_updated_at = (
                    vault.encrypt_bytes(settings, value), len(value), now)
            existing.save()
            return existing
    except IntegrityError:
        raise InputError([FieldError("name", f"a secret named '{name}' already exists", "conflict")],
                         status=409) from None


def in_use_message(row: Secret, uses: list[dict]) -> str | None:
    """Why deleting ``row`` is refused (the settings that choose it), or None when nothing uses it."""
    if not uses:
        return None
    where = ", ".join(f"{u['kind']} {u['name']} ({u['module']}, setting {u['setting']})" for u in uses[:5])
    return f"secret '{row.name}' is used by {where}: choose another secret there first"


def delete_secret(row: Secret) -> None:
    """Delete an unused secret; one a setting uses is a 409 naming where (choose another secret there first)."""
    refused = in_use_message(row, all_usages().get(row.name, []))
    if refused:
        raise InputError([FieldError("name", refused, "conflict")], status=409)
    row.delete_instance()


def reveal(settings, row: Secret) -> bytes:
    """The value, for delivery to a device only (never for a response or a log)."""
    return vault.decrypt_bytes(settings, row.value)


def used_by_json(uses: list[dict]) -> list[dict]:
    return [{key: use[key] for key in ("kind", "name", "module", "setting")} for use in uses]


def secret_json(row: Secret, usages: dict | None = None) -> dict:
    usages = all_usages() if usages is None else usages
    return {"name": row.name, "type": row.kind, "size": row.size, "created_at": isoformat(row.created_at),
            "updated_at": isoformat(row.updated_at), "value_updated_at": isoformat(row.value_updated_at),
            "used_by": used_by_json(usages.get(row.name, []))}

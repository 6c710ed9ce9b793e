"""One validation object for a repository's form, JSON body and CLI arguments: same rules, same messages."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from errors import FieldError, InputError
from repos.access import AccessInput, parse_access, redact_url
from repos.urls import RemoteSpec, UrlError, parse_remote_url, validate_ref
from thymis_controller.nix.text import KEYWORDS, NAME_PATTERN

RESERVED_NAMES = {"self", "nixpkgs"}
MAX_DISPLAY_NAME = 100


def derive_name(display_name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", display_name.lower()).strip("-")
    if not slug or not slug[0].isalpha():
        slug = "repo-" + slug if slug else "repo"
    return slug[:63].rstrip("-")


def check_name(name: str, what: str = "input name",
               why: str = "because it becomes the flake input name inputs.<name>") -> str | None:
    """None when `name` can be a Nix attribute name in the generated flake, else why not."""
    if not NAME_PATTERN.match(name):
        return (f"the {what} must start with a letter or '_' and contain only letters, digits, '_' or '-' "
                f"(at most 63 characters), {why}")
    if name in KEYWORDS or name in RESERVED_NAMES:
        return f"'{name}' is reserved in the generated flake; choose another {what}"
    return None


def _text(data: Mapping, key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError([FieldError(key, f"{key} must be a string")])
    return value.strip()


@dataclass
class RepositoryInput:
    display_name: str | None = None
    name: str | None = None
    ref: str | None = None
    spec: RemoteSpec | None = None
    ref_given: bool = False
    access: AccessInput | None = None  # None: keep the saved access (and no credentials in the URL)

    @classmethod
    def parse(cls, data: Mapping, *, allow_local: bool, partial: bool = False) -> "RepositoryInput":
        """partial=True is an edit: only the fields present are checked and changed."""
        errors: list[FieldError] = []
        result = cls()
        known = {"display_name", "url", "name", "ref", "access", "csrf_token"}
        for key in data:
            if key not in known:
                errors.append(FieldError(key, f"unknown field '{key}'"))

        display_name = _text(data, "display_name")
        if display_name is None or display_name == "":
            if not partial or display_name == "":
                errors.append(FieldError("display_name", "a display name is required", "required"))
        elif len(display_name) > MAX_DISPLAY_NAME:
            errors.append(FieldError("display_name", f"the display name is longer than {MAX_DISPLAY_NAME} characters"))
        elif any(ord(c) < 32 for c in display_name):
            errors.append(FieldError("display_name", "the display name contains control characters"))
        else:
            result.display_name = display_name

        url = _text(data, "url")
        if url is None or url == "":
            if not partial or url == "":
                errors.append(FieldError("url", "a repository URL is required", "required"))
        else:
            try:
                result.spec = parse_remote_url(url, allow_local=allow_local)
            except UrlError as exc:
                errors.append(FieldError("url", redact_url(str(exc))))
        result.access = parse_access(data, result.spec, errors)

        name = _text(data, "name")
        if name:
            problem = check_name(name)
            if problem:
                errors.append(FieldError("name", problem))
            else:
                result.name = name

        if "ref" in data:
            result.ref_given = True
            ref = _text(data, "ref")
            if ref:
                try:
                    result.ref = validate_ref(ref)
                except ValueError as exc:
                    errors.append(FieldError("ref", str(exc)))

        if errors:
            raise InputError(errors)
        return result

    def effective_ref(self) -> str | None:
        """An explicit ref wins; else one named in the URL (github:o/r/ref, ?rev=, ?ref=)."""
        if self.ref:
            return self.ref
        if self.spec is not None:
            return self.spec.rev or self.spec.ref
        return None

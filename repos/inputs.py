"""One validation object for a repository's form, JSON body and CLI arguments: same rules, same messages."""
from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.signature import parse_allowed_signers
from repos.access import HTTPS_TOKEN, AccessInput, parse_access, redact_url
from repos.updates import read_interval, read_secret
from repos.urls import RemoteSpec, UrlError, parse_remote_url, validate_ref
from thymis_controller.nix.text import KEYWORDS, NAME_PATTERN
from validation import Validation

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


@dataclass
class RepositoryInput:
    display_name: str | None = None
    name: str | None = None
    ref: str | None = None
    spec: RemoteSpec | None = None
    ref_given: bool = False
    access: AccessInput | None = None  # None: keep the saved access (and no credentials in the URL)
    allowed_signers: str | None = None  # "" clears them; None: not given (keep)
    review: str | None = None  # "auto" or "required"; None: not given (keep; "auto" for a new repository)
    webhook_secret: str | None = None  # write-only; "" removes it; None: not given (keep)
    refresh_interval: int | None = ...  # minutes; None: off; ...: not given (keep; off for a new repository)
    confirm_unknown_ref: bool = False  # save a ref the remote does not list (else Save asks: 409)

    @classmethod
    def parse(cls, data, *, allow_local: bool, partial: bool = False) -> RepositoryInput:
        """``data``: a JSON body, a submitted form or a Validation. partial=True is an edit: only the fields
        present are checked and changed. Raises InputError with every error."""
        v = Validation.of(data)
        result = cls()
        v.unknown({"display_name", "url", "name", "ref", "access", "allowed_signers", "review", "webhook_secret",
                   "refresh_interval", "csrf_token", "confirm_unknown_ref"})

        display_name = v.text("display_name", required=None if partial else "a display name is required",
                              max_len=MAX_DISPLAY_NAME,
                              too_long=f"the display name is longer than {MAX_DISPLAY_NAME} characters",
                              control="the display name contains control characters")
        if display_name == "":
            v.error("display_name", "a display name is required", "required")
        elif display_name is not None:
            result.display_name = display_name

        url = v.text("url", required=None if partial else "a repository URL is required")
        if url == "":
            v.error("url", "a repository URL is required", "required")
        elif url is not None:
            try:
                result.spec = parse_remote_url(url, allow_local=allow_local)
            except UrlError as exc:
                v.error("url", redact_url(str(exc)))
        result.access = parse_access(v, result.spec)

        name = v.text("name")
        if name:
            problem = check_name(name)
            if problem:
                v.error("name", problem)
            else:
                result.name = name

        if v.has("ref"):
            result.ref_given = True
            ref = v.text("ref")
            if ref:
                try:
                    result.ref = validate_ref(ref)
                except ValueError as exc:
                    v.error("ref", str(exc))

        if v.has("allowed_signers"):
            signers = v.text("allowed_signers", wrong_type="allowed_signers must be a string (one "
                                                             "allowedSignersFile line per signer)")
            if signers is not None:
                result.allowed_signers, problems = parse_allowed_signers(signers)
                if problems:
                    v.error("allowed_signers", "allowed signers: " + "; ".join(problems[:5]))

        result.review = v.choice("review", ("auto", "required"), message="review must be 'auto' (a passing commit "
                                 "becomes active) or 'required' (it awaits approval)")

        result.webhook_secret = read_secret(v)
        result.refresh_interval = read_interval(v)
        result.confirm_unknown_ref = bool(v.boolean("confirm_unknown_ref", message="confirm_unknown_ref must be "
                                                    "true or false"))
        v.raise_if_errors()
        return result

    def effective_ref(self) -> str | None:
        """An explicit ref wins; else one named in the URL (github:o/r/ref, ?rev=, ?ref=)."""
        if self.ref:
            return self.ref
        if self.spec is not None:
            return self.spec.rev or self.spec.ref
        return None


def shown_again(data) -> dict:
    """A submitted repository form (or body) in body shape, safe to show again: no token, no URL password."""
    v = Validation.of(data)
    shown = {key: v.raw(key) for key in ("display_name", "url", "name", "ref", "allowed_signers", "review",
                                         "refresh_interval") if v.has(key)}  # never the webhook secret
    if isinstance(shown.get("url"), str):
        shown["url"] = redact_url(shown["url"])
    if isinstance(shown.get("allowed_signers"), str) and "PRIVATE KEY" in shown["allowed_signers"]:
        shown["allowed_signers"] = ""  # a private key pasted by mistake is refused and never shown again
    access = v.nested("access")
    if access is not None:
        kind = access.raw("kind")
        access.panel(kind == HTTPS_TOKEN, "username")
        shown["access"] = {key: access.raw(key) for key in ("kind", "username") if access.has(key)}
    return shown

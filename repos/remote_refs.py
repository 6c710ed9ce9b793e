"""A remote's branches and tags, listed with Dulwich for the repository form, and the question Save asks when
the remote does not have the ref. Works for any git host; nothing is stored (not even a new host key).

A hostile remote cannot hurt: only ``HEAD``, ``refs/heads/`` and ``refs/tags/`` are asked for (a protocol v2
server filters them itself), the whole answer is at most ``MAX_ANSWER_BYTES``, the same connect and transfer
time limits as a fetch apply, names git would refuse (or longer than 255 characters) are skipped, and at most
``MAX_SHOWN`` refs are returned.
"""
from __future__ import annotations

import re

from errors import FieldError, InputError
from pipeline.fetch import RemoteRefs, ls_remote
from repos.connect import REASONS, ConnectionFailed, connection
from repos.transport import FetchError
from repos.urls import RemoteSpec, validate_ref
from repos.vault import SecretUnavailable

MAX_ANSWER_BYTES = 4 << 20  # the ref advertisement: ~60,000 refs of ordinary length
MAX_SHOWN = 300
SAVE_CHECK_SECONDS = 10.0  # Save waits at most this long for the remote's answer, then saves without asking
PREFIXES = [b"HEAD", b"refs/heads/", b"refs/tags/"]
KINDS = (("refs/heads/", "branch"), ("refs/tags/", "tag"))
_HEX40 = re.compile(r"[0-9a-f]{40}")


def prefixes_for(ref: str | None) -> list[bytes]:
    return PREFIXES + [ref.encode()] if ref and ref.startswith("refs/") else PREFIXES


def _ls(spec: RemoteSpec, creds, settings, ref: str | None, seconds: float) -> RemoteRefs:
    with connection(creds, spec, settings) as session:  # record_for=None: a new host key is not recorded
        return ls_remote(spec, auth=session.auth, connect_timeout=min(settings.fetch_connect_timeout, seconds),
                         timeout=min(settings.fetch_transfer_timeout, 2 * seconds), prefixes=prefixes_for(ref),
                         max_bytes=MAX_ANSWER_BYTES)


def resolve(refs: RemoteRefs, ref: str | None) -> tuple[str, str]:
    """(full ref name, commit) of ``ref`` (None: the default branch); ConnectionFailed("unknown_ref") if absent."""
    if ref is None:
        name = refs.head if refs.head in refs else "HEAD"
        if name not in refs:
            raise ConnectionFailed("unknown_ref", "unknown ref",
                                   "the remote has no default branch (HEAD): it may be empty")
        return name, refs[name]
    if _HEX40.fullmatch(ref):
        return ref, ref
    for name in [ref] if ref.startswith("refs/") else [f"refs/heads/{ref}", f"refs/tags/{ref}"]:
        if name in refs:
            return name, refs.get(name + "^{}", refs[name])
    raise ConnectionFailed("unknown_ref", "unknown ref", f"the remote has no branch or tag named {ref!r}")


def _entries(refs: RemoteRefs) -> tuple[list[dict], int]:
    """Branches and tags (tags peeled to their commit), the default branch first; and how many were skipped."""
    entries, skipped = [], 0
    for full, sha in refs.items():
        kind = next(((prefix, k) for prefix, k in KINDS if full.startswith(prefix)), None)
        if kind is None or full.endswith("^{}"):
            continue
        name, commit = full[len(kind[0]):], refs.get(full + "^{}", sha)
        try:
            valid = validate_ref(name) == name and not _HEX40.fullmatch(name) and _HEX40.fullmatch(commit)
        except ValueError:
            valid = False
        if not valid:
            skipped += 1
            continue
        entries.append({"name": name, "ref": full, "kind": kind[1], "commit": commit, "default": full == refs.head})
    entries.sort(key=lambda e: (not e["default"], e["kind"] != "branch", e["name"]))
    return entries, skipped


def list_refs(spec: RemoteSpec, creds, settings, ref: str | None = None) -> dict:
    """``{"ok": true, url, refs: [{name, ref, kind, commit, default}], total, truncated, skipped, resolved,
    message}`` or ``{"ok": false, url, code, reason, message}``. ``resolved``: what ``ref`` (None: the default
    branch) is at now, ``{ref, commit}``, or ``{error}``."""
    try:
        refs = _ls(spec, creds, settings, ref, 60.0)
    except FetchError as exc:
        return {"ok": False, "url": spec.url, "code": exc.code,
                "reason": getattr(exc, "reason", REASONS.get(exc.code, "failed")), "message": exc.message}
    entries, skipped = _entries(refs)
    try:
        name, commit = resolve(refs, ref)
        resolved = {"ref": name, "commit": commit}
    except ConnectionFailed as exc:
        resolved = {"error": exc.message}
    branches = sum(e["kind"] == "branch" for e in entries)
    message = f"The remote lists {branches} branch(es) and {len(entries) - branches} tag(s)"
    if len(entries) > MAX_SHOWN:
        message += f"; the first {MAX_SHOWN} are shown"
    if skipped:
        message += f"; {skipped} with names git does not allow were left out"
    return {"ok": True, "url": spec.url, "refs": entries[:MAX_SHOWN], "total": len(entries),
            "truncated": len(entries) > MAX_SHOWN, "skipped": skipped, "resolved": resolved, "message": message + "."}


def ask_if_unknown(spec: RemoteSpec | None, ref: str | None, creds_for, settings) -> None:
    """Before saving ``ref``: InputError 409 (field ``ref``, code ``unknown_ref``) when the remote answers and has
    no such branch or tag. A commit id, or a remote that cannot be asked in time, is saved without asking (the
    fetch reports on it). ``creds_for``: a callable giving the credentials (called only when there is a check)."""
    if spec is None or not ref or _HEX40.fullmatch(ref):
        return
    try:
        resolve(_ls(spec, creds_for(), settings, ref, SAVE_CHECK_SECONDS), ref)
    except ConnectionFailed as exc:
        if exc.code != "unknown_ref":
            return
        raise InputError([FieldError("ref", f"{exc.message[:1].upper()}{exc.message[1:]}. Save again to keep it "
                                            "anyway (confirm_unknown_ref: true); its fetch fails until the "
                                            "remote has it.", "unknown_ref")], status=409) from None
    except (FetchError, SecretUnavailable):
        return

"""The signature step: a commit must be signed by one of the repository's allowed signers (SSH or OpenPGP keys).

The keys are kept in git's ``allowedSignersFile`` format (``<principals> [options] <keytype> <base64> [comment]``
a line). Verification is OpenSSH's own (``ssh-keygen -Y``), as git does it: ``check-novalidate`` tells a bad
signature from a good one and names the signing key's fingerprint, ``find-principals`` finds who that key
belongs to among only the allowed signers, ``verify`` checks the signature for that principal (namespace
``git``, the key's options such as ``valid-before`` included). The signed payload is the commit object
without its ``gpgsig`` header. ASCII-armoured OpenPGP public key blocks may stand between the lines: an
OpenPGP-signed commit is verified by gpg against only those (pipeline/openpgp.py).
"""
from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from models.states import StepState
from pipeline import openpgp
from pipeline.results import StepResult

__all__ = ["CommitSignature", "check_signature", "parse_allowed_signers", "signers_digest", "split_signers"]

SSH_SIGNATURE = b"-----BEGIN SSH SIGNATURE-----"
PGP_SIGNATURE = b"-----BEGIN PGP SIGNATURE-----"
NAMESPACE = "git"
TIMEOUT = 20
MAX_SIGNERS_TEXT = 256 * 1024  # OpenPGP key blocks with many signatures are large
_KEY_TYPES = re.compile(r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|"
                        r"sk-ecdsa-sha2-nistp256@openssh\.com)$")
_FINGERPRINT = re.compile(r"(SHA256:[A-Za-z0-9+/=]+)")


@dataclass(frozen=True)
class CommitSignature:
    """What the signature step needs from the mirror: the commit's ``gpgsig`` (None: unsigned) and the
    commit object without it (what was signed)."""
    signature: bytes | None
    payload: bytes


def signers_digest(text: str | None) -> str | None:
    """A short digest of the allowed signers a validation was made with (None: none set)."""
    text = (text or "").strip()
    return hashlib.sha256(text.encode()).hexdigest()[:16] if text else None


def _line_problem(line: str) -> str | None:
    """None when ``line`` is an allowedSignersFile entry: principals, optional options, a key type, its base64."""
    parts = line.split()
    where = next((i for i, part in enumerate(parts) if _KEY_TYPES.match(part)), None)
    if where is None:
        return "no SSH public key type (such as ssh-ed25519) on the line"
    if where == 0:
        return "the line must start with the signer's principal (an e-mail address or name), then the key"
    if where + 1 >= len(parts):
        return "the key type is not followed by the key"
    try:
        blob = base64.b64decode(parts[where + 1], validate=True)
    except ValueError:
        return "the key is not valid base64"
    kind = parts[where].encode()
    if blob[4:4 + len(kind)] != kind:
        return "the key does not match its key type"
    return None


def split_signers(text: str | None) -> tuple[str, list[str]]:
    """The allowedSignersFile lines (SSH keys) and the ASCII-armoured OpenPGP blocks of ``text``."""
    text = (text or "").replace("\r\n", "\n")
    blocks = [m.group(0) for m in openpgp.BLOCK.finditer(text)]
    return openpgp.BLOCK.sub("", text).strip(), blocks


def parse_allowed_signers(text: str) -> tuple[str, list[str]]:
    """The text cleaned up (trailing spaces and blank lines dropped) and one message per bad line or key block.
    SSH keys are checked line by line; OpenPGP blocks by gpg (public keys only: a private key is refused)."""
    if len(text) > MAX_SIGNERS_TEXT:
        return text, [f"the allowed signers are longer than {MAX_SIGNERS_TEXT} characters"]
    text = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n"))
    lines, problems = [], []
    spans = [(text.count("\n", 0, m.start()) + 1, text.count("\n", 0, m.end()) + 1)
             for m in openpgp.BLOCK.finditer(text)]
    for first, last in spans:
        block = "\n".join(text.split("\n")[first - 1:last])
        try:
            _keys, problem = openpgp.block_problem(block)
        except openpgp.GpgMissing as exc:
            problem = str(exc)
        if problem:
            problems.append(f"lines {first}-{last}: {problem}")
        lines.append(block)
    inside = {n for first, last in spans for n in range(first, last + 1)}
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line or number in inside:
            continue
        lines.append(line)
        if line.startswith("#"):
            continue
        problem = ("an OpenPGP block without its matching -----END PGP ...----- line" if line.startswith("-----")
                   else _line_problem(line))
        if problem:
            problems.append(f"line {number}: {problem}")
    return "\n".join(lines), problems


def _keygen(args: list[str], payload: bytes) -> subprocess.CompletedProcess:
    return subprocess.run(["ssh-keygen", "-Y", *args], input=payload, capture_output=True, timeout=TIMEOUT)


def _said(proc: subprocess.CompletedProcess) -> str:
    lines = (proc.stderr or proc.stdout).decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else f"ssh-keygen exited with status {proc.returncode}"


def check_signature(signed: CommitSignature | None, allowed_signers: str | None) -> StepResult:
    """Passed when the commit is signed by an allowed signer; skipped when the repository lists none."""
    if not (allowed_signers or "").strip():
        return StepResult("signature", StepState.SKIPPED, "no allowed signers set: signatures are not checked")
    if signed is None:
        return StepResult("signature", StepState.FAILED, "internal error: the commit object was not read")
    if not signed.signature:
        return StepResult("signature", StepState.FAILED, "unsigned: the commit has no signature")
    ssh_signers, pgp_blocks = split_signers(allowed_signers)
    if signed.signature.lstrip().startswith(PGP_SIGNATURE):
        return openpgp.verify(signed.payload, signed.signature, pgp_blocks)
    if not signed.signature.lstrip().startswith(SSH_SIGNATURE):
        return StepResult("signature", StepState.FAILED, "bad signature: not an SSH or OpenPGP signature")
    if shutil.which("ssh-keygen") is None:
        return StepResult("signature", StepState.FAILED, "ssh-keygen (OpenSSH) is not installed on the "
                                                         "controller, so signatures cannot be checked")
    with tempfile.TemporaryDirectory(prefix="thymis-signature-") as tmp:
        signature_file, signers_file = Path(tmp) / "commit.sig", Path(tmp) / "allowed_signers"
        signature_file.write_bytes(signed.signature)
        signers_file.write_text(ssh_signers + "\n")
        return _verify(signed.payload, str(signature_file), str(signers_file))


def _verify(payload: bytes, signature_file: str, signers_file: str) -> StepResult:
    checked = _keygen(["check-novalidate", "-n", NAMESPACE, "-s", signature_file], payload)
    if checked.returncode != 0:
        return StepResult("signature", StepState.FAILED, f"bad signature: {_said(checked)}")
    found = _FINGERPRINT.search(checked.stdout.decode(errors="replace") + checked.stderr.decode(errors="replace"))
    fingerprint = found.group(1) if found else "(fingerprint not reported)"
    principals = _keygen(["find-principals", "-f", signers_file, "-s", signature_file], b"")
    if principals.returncode != 0 or not principals.stdout.strip():
        return StepResult("signature", StepState.FAILED, f"signed by an unknown key {fingerprint}")
    principal = principals.stdout.decode(errors="replace").split()[0]
    verified = _keygen(["verify", "-f", signers_file, "-I", principal, "-n", NAMESPACE, "-s", signature_file],
                       payload)
    if verified.returncode != 0:
        return StepResult("signature", StepState.FAILED, f"bad signature: {_said(verified)}")
    return StepResult("signature", StepState.PASSED, f"signed by {principal} ({fingerprint})")

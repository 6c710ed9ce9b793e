"""OpenPGP allowed signers: ASCII-armoured public key blocks, checked and verified by GnuPG itself.

Every gpg run gets a fresh, throwaway GNUPGHOME (also its HOME) holding only the allowed signers' keys, reads no
options file, starts no agent and no dirmngr, never retrieves or imports a key from a key server or from a
signature. The keyring holds only the allowed keys, so a key gpg can check a signature with is an allowed one
(gpg's own web-of-trust verdict, "unknown" for all of them, is not used). The answer is read from gpg's
machine-readable status lines, never from its messages. A commit passes only with one
signature that gpg reports as good (GOODSIG with VALIDSIG); an expired or revoked key, an expired signature, a
bad one, several signatures or data that is no detached signature fail.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from models.states import StepState
from pipeline.results import StepResult

TIMEOUT = 20
BLOCK = re.compile(r"-----BEGIN PGP ([A-Z ]+)-----\n.*?\n-----END PGP \1-----", re.S)
PUBLIC = "PUBLIC KEY BLOCK"
# Nothing from outside: no key server, no agent, no dirmngr, no keys taken from signatures, no options file.
ISOLATED = ["--batch", "--no-tty", "--no-options", "--no-autostart", "--disable-dirmngr", "--no-auto-key-retrieve",
            "--no-auto-key-import", "--no-auto-key-locate", "--keyserver-options", "no-auto-key-retrieve",
            "--no-permission-warning", "--status-fd", "1"]


@dataclass(frozen=True)
class PublicKey:
    fingerprint: str   # the primary key's
    user_id: str


class GpgMissing(Exception):
    pass


def _gpg(home: Path, args: list[str], data: bytes = b"") -> subprocess.CompletedProcess:
    program = shutil.which("gpg")
    if program is None:
        raise GpgMissing("gpg (GnuPG) is not installed on the controller, so OpenPGP signatures cannot be checked")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "GNUPGHOME": str(home),
           "LANG": "C", "LC_ALL": "C"}
    return subprocess.run([program, "--homedir", str(home), *ISOLATED, *args], input=data, capture_output=True,
                          timeout=TIMEOUT, env=env)


def _home(tmp: str) -> Path:
    home = Path(tmp) / "gnupg"
    home.mkdir(mode=0o700)
    return home


def _status(proc: subprocess.CompletedProcess) -> list[list[str]]:
    return [line.split()[1:] for line in proc.stdout.decode(errors="replace").splitlines()
            if line.startswith("[GNUPG:] ") and len(line.split()) > 1]


def block_problem(block: str) -> tuple[list[PublicKey], str | None]:
    """The public keys an armoured block holds, or why it is refused (not a public key block, a private key in
    it, nothing gpg can read)."""
    kind = BLOCK.match(block).group(1)
    if kind != PUBLIC:
        if "PRIVATE" in kind or "SECRET" in kind:
            return [], ("this is an OpenPGP PRIVATE key: paste only the public key (gpg --armor --export <id>), "
                        "and treat the private key as exposed")
        return [], f"an OpenPGP {kind.lower()} is not a public key (gpg --armor --export <id> gives one)"
    with tempfile.TemporaryDirectory(prefix="thymis-openpgp-") as tmp:
        shown = _gpg(_home(tmp), ["--with-colons", "--import-options", "show-only", "--import"], block.encode())
    records = [line.split(":") for line in shown.stdout.decode(errors="replace").splitlines()]
    if any(r[0] in ("sec", "ssb") for r in records):
        return [], ("the block holds an OpenPGP PRIVATE key: paste only the public key, and treat the private "
                    "key as exposed")
    keys, current = [], None
    for record in records:
        if record[0] == "pub":
            current = {"fpr": None, "uid": ""}
            keys.append(current)
        elif record[0] == "fpr" and current is not None and current["fpr"] is None:
            current["fpr"] = record[9]
        elif record[0] == "uid" and current is not None and not current["uid"]:
            current["uid"] = record[9]
    if shown.returncode != 0 or not keys or any(not k["fpr"] for k in keys):
        return [], "gpg cannot read this block as an OpenPGP public key"
    return [PublicKey(k["fpr"], k["uid"]) for k in keys], None


def verify(payload: bytes, signature: bytes, blocks: list[str]) -> StepResult:
    """The signature step for an OpenPGP-signed commit, against only the keys in ``blocks``."""
    try:
        with tempfile.TemporaryDirectory(prefix="thymis-openpgp-") as tmp:
            home = _home(tmp)
            if blocks:
                imported = _gpg(home, ["--import-options", "import-minimal", "--import"], "\n".join(blocks).encode())
                if imported.returncode != 0 and not any(s[0] == "IMPORT_OK" for s in _status(imported)):
                    return _failed("the allowed OpenPGP keys cannot be read by gpg; save them again")
            sig_file, data_file = Path(tmp) / "commit.sig", Path(tmp) / "commit"
            sig_file.write_bytes(signature)
            data_file.write_bytes(payload)
            proc = _gpg(home, ["--verify", str(sig_file), str(data_file)])
    except GpgMissing as exc:
        return _failed(str(exc))
    except subprocess.TimeoutExpired:
        return _failed(f"bad signature: gpg did not answer within {TIMEOUT} s")
    return _judge(proc)


def _failed(detail: str) -> StepResult:
    return StepResult("signature", StepState.FAILED, detail)


def _judge(proc: subprocess.CompletedProcess) -> StepResult:
    status = _status(proc)
    words = [s[0] for s in status]
    first = {s[0]: s[1:] for s in reversed(status)}
    if words.count("NEWSIG") > 1:
        return _failed("bad signature: the commit carries more than one OpenPGP signature")
    for word, what in (("EXPKEYSIG", "made by a key that has expired"), ("REVKEYSIG", "made by a revoked key"),
                       ("EXPSIG", "the signature has expired"), ("BADSIG", "the signature does not match")):
        if word in first:
            return _failed(f"bad signature: {what} ({_fingerprint(first)})")
    if "ERRSIG" in first:
        rest = first["ERRSIG"]
        if len(rest) > 5 and rest[5] == "9":  # rc 9: no public key, i.e. not among the allowed signers
            return _failed(f"signed by an unknown key {_fingerprint(first)}")
        return _failed(f"bad signature: gpg cannot check it (error {rest[5] if len(rest) > 5 else '?'})")
    if "GOODSIG" not in first or "VALIDSIG" not in first or proc.returncode != 0 or "PLAINTEXT" in first:
        said = proc.stderr.decode(errors="replace").strip().splitlines()
        return _failed("bad signature: " + (said[-1].removeprefix("gpg: ") if said else "not a detached signature"))
    valid = first["VALIDSIG"]
    primary = valid[-1] if len(valid) >= 10 else valid[0]
    signer = " ".join(first["GOODSIG"][1:]) or primary
    subkey = f", subkey {valid[0]}" if valid[0] != primary else ""
    return StepResult("signature", StepState.PASSED, f"signed by {signer} (OpenPGP {primary}{subkey})")


def _fingerprint(first: dict) -> str:
    """The signing key's fingerprint as gpg reports it (VALIDSIG, ERRSIG), else its long key id."""
    if "VALIDSIG" in first:
        return first["VALIDSIG"][0]
    errsig = first.get("ERRSIG", [])
    if len(errsig) > 6 and errsig[6] not in ("", "-"):
        return errsig[6]
    for word in ("ERRSIG", "NO_PUBKEY", "EXPKEYSIG", "REVKEYSIG", "BADSIG", "EXPSIG"):
        if first.get(word):
            return f"key id {first[word][0]}"
    return "(fingerprint not reported)"

"""Throwaway OpenPGP keys for tests: a GnuPG home of its own (short path, for the agent's socket), keys made in
it with ``gpg --quick-gen-key``, a ``gpg.program`` wrapper for git that signs with them, and the agent ended
afterwards."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest


class Gpg:
    def __init__(self, home: Path):
        self.home = home

    def run(self, *args: str, input: bytes | None = None, faked_time: str | None = None) -> str:
        extra = ["--faked-system-time", faked_time] if faked_time else []
        proc = subprocess.run(["gpg", "--homedir", str(self.home), "--batch", "--no-tty", "--pinentry-mode",
                               "loopback", "--passphrase", "", *extra, *args], input=input, capture_output=True)
        if proc.returncode != 0:
            raise RuntimeError(f"gpg {' '.join(args)} failed: {proc.stderr.decode(errors='replace')}")
        return proc.stdout.decode(errors="replace")

    def generate(self, uid: str, usage: str = "sign", expire: str = "never", faked_time: str | None = None) -> str:
        """A new ed25519 key; returns its fingerprint."""
        self.run("--quick-gen-key", uid, "ed25519", usage, expire, faked_time=faked_time)
        return self.fingerprints(uid)[0]

    def add_signing_subkey(self, fingerprint: str) -> str:
        """A new ed25519 signing subkey of ``fingerprint``; returns the subkey's fingerprint."""
        before = set(self.fingerprints(fingerprint))
        self.run("--quick-add-key", fingerprint, "ed25519", "sign", "never")
        return next(f for f in self.fingerprints(fingerprint) if f not in before)

    def fingerprints(self, who: str) -> list[str]:
        """The primary key's fingerprint, then its subkeys'."""
        lines = self.run("--with-colons", "--list-keys", who).splitlines()
        return [line.split(":")[9] for line in lines if line.startswith("fpr:")]

    def public(self, who: str) -> str:
        return self.run("--armor", "--export", who)

    def private(self, who: str) -> str:
        return self.run("--armor", "--export-secret-keys", who)

    def detach_sign(self, data: bytes, *signers: str, faked_time: str | None = None) -> bytes:
        users = [arg for who in signers for arg in ("-u", who)]
        return self.run(*users, "--armor", "--detach-sign", input=data, faked_time=faked_time).encode()

    def program(self, faked_time: str | None = None) -> Path:
        """A ``gpg.program`` for git that signs with this home's keys."""
        extra = f" --faked-system-time {faked_time}" if faked_time else ""
        path = self.home / f"gpg-program{'-' + faked_time if faked_time else ''}"
        path.write_text(f'#!/bin/sh\nexec gpg --homedir "{self.home}" --batch --pinentry-mode loopback '
                        f'--passphrase ""{extra} "$@"\n')
        path.chmod(0o755)
        return path


@pytest.fixture
def gpg():
    """A fresh GnuPG home for making keys and signatures; its agent ends with the test."""
    home = Path(tempfile.mkdtemp(prefix="tg-"))
    home.chmod(0o700)
    yield Gpg(home)
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True)
    shutil.rmtree(home, ignore_errors=True)

"""Delivering secrets at deploy: each secret a device's modules choose is placed on the device, before the switch.

Each goes where its setting asks (secret_store.placement: a path inside the secrets folder THYMIS_SECRETS_DIR,
/run/thymis/secrets by default, or inside a folder of THYMIS_SECRET_PATHS), with its owner, group and mode, its
value processed first when the setting asks (``mkpasswd-yescrypt``: a yescrypt hash made by ``mkpasswd`` here,
so the password itself never reaches the device). The values travel on the standard input of one shell script
(locally, or through ssh), as a tar stream: never in a command line, the project, the Nix store or a log.

On the device the script (SCRIPT) first checks every owner and group exists and every folder on the way is a
real folder owned by the delivering user (root) that nobody else can write, so a symbolic link planted by
another user cannot redirect a secret; it then writes every file under a temporary name beside its target and,
only when all are ready, renames them into place (a reader sees the old or the new value, never a part).
Files it placed before that are no longer chosen are removed (it keeps their list in ``<folder>/.thymis-placed``).
The rendered Nix gets each file's path in place of the secret's name (``with_paths``).
"""
from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from deploy.activate import ActivationError
from models import Secret
from repos.vault import SecretUnavailable
from secret_store.placement import Placement, checked, folder_of, folders, walk
from secret_store.service import reveal

MANIFEST = ".thymis-placed"

# The placement script; its words and stream are described at its top. Every word was checked by the controller
# (secret_store.placement): plain names, no spaces or quotes.
SCRIPT = (Path(__file__).parent / "place-secrets.sh").read_text()


class DeliveryError(ActivationError):
    """The secrets could not be placed on the device: nothing was switched."""


def device_placements(effective: list[dict], catalog: dict, settings, device: str) -> list[Placement]:
    """Where the winning settings of a device's effective configuration place their secrets (checked)."""
    found: list[Placement] = []
    for module in effective:
        described = catalog.get(module["type"])
        if described is None:
            continue
        values = {s["name"]: s["value"] for s in module["settings"] if s["source"] != "default"}
        walk(described["settings"], values, settings, f"module {module['type']} of device {device}", found)
    return checked(found)


def with_paths(schema: list[dict], values: dict, settings, where: str = "module") -> dict:
    """``values`` as the module's Nix sees them: each secret setting holds its file's path on the device. A
    placement the controller refuses does not stop the other devices' builds: the device's deploy refuses it."""
    return walk(schema, values, settings, where, [], strict=False)


def hashed_password(secret: str, data: bytes) -> bytes:
    """A yescrypt hash of a one-line password, made by ``mkpasswd`` (Debian: whois; nixpkgs: mkpasswd)."""
    if b"\n" in data or b"\r" in data or not data:
        raise DeliveryError(f"secret '{secret}' is hashed as a password (mkpasswd-yescrypt), so it must be one "
                            "non-empty line")
    program = shutil.which("mkpasswd")
    if program is None:
        raise DeliveryError(f"secret '{secret}' is hashed as a password, which needs mkpasswd on the controller "
                            "(Debian: apt install whois)")
    result = subprocess.run([program, "--method=yescrypt", "--stdin"], input=data, capture_output=True, timeout=60)
    digest = result.stdout.strip()
    if result.returncode != 0 or not digest.startswith(b"$y$"):
        raise DeliveryError(f"mkpasswd could not hash secret '{secret}' (exit code {result.returncode})")
    return digest


PROCESSORS = {"none": lambda secret, data: data, "mkpasswd-yescrypt": hashed_password}


@dataclass
class Delivery:
    """The secrets of one device, decrypted (and processed) only when they are sent."""
    placements: list[Placement]
    base: str
    settings: object

    @property
    def names(self) -> list[str]:
        return sorted({placed.secret for placed in self.placements})

    def _archive(self) -> bytes:
        rows = {row.name: row for row in Secret.select().where(Secret.name.in_(self.names))}
        missing = [placed for placed in self.placements if placed.secret not in rows]
        if missing:
            raise DeliveryError(f"secret '{missing[0].secret}' is chosen in {missing[0].where} but does not "
                                "exist: add it under Secrets or choose another one")
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            for i, placed in enumerate(self.placements):
                try:
                    data = PROCESSORS[placed.processing](placed.secret, reveal(self.settings, rows[placed.secret]))
                except SecretUnavailable as exc:
                    raise DeliveryError(f"secret '{placed.secret}': {exc}") from None
                info = tarfile.TarInfo(str(i))
                info.size, info.mode, info.mtime = len(data), 0o400, 0
                tar.addfile(info, io.BytesIO(data))
        return buffer.getvalue()

    def _words(self) -> list[str]:
        allowed = folders(self.settings)
        words = []
        for placed in self.placements:
            folder = folder_of(placed.path, allowed)
            words += [folder, placed.path[len(folder) + 1:], placed.owner, placed.group, f"{placed.mode:04o}"]
        return words

    def _folder_mode(self) -> str:
        """0700, or 0711 when a file in the secrets folder belongs to another user or is readable by its group."""
        inside = [p for p in self.placements if p.path.startswith(self.base + "/")]
        shared = any(p.owner not in ("", "root") or p.group not in ("", "root") and p.mode & 0o040 for p in inside)
        return "0711" if shared else "0700"

    def deliver(self, host, reporter) -> None:
        """Place the files on ``host`` (deploy.hosts.LocalHost, SshHost or HelperHost); DeliveryError when that
        fails."""
        from deploy.hosts import HelperHost, LocalHost, quote
        archive = self._archive()
        words = [self.base, self._folder_mode(), *self._words()]
        if isinstance(host, HelperHost):  # the root helper checks the words and stream again, then runs SCRIPT
            result = LocalHost().run_command([host.command, "deliver-secrets", *words], reporter, timeout=120,
                                             stdin=archive)
        else:
            command = f"sh -c {quote(SCRIPT)} thymis-secrets " + " ".join(quote(word) for word in words)
            result = host.run(command, reporter, timeout=120, stdin=archive)
        if result.returncode != 0:
            detail = "; ".join(result.output[-3:]) or f"exit code {result.returncode}"
            raise DeliveryError(f"placing the secrets on {host} failed: {detail}; nothing was switched")


def secrets_for(device, settings) -> Delivery:
    """The delivery of ``device``'s secrets (as its effective configuration chooses them)."""
    from configs.catalog import available_modules
    from configs.effective import effective_configuration
    catalog = available_modules()
    return Delivery(device_placements(effective_configuration(device, catalog), catalog, settings, device.name),
                    str(settings.secrets_dir).rstrip("/"), settings)

"""Delivering secrets at deploy: each secret a device's modules choose is copied to the device, before the switch.

The files go to ``<secrets_dir>/<name>`` on the device (THYMIS_SECRETS_DIR, /run/thymis/secrets by default), a
folder only its owner (root on a device) can enter; each file is written under a temporary name in that folder,
given mode 0400, and renamed into place (a reader sees the old or the new value, never a part). Files of
secrets the device no longer uses are removed. The values travel on the standard input of one shell script
(locally, or through ssh), as a tar stream: never in a command line, the project, the Nix store or a log.
The rendered Nix gets the path in place of the secret's name (``with_paths``).
"""
from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass

from deploy.activate import ActivationError
from models import Secret
from repos.vault import SecretUnavailable
from secret_store.service import reveal
from secret_store.usage import secret_values

FILE_MODE = 0o400

# $1: the folder. The tar stream on stdin holds the files to keep, named <name>. Names are checked by the
# controller (letters, digits, . _ -; never starting with .), so they are plain words for the shell.
SCRIPT = r"""set -eu
umask 077
base="$1"; shift
if [ $# -eq 0 ] && [ ! -d "$base" ]; then cat >/dev/null; echo "secrets: none"; exit 0; fi
mkdir -p "$base"
chmod 0700 "$base"
incoming="$base/.incoming.$$"
rm -rf "$incoming"
mkdir "$incoming"
trap 'rm -rf "$incoming"' EXIT
tar -x -o -C "$incoming" -f -
for name in "$@"; do
  chmod 0400 "$incoming/$name"
  mv -f "$incoming/$name" "$base/$name"
done
removed=0
for path in "$base"/*; do
  [ -e "$path" ] || continue
  name="${path##*/}"
  keep=no
  for wanted in "$@"; do [ "$name" = "$wanted" ] && keep=yes; done
  if [ "$keep" = no ]; then rm -f "$path"; removed=$((removed + 1)); fi
done
echo "secrets: $# in place in $base, $removed removed"
"""


class DeliveryError(ActivationError):
    """The secrets could not be placed on the device: nothing was switched."""


def device_secret_names(effective: list[dict], catalog: dict) -> list[str]:
    """The secrets the winning settings of a device's effective configuration choose."""
    names = set()
    for module in effective:
        described = catalog.get(module["type"])
        if described is None:
            continue
        values = {s["name"]: s["value"] for s in module["settings"] if s["source"] != "default"}
        names.update(secret for _, _, secret in secret_values(described["settings"], values))
    return sorted(names)


def with_paths(schema: list[dict], settings: dict, base: str) -> dict:
    """``settings`` as the module's Nix sees them: each secret setting holds the file's path on the device."""
    out = dict(settings or {})
    by_name = {entry["name"]: entry for entry in schema}
    for name, value in out.items():
        entry = by_name.get(name, {})
        if entry.get("type") == "secret" and isinstance(value, str) and value:
            out[name] = f"{base}/{value}"
        elif entry.get("type") == "list" and isinstance(value, list):
            out[name] = [with_paths(entry.get("settings", []), row, base) if isinstance(row, dict) else row
                         for row in value]
    return out


@dataclass
class Delivery:
    """The secrets of one device, decrypted only when they are sent."""
    names: list[str]
    base: str
    settings: object

    def _archive(self) -> bytes:
        rows = {row.name: row for row in Secret.select().where(Secret.name.in_(self.names))}
        missing = [name for name in self.names if name not in rows]
        if missing:
            raise DeliveryError(f"secret '{missing[0]}' is chosen in a setting but does not exist: add it under "
                                "Secrets or choose another one")
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            for name in self.names:
                try:
                    data = reveal(self.settings, rows[name])
                except SecretUnavailable as exc:
                    raise DeliveryError(f"secret '{name}': {exc}") from None
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(data), FILE_MODE, 0
                tar.addfile(info, io.BytesIO(data))
        return buffer.getvalue()

    def deliver(self, host, reporter) -> None:
        """Place the files on ``host`` (deploy.hosts.LocalHost or SshHost); DeliveryError when that fails."""
        from deploy.hosts import quote
        archive = self._archive()
        command = f"sh -c {quote(SCRIPT)} thymis-secrets {quote(self.base)} " + " ".join(self.names)
        result = host.run(command, reporter, timeout=120, stdin=archive)
        if result.returncode != 0:
            detail = "; ".join(result.output[-3:]) or f"exit code {result.returncode}"
            raise DeliveryError(f"placing the secrets in {self.base} on {host} failed: {detail}; nothing was "
                                "switched")


def secrets_for(device, settings) -> Delivery:
    """The delivery of ``device``'s secrets (as its effective configuration chooses them)."""
    from configs.catalog import available_modules
    from configs.effective import effective_configuration
    catalog = available_modules()
    return Delivery(device_secret_names(effective_configuration(device, catalog), catalog), settings.secrets_dir,
                    settings)

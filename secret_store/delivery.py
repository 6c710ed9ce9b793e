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

from deploy.activate import ActivationError
from models import Secret
from repos.vault import SecretUnavailable
from secret_store.placement import Placement, checked, folder_of, folders, walk
from secret_store.service import reveal

MANIFEST = ".thymis-placed"

# $1: the secrets folder, $2 its mode; then 5 words per file: its allowed folder, its path below it, owner, group
# (empty: the delivering user's), mode.
# The tar stream on stdin holds the files' contents, named 0, 1, ... in that order. Every word was checked by
# the controller (secret_store.placement): plain names, no spaces or quotes.
SCRIPT = r"""set -euf
umask 077
base="$1"; folder_mode="$2"; shift 2
me=$(id -u)
fail() { echo "secrets: $*; nothing was placed" >&2; exit 3; }
if [ $# -eq 0 ] && [ ! -d "$base" ]; then cat >/dev/null; echo "secrets: none"; exit 0; fi
check_accounts() {
  while [ $# -gt 0 ]; do
    [ -z "$3" ] || id -u "$3" >/dev/null 2>&1 || fail "owner '$3' of $1/$2 does not exist on the device"
    [ -z "$4" ] || getent group "$4" >/dev/null 2>&1 || fail "group '$4' of $1/$2 does not exist on the device"
    [ -z "$3" ] || [ "$me" = 0 ] || [ "$3" = "$(id -un)" ] \
      || fail "$1/$2 is for owner '$3', which only root can give it (the secrets are placed as $(id -un))"
    shift 5
  done
}
safe() {
  if [ -L "$1" ]; then fail "$1 is a symbolic link: secrets are never placed through one"; fi
  if [ ! -e "$1" ]; then mkdir -m "$2" "$1"; fi
  [ -d "$1" ] || fail "$1 is not a folder"
  uid=$(stat -c %u "$1"); perm=$(stat -c %a "$1")
  [ "$uid" = "$me" ] || fail "$1 belongs to uid $uid, not to the user placing the secrets"
  [ $((0$perm & 022)) -eq 0 ] || fail "$1 can be changed by other users (mode $perm)"
}
folders() {  # $1 the allowed folder, $2 the path below it: every folder on the way, made safe
  [ -d "$1" ] || mkdir -p -m 0755 "$1"
  safe "$1" 0755
  dir="$1"; rest="${2%/*}"
  [ "$rest" = "$2" ] && return 0
  old="$IFS"; IFS=/
  for part in $rest; do dir="$dir/$part"; safe "$dir" 0755; done
  IFS="$old"
}
check_accounts "$@"
mkdir -p -m 0700 "$base"
safe "$base" 0700
chmod "$folder_mode" "$base"
incoming="$base/.incoming.$$"
rm -rf "$incoming"
mkdir -m 0700 "$incoming"
trap 'while read -r tmp; do rm -f "$tmp"; done < "$incoming/temporary" 2>/dev/null; rm -rf "$incoming"' EXIT
: > "$incoming/temporary"; : > "$incoming/paths"
tar -x -o -C "$incoming" -f -
i=0
prepare() {
  while [ $# -gt 0 ]; do
    folders "$1" "$2"
    target="$1/$2"
    if [ -d "$target" ] && [ ! -L "$target" ]; then fail "$target is a folder"; fi
    tmp=$(mktemp "${target%/*}/.thymis-secret.XXXXXX")
    echo "$tmp" >> "$incoming/temporary"
    cat "$incoming/$i" > "$tmp"
    [ -z "$3" ] || chown "$3" "$tmp"
    [ -z "$4" ] || chgrp "$4" "$tmp"
    chmod "$5" "$tmp"
    echo "$target" >> "$incoming/paths"
    echo "secrets: $target (${3:-$(id -un)}:${4:-$(id -gn)}, mode $5)"
    i=$((i + 1)); shift 5
  done
}
prepare "$@"
i=0
while read -r tmp; do
  target=$(sed -n "$((i + 1))p" "$incoming/paths")
  mv -f -T "$tmp" "$target"
  i=$((i + 1))
done < "$incoming/temporary"
: > "$incoming/temporary"
removed=0
{ cat "$base/$MANIFEST" 2>/dev/null || true; set +f; for p in "$base"/*; do echo "$p"; done; set -f; } \
  | sort -u > "$incoming/before"
while read -r path; do
  if [ -f "$path" ] || [ -L "$path" ]; then
    grep -Fxq -- "$path" "$incoming/paths" || { rm -f "$path"; removed=$((removed + 1)); }
  fi
done < "$incoming/before"
cp "$incoming/paths" "$base/$MANIFEST.new"
mv -f -T "$base/$MANIFEST.new" "$base/$MANIFEST"
echo "secrets: $i placed, $removed removed"
""".replace("$MANIFEST", MANIFEST)


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
        """Place the files on ``host`` (deploy.hosts.LocalHost or SshHost); DeliveryError when that fails."""
        from deploy.hosts import quote
        archive = self._archive()
        command = f"sh -c {quote(SCRIPT)} thymis-secrets " + " ".join(
            quote(word) for word in [self.base, self._folder_mode(), *self._words()])
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

#!/usr/bin/env bash
# Installs the Debian packages the tests use for real: nix, git, sshd, chromium, bubblewrap (the sandbox),
# whois (its mkpasswd hashes password secrets), gnupg (OpenPGP signatures) (and npm for the htmx asset
# when the machine has no npm of its own: a preinstalled Node.js conflicts with Debian's npm package).
set -euo pipefail
missing=""
for p in nix-bin git openssh-server openssh-client chromium bubblewrap whois gnupg; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
command -v npm >/dev/null || missing="$missing npm"
[ -z "$missing" ] && exit 0
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
echo "installing Debian packages:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null

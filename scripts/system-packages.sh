#!/usr/bin/env bash
# Installs the Debian packages the tests use for real: nix, git, sshd, chromium.
set -euo pipefail
packages="nix-bin git openssh-server openssh-client chromium npm"
missing=""
for p in $packages; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"; done
[ -z "$missing" ] && exit 0
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null

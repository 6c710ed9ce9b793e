#!/usr/bin/env bash
# Puts the pinned htmx release into static/, from its published npm package, checking its hash.
set -euo pipefail
cd "$(dirname "$0")/.."
HTMX_VERSION=2.0.8
HTMX_SHA256=22283ef68cb7545914f0a88a1bdedc7256a703d1d580c1d255217d0a50d31313
target=static/htmx.min.js
mkdir -p static
if [ -f "$target" ] && echo "$HTMX_SHA256  $target" | sha256sum -c --status; then
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "htmx.org@$HTMX_VERSION" >/dev/null && tar xzf "htmx.org-$HTMX_VERSION.tgz")
if ! echo "$HTMX_SHA256  $tmp/package/dist/htmx.min.js" | sha256sum -c --status; then
  echo "htmx $HTMX_VERSION: hash mismatch, refusing to install it" >&2
  exit 1
fi
install -m 0644 "$tmp/package/dist/htmx.min.js" "$target"
echo "installed htmx $HTMX_VERSION into $target"

#!/usr/bin/env bash
# Python environment (.venv), the sandbox's pinned environment (.sandbox-env) and the htmx asset.
# Usage: scripts/setup.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."
extras=""
[ "${1:-}" = "--test" ] && extras="[test]"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -e ".$extras"
bash scripts/sandbox-env.sh
bash scripts/fetch-htmx.sh

#!/usr/bin/env bash
# Python environment (.venv) and the htmx asset. Usage: scripts/setup.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."
extras=""
[ "${1:-}" = "--test" ] && extras="[test]"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -e ".$extras"
bash scripts/fetch-htmx.sh

#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine, then runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-packages.sh
bash scripts/setup.sh --test
exec .venv/bin/python -m pytest "$@"

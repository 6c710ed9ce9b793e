#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine, lints with ruff, then runs the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-packages.sh
bash scripts/setup.sh --test
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"

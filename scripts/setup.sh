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
# The tests also run the sandbox as an unprivileged user: that needs an interpreter every user can read.
if [ -n "$extras" ] && [ -x /usr/bin/python3 ]; then bash scripts/sandbox-env.sh /usr/bin/python3 .sandbox-env-system; fi
bash scripts/fetch-htmx.sh

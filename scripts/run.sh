#!/usr/bin/env bash
# Sets up and runs the controller on http://127.0.0.1:8000 with its data in ./data
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export THYMIS_PROJECT_PATH="${THYMIS_PROJECT_PATH:-$PWD/data}"
# One worker with 8 threads by default: idle memory about 70 MB RSS for master + worker (each further worker
# adds about 45 MB; bench/startup_bench.py measures it). More workers use more cores for busy installations.
exec .venv/bin/gunicorn --bind "${THYMIS_LISTEN:-127.0.0.1:8000}" --workers "${THYMIS_WORKERS:-1}" \
     --threads "${THYMIS_THREADS:-8}" 'app:create_app()'

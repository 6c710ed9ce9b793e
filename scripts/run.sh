#!/usr/bin/env bash
# Sets up and runs the controller on http://127.0.0.1:8000 with its data in ./data
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export THYMIS_PROJECT_PATH="${THYMIS_PROJECT_PATH:-$PWD/data}"
exec .venv/bin/gunicorn --bind "${THYMIS_LISTEN:-127.0.0.1:8000}" --workers "${THYMIS_WORKERS:-2}" --threads 4 'app:create_app()'

#!/usr/bin/env bash
# The sandbox's interpreter and its pinned, read-only environment (.sandbox-env, from sandbox/requirements.txt).
# Usage: scripts/sandbox-env.sh [PYTHON TARGET]   (both given: an environment for PYTHON in folder TARGET)
# Repository code runs on Python 3.12+ (Thymis uses 3.13): the newest such interpreter on PATH or in pyenv's
# versions is chosen (THYMIS_SANDBOX_PYTHON overrides); without one, the web app's interpreter is used and
# /healthz says so. .sandbox-env/.interpreter records the interpreter's path and version; the controller reads it.
set -euo pipefail
cd "$(dirname "$0")/.."
version_of() { "$1" -I -S -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null; }
pick() {
  local best="" best_minor=0 candidate v minor
  for candidate in $(compgen -c python3. 2>/dev/null | grep -E '^python3\.[0-9]+$' | sort -u) \
                   "${PYENV_ROOT:-$HOME/.pyenv}"/versions/*/bin/python3.*; do
    candidate=$(command -v "$candidate" 2>/dev/null || true)
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    case "$candidate" in */shims/*|*-config|*t) continue ;; esac
    v=$(version_of "$candidate") || continue
    minor=${v#3.}
    [ "$minor" -ge 12 ] && [ "$minor" -gt "$best_minor" ] || continue
    "$candidate" -c 'import ensurepip' 2>/dev/null || "$candidate" -m pip --version >/dev/null 2>&1 || continue
    best=$candidate best_minor=$minor
  done
  echo "$best"
}
target=${2:-.sandbox-env}
python=${1:-${THYMIS_SANDBOX_PYTHON:-$(pick)}}
if [ -z "$python" ]; then
  python=$(.venv/bin/python -c 'import os, sys; print(os.path.realpath(sys.executable))')
  echo "sandbox: no Python 3.12+ found; repository code runs on $($python --version) (the web app's interpreter)" >&2
fi
python=$(realpath "$python")
version=$(version_of "$python")
stamp="$python
$version
$(sha256sum sandbox/requirements.txt | cut -d' ' -f1)"
if [ -f "$target/.interpreter" ] && [ "$(cat "$target/.interpreter")" = "$stamp" ]; then
  exit 0
fi
if [ -d "$target" ]; then chmod -R u+w "$target" && rm -rf "$target"; fi
build=$(mktemp -d "$target.XXXXXX")
pip=("$python" -m pip)
if ! "$python" -m pip --version >/dev/null 2>&1; then
  "$python" -m venv "$build/.pip-venv"   # an interpreter without pip: a throwaway venv provides it
  pip=("$build/.pip-venv/bin/python" -m pip)
fi
PIP_ROOT_USER_ACTION=ignore "${pip[@]}" install --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --target "$build/env" -r sandbox/requirements.txt
rm -rf "$build/.pip-venv"
printf '%s\n' "$stamp" > "$build/env/.interpreter"
chmod -R a-w,a+rX "$build/env"
mv "$build/env" "$target"
rmdir "$build"
echo "sandbox: Python $version ($python), pinned environment in $target"

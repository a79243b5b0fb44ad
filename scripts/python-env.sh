#!/usr/bin/env bash
# Creates .venv (if missing) and installs Taizhang into it with the given extras.
#   scripts/python-env.sh desktop|test
set -euo pipefail
cd "$(dirname "$0")/.."
extras=${1:-desktop}
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=".venv/.installed-$extras-$(sha1sum pyproject.toml | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[$extras]"
  touch "$stamp"
fi

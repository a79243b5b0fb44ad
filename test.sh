#!/usr/bin/env bash
# One command on a fresh Debian/Ubuntu machine: install everything and run the whole test suite
# (unit, Qt offscreen, real server on 127.0.0.1, real PostgreSQL, LibreOffice files, keyring, installers).
#   ./test.sh                 everything
#   ./test.sh -m "not slow"   any pytest arguments narrow the run
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/system-deps.sh test
bash scripts/python-env.sh test
export QT_QPA_PLATFORM=offscreen
exec .venv/bin/python -m pytest -ra -p no:cacheprovider "$@"

#!/usr/bin/env bash
# One command on a fresh Debian/Ubuntu machine: install what is needed and open the app.
#   ./run.sh                  open the desktop app (first run asks which village; or choose 演示数据)
#   ./run.sh --with-server    also start a local county server on SQLite at http://127.0.0.1:8765
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/system-deps.sh app
bash scripts/python-env.sh desktop
if [ "${1:-}" = "--with-server" ]; then
  .venv/bin/taizhang-server serve --host 127.0.0.1 --port 8765 &
  trap 'kill $! 2>/dev/null' EXIT
  echo "县级服务器已在 http://127.0.0.1:8765 启动（SQLite）" >&2
fi
exec .venv/bin/taizhang

#!/usr/bin/env bash
# One command on a fresh Debian/Ubuntu machine: install what is needed and open the app.
#   ./run.sh                  open the desktop app (first run asks which village; or choose 演示数据)
#   ./run.sh --with-server    also start a local county server on SQLite at http://127.0.0.1:8765,
#                             stopped again when the app is closed
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/system-deps.sh app
bash scripts/python-env.sh desktop
if [ "${1:-}" = "--with-server" ]; then
  # the server's own log lines (English, for an administrator) go to a file, not over the app's terminal
  logs="$(.venv/bin/python -c 'from storage.db import data_dir; print(data_dir())')/logs"
  mkdir -p "$logs"
  .venv/bin/taizhang-server serve --host 127.0.0.1 --port 8765 >>"$logs/county-server.log" 2>&1 &
  server=$!
  # no exec below: this shell must outlive the app so that the trap stops the server
  stop_server() { local rc=$?; kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; exit "$rc"; }  # the app's exit code
  trap stop_server EXIT
  trap 'exit 130' INT TERM
  echo "县级服务器已在 http://127.0.0.1:8765 启动（SQLite），关闭程序时一并停止；服务器日志：$logs/county-server.log" >&2
  .venv/bin/taizhang
  exit $?
fi
exec .venv/bin/taizhang

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
  # the server's terminal lines are Chinese and few (warnings and its start and stop); its full log is
  # <数据目录>/logs/county-server.log
  .venv/bin/taizhang-server serve --host 127.0.0.1 --port 8765 &
  server=$!
  # no exec below: this shell must outlive the app so that the trap stops the server
  stop_server() { local rc=$?; kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; exit "$rc"; }  # the app's exit code
  trap stop_server EXIT
  trap 'exit 130' INT TERM
  for _ in $(seq 120); do  # until it answers (first start: creating the database) or gives up
    (exec 3<>/dev/tcp/127.0.0.1/8765) 2>/dev/null && break
    kill -0 "$server" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$server" 2>/dev/null; then
    echo "县级服务器在 http://127.0.0.1:8765 运行（SQLite），关闭程序时一并停止" >&2
  else
    echo "县级服务器没有启动（原因见上一行）；程序照常打开，但连不上本机的县级服务器" >&2
  fi
  .venv/bin/taizhang
  exit $?
fi
exec .venv/bin/taizhang

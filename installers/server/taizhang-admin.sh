#!/usr/bin/env bash
# Runs taizhang-server with the settings of /etc/taizhang/server.env, as the service user "taizhang"
# (run as root).  Examples:
#   taizhang-admin.sh admin load-orgs /root/区划.xlsx
#   taizhang-admin.sh admin add-user zhangsan --role village --org 220102001001
set -euo pipefail
env_file=${TAIZHANG_ENV_FILE:-/etc/taizhang/server.env}
exec runuser -u taizhang -- bash -c 'set -a; . "$0"; set +a; exec /opt/taizhang-server/venv/bin/taizhang-server "$@"' \
  "$env_file" "$@"

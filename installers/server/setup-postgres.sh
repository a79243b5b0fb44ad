#!/usr/bin/env bash
# Creates the PostgreSQL role and database of the county server (run as root on the server; safe
# to run twice).  The role has no password: taizhang-server connects as the OS user "taizhang"
# over the local socket (peer authentication), so no secret is stored anywhere.
#   setup-postgres.sh            role "taizhang", database "taizhang"
set -euo pipefail
role=${1:-taizhang} db=${2:-taizhang}
psql_pg() { runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qAt "$@"; }
if [ "$(psql_pg -c "SELECT 1 FROM pg_roles WHERE rolname = '$role'")" != 1 ]; then
  psql_pg -c "CREATE ROLE \"$role\" LOGIN"
fi
if [ "$(psql_pg -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
  runuser -u postgres -- createdb --owner="$role" --encoding=UTF8 --template=template0 "$db"
fi
echo "PostgreSQL 已就绪：数据库 $db，所有者 $role。"
echo "在 /etc/taizhang/server.env 中设置：TAIZHANG_DB_URL=postgresql://$role@/$db?host=/var/run/postgresql"
max=$(psql_pg -c "SHOW max_connections")
echo "PostgreSQL max_connections = $max：服务器每个工作进程最多用 12 个连接，TAIZHANG_WORKERS 不要超过 $(( (max - 20) / 12 ))。"

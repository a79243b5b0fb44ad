#!/usr/bin/env bash
# Restores the county database from a dump made by backup-county-db.sh.  Before overwriting it
# makes a safety backup of the current database (into the same backup folder), stops
# taizhang-server while restoring if it is running under systemd, and starts it again afterwards.
# PostgreSQL: pg_restore --clean in ONE transaction (fails as a whole, never half-restored).
# SQLite: copied page by page through SQLite's backup API (one transaction as well).
#
#   restore-county-db.sh /var/backups/taizhang/county-20250131-020000.dump
#   restore-county-db.sh FILE --db URL --yes      no questions (scripts, tests)
#   restore-county-db.sh FILE --out DIR           where the safety backup goes (default TAIZHANG_BACKUP_DIR)
set -euo pipefail
env_file=${TAIZHANG_ENV_FILE:-/etc/taizhang/server.env}
if [ -r "$env_file" ]; then set -a; . "$env_file"; set +a; fi
url=${TAIZHANG_DB_URL:-} file="" yes=0 out=${TAIZHANG_BACKUP_DIR:-/var/backups/taizhang}
while [ $# -gt 0 ]; do
  case "$1" in
    --db) url=$2; shift 2;;
    --yes) yes=1; shift;;
    --out) out=$2; shift 2;;
    -h|--help) sed -n '2,11p' "$0"; exit 0;;
    -*) echo "未知参数：$1" >&2; exit 2;;
    *) file=$1; shift;;
  esac
done
[ -n "$file" ] && [ -f "$file" ] || { echo "请指定存在的备份文件" >&2; exit 2; }
[ -n "$url" ] || { echo "没有指定数据库：用 --db 或在 $env_file 中设置 TAIZHANG_DB_URL" >&2; exit 2; }
PY=${TAIZHANG_PYTHON:-/opt/taizhang-server/venv/bin/python}
[ -x "$PY" ] || PY=python3
here=$(cd "$(dirname "$0")" && pwd)

case "$url" in
  postgresql*|postgres://*) kind=pg; pg_restore --list "$file" >/dev/null || { echo "$file 不是可用的 PostgreSQL 备份" >&2; exit 1; };;
  sqlite:///*) kind=sqlite;;
  *) echo "不支持的数据库地址：$url" >&2; exit 2;;
esac
if [ "$yes" != 1 ]; then
  read -r -p "用 $file 替换县级数据库（恢复前会先备份当前数据库）？输入 yes 确认：" answer
  [ "$answer" = yes ] || { echo "已取消，数据库没有改动。"; exit 1; }
fi

echo "恢复前先备份当前数据库…"
"$here/backup-county-db.sh" --db "$url" --out "$out" --keep-days 36500

restart=0
if command -v systemctl >/dev/null && systemctl is-active --quiet taizhang-server 2>/dev/null; then
  systemctl stop taizhang-server; restart=1
fi
trap '[ "$restart" = 1 ] && systemctl start taizhang-server' EXIT

if [ "$kind" = pg ]; then
  uri="postgresql://${url#*://}"
  pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction --exit-on-error \
    --dbname "$uri" "$file"
else
  dest=${url#sqlite:///}
  "$PY" - "$file" "$dest" <<'PYEOF'
import sqlite3, sys
source = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
if source.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
    sys.exit("备份文件已损坏，没有恢复，数据库没有改动")
target = sqlite3.connect(sys.argv[2], timeout=60)
source.backup(target, pages=1024)
ok = target.execute("PRAGMA integrity_check").fetchone()[0]
target.close(); source.close()
sys.exit(0 if ok == "ok" else f"恢复后完整性检查未通过：{ok}")
PYEOF
  # root restoring for the service user: leave no root-owned WAL files behind
  chown --reference="$dest" "$dest-wal" "$dest-shm" 2>/dev/null || true
fi
# The restored database is an older state: the server must take a new incarnation at its next
# start, so that every PC pulls everything again (county_server/incarnation.py).
if [ "$kind" = pg ]; then
  psql --quiet --no-psqlrc --dbname "$uri" -c "DO \$\$ BEGIN IF to_regclass('server_info') IS NOT NULL THEN
    DELETE FROM server_info WHERE key = 'incarnation'; END IF; END \$\$" >/dev/null
else
  "$PY" - "$dest" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=60)
if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'server_info'").fetchone():
    with db:
        db.execute("DELETE FROM server_info WHERE key = 'incarnation'")
db.close()
PYEOF
fi
echo "恢复完成：$file → ${url%%\?*}（各电脑下次同步时会重新下载全部数据，未上传的修改保留在本机）"

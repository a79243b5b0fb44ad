#!/usr/bin/env bash
# Backs up the county database: PostgreSQL with pg_dump (custom format, for pg_restore), SQLite with
# SQLite's online backup API (consistent while the server is running).  Each dump is written under a
# temporary name, checked (pg_restore --list / PRAGMA integrity_check) and only then renamed, so a
# file named county-*.dump / county-*.sqlite3 is always complete.  Dumps older than
# TAIZHANG_BACKUP_KEEP_DAYS (default 30) are deleted.  Run daily by taizhang-backup.timer.
#
#   backup-county-db.sh                      settings from /etc/taizhang/server.env
#   backup-county-db.sh --db URL --out DIR   explicit database URL and backup folder
#   TAIZHANG_ENV_FILE=/path/server.env backup-county-db.sh
set -euo pipefail
env_file=${TAIZHANG_ENV_FILE:-/etc/taizhang/server.env}
if [ -r "$env_file" ]; then set -a; . "$env_file"; set +a; fi
url=${TAIZHANG_DB_URL:-} out=${TAIZHANG_BACKUP_DIR:-/var/backups/taizhang} keep=${TAIZHANG_BACKUP_KEEP_DAYS:-30}
while [ $# -gt 0 ]; do
  case "$1" in
    --db) url=$2; shift 2;;
    --out) out=$2; shift 2;;
    --keep-days) keep=$2; shift 2;;
    -h|--help) sed -n '2,13p' "$0"; exit 0;;
    *) echo "未知参数：$1" >&2; exit 2;;
  esac
done
[ -n "$url" ] || { echo "没有指定数据库：用 --db 或在 $env_file 中设置 TAIZHANG_DB_URL" >&2; exit 2; }
PY=${TAIZHANG_PYTHON:-/opt/taizhang-server/venv/bin/python}
[ -x "$PY" ] || PY=python3
mkdir -p "$out"
chmod 700 "$out"   # dumps hold personal information (ID numbers, phones)
stamp=$(date +%Y%m%d-%H%M%S)
# never overwrite an earlier backup: restore-county-db.sh makes a safety backup right before
# restoring, often within the same second as the backup being restored
unique() { local d="$1$2" n=1; while [ -e "$d" ]; do n=$((n + 1)); d="$1-$n$2"; done; echo "$d"; }
case "$url" in
  postgresql*|postgres://*)
    uri="postgresql://${url#*://}"       # drop a SQLAlchemy driver suffix (postgresql+psycopg://)
    dest=$(unique "$out/county-$stamp" .dump)
    pg_dump --format=custom --no-owner --no-privileges --file "$dest.part" "$uri"
    pg_restore --list "$dest.part" >/dev/null || { rm -f "$dest.part"; echo "备份文件无法读取，已删除" >&2; exit 1; }
    mv "$dest.part" "$dest"
    ;;
  sqlite:///*)
    src=${url#sqlite:///}
    [ -f "$src" ] || { echo "找不到 SQLite 数据库 $src" >&2; exit 1; }
    dest=$(unique "$out/county-$stamp" .sqlite3)
    "$PY" - "$src" "$dest.part" <<'PYEOF'
import sqlite3, sys
src, dest = sys.argv[1], sys.argv[2]
source = sqlite3.connect(src, timeout=60)
target = sqlite3.connect(dest)
source.execute("BEGIN")                                   # one snapshot for the whole copy
source.execute("SELECT count(*) FROM sqlite_master").fetchone()
source.backup(target, pages=1024)
source.rollback()
target.execute("PRAGMA journal_mode=DELETE")              # a single self-contained file
ok = target.execute("PRAGMA integrity_check").fetchone()[0]
target.close(); source.close()
sys.exit(0 if ok == "ok" else f"备份文件完整性检查未通过：{ok}")
PYEOF
    mv "$dest.part" "$dest"
    ;;
  *) echo "不支持的数据库地址：$url（应为 postgresql://… 或 sqlite:///…）" >&2; exit 2;;
esac
chmod 600 "$dest"
find "$out" -maxdepth 1 -name 'county-*' -type f -mtime +"$keep" -delete
echo "备份完成：$dest（$(du -h "$dest" | cut -f1)）"

#!/usr/bin/env bash
# Installs the county server from this source tree on Debian / UOS server / Kylin server (as root):
# a system user "taizhang", a virtual environment in /opt/taizhang-server, the systemd units and
# /etc/taizhang/server.env (kept if it exists).  It does not enable anything: the steps that follow
# are printed at the end and described in docs/install.md.
#   installers/server/install-server.sh                   pip fetches dependencies from the registry
#   installers/server/install-server.sh --wheels DIR      offline: install from a folder of wheels
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PREFIX=/opt/taizhang-server
wheels=""
[ "${1:-}" = --wheels ] && wheels=$2
[ "$(id -u)" = 0 ] || { echo "请用 root 运行（sudo $0）" >&2; exit 1; }
command -v python3 >/dev/null || { echo "缺少 python3：apt-get install python3 python3-venv" >&2; exit 1; }

id taizhang >/dev/null 2>&1 || useradd --system --home-dir /var/lib/taizhang --shell /usr/sbin/nologin taizhang
install -d -o taizhang -g taizhang -m 750 /var/lib/taizhang
install -d -o taizhang -g taizhang -m 700 /var/backups/taizhang
install -d -m 755 "$PREFIX" "$PREFIX/docs" /etc/taizhang

[ -x "$PREFIX/venv/bin/python" ] || python3 -m venv "$PREFIX/venv"
if [ -n "$wheels" ]; then
  "$PREFIX/venv/bin/pip" install --no-index --find-links "$wheels" "$SRC"
else
  "$PREFIX/venv/bin/pip" install --upgrade "$SRC"
fi
rm -rf "$PREFIX/installers"
install -d "$PREFIX/installers"
cp -r "$SRC/installers/server" "$PREFIX/installers/server"
cp "$SRC/docs/install.md" "$PREFIX/docs/" 2>/dev/null || true

if [ ! -f /etc/taizhang/server.env ]; then
  install -m 640 -o root -g taizhang "$SRC/installers/server/server.env.example" /etc/taizhang/server.env
fi
install -m 644 "$SRC/installers/server/taizhang-server.service" "$SRC/installers/server/taizhang-backup.service" \
  "$SRC/installers/server/taizhang-backup.timer" /etc/systemd/system/
command -v systemctl >/dev/null && systemctl daemon-reload || true

cat <<MSG
县级服务器程序已安装到 $PREFIX（版本 $("$PREFIX/venv/bin/taizhang-server" --version 2>&1)）。
接下来：
  1. 建数据库：$PREFIX/installers/server/setup-postgres.sh
  2. 检查 /etc/taizhang/server.env（数据库地址 TAIZHANG_DB_URL、备份目录）
  3. 导入区划和账号：$PREFIX/installers/server/taizhang-admin.sh admin …（见 docs/install.md）
  4. 启动：systemctl enable --now taizhang-server taizhang-backup.timer
  5. nginx 与证书：$PREFIX/installers/server/nginx-taizhang.conf
MSG

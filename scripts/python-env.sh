#!/usr/bin/env bash
# Creates .venv (if missing) and installs Taizhang into it with the given extras.
#   scripts/python-env.sh desktop|test
# pip's full output goes to .install-logs/python-env.log; the terminal shows one Chinese line per step.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/install-log.sh
extras=${1:-desktop}
PY=${PYTHON:-python3}
stamp=".venv/.installed-$extras-$(sha1sum pyproject.toml | cut -c1-12)"
[ -x .venv/bin/python ] && [ -f "$stamp" ] && exit 0
install_log python-env
echo "准备 Python 环境（.venv，$extras）：" >&2
[ -x .venv/bin/python ] || install_step "创建虚拟环境 .venv（$PY -m venv）" "$PY" -m venv .venv
install_step "升级 pip" .venv/bin/python -m pip install --upgrade pip
install_step "安装 Python 软件包（首次要下载 PySide6 等，可能需要几分钟）" .venv/bin/python -m pip install -e ".[$extras]"
touch "$stamp"

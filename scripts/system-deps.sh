#!/usr/bin/env bash
# Installs the system packages Taizhang needs on Debian/Ubuntu/UOS/Kylin.
#   scripts/system-deps.sh app    Qt's libraries and a CJK font (to run the desktop app)
#   scripts/system-deps.sh test   the above plus PostgreSQL, LibreOffice Calc, gnome-keyring,
#                                 Xvfb (and xauth, which xvfb-run needs), the .deb tools and
#                                 Python's shared library (PyInstaller bundles it) the test suite uses
# Checked on a fresh Debian 12 by scripts/fresh-machine-check.sh: every package the app or the
# tests load must be named here, not pulled in by chance by another one (libglib2.0-0 was).
# Runs apt-get as root, or through sudo; does nothing for packages already there.  apt's full output
# goes to .install-logs/system-deps.log; the terminal shows one Chinese line per step.
set -euo pipefail
. "$(dirname "$0")/install-log.sh"
what=${1:-app}
app_pkgs=(libegl1 libgl1 libglib2.0-0 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 fonts-wqy-microhei
          libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-xinerama0 libxcb-randr0 libxcb-render-util0
          libxcb-image0 libxcb-shape0 libxcb-xkb1 python3-venv libcups2)
# libcups2: Qt's print support (打印, 打印预览) talks to the system's printers through CUPS
# libpython3-dev brings Debian's libpython3.X.so (whichever 3.X is python3), which PyInstaller needs;
# debootstrap makes the Debian 11 root the 信创 baseline .deb is built and tried in
test_pkgs=(xvfb xauth postgresql libreoffice-calc-nogui gnome-keyring libsecret-tools dbus dpkg-dev fakeroot binutils
           libpython3-dev debootstrap poppler-utils)
pkgs=("${app_pkgs[@]}")
[ "$what" = test ] && pkgs+=("${test_pkgs[@]}")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "未找到 apt-get：请手动安装 ${missing[*]}" >&2; exit 0
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "安装系统软件包需要 root 权限：请用 root 运行，或先安装 sudo。要安装的是：${missing[*]}" >&2; exit 1; }
  SUDO=(sudo)
  sudo -v  # the password prompt, if any, before the output goes to the log
fi
install_log system-deps
echo "安装系统软件包（${#missing[@]} 个，首次可能需要几分钟）：${missing[*]}" >&2
install_step "更新软件源列表（apt-get update）" "${SUDO[@]}" apt-get update
install_step "下载并安装系统软件包（apt-get install）" \
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"

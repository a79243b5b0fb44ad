#!/usr/bin/env bash
# Installs a .deb into a fresh, minimal Debian root (debootstrap) and starts the installed app there as
# an ordinary user, with a new data directory, on an X server (Xvfb of the host): the first-run window
# must appear.  The package's Depends are installed by apt from Debian's archive, nothing else.
#
#   installers/linux/check-deb-in-debian.sh dist/org.taizhang.ledger_0.1.0.0_amd64.deb [bullseye|bookworm]
#
# Prints the root's glibc (ldd --version), apt's verdict and the app's self-test line; exit 0 only if
# the first-run window appeared.  Needs root.  The pristine root is cached under $TAIZHANG_ROOTS
# (default /var/cache/taizhang-roots), each check works on a throw-away copy of it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
deb=$(realpath "${1:?用法：check-deb-in-debian.sh 安装包.deb [bullseye|bookworm]}")
suite=${2:-bullseye}
[ "$(id -u)" -eq 0 ] || { echo "请用 root 运行（debootstrap 和 chroot 需要）" >&2; exit 2; }
[ -f "$deb" ] || { echo "找不到 $deb" >&2; exit 2; }
. "$ROOT/scripts/debian-root.sh"

base=$(debian_base "$suite")
throwaway_root taizhang-deb-check
root=$THROWAWAY_ROOT
started=$(date +%s)
cp -a "$base/." "$root/"
root_mount "$root"
# downloaded packages are kept between checks (the same Qt libraries every time)
archives="$TAIZHANG_ROOTS/$suite-apt-archives"
mkdir -p "$archives/partial"
_root_mount_one "$root" /var/cache/apt/archives "$archives" --bind
start_xvfb
root_show_x "$root"
cp "$deb" "$root/tmp/"
echo "glibc: $(root_run "$root" ldd --version | head -1)"
root_run "$root" bash -euo pipefail -c "
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends ca-certificates >/dev/null
  apt-get install -y -qq --no-install-recommends /tmp/$(basename "$deb")
  useradd -m cunwei
" >"$root/tmp/install.log" 2>&1 || { echo "安装失败：" >&2; tail -20 "$root/tmp/install.log" >&2; exit 1; }
echo "installed: $(root_run "$root" dpkg-query -W -f='${Package} ${Version}' org.taizhang.ledger)"
set +e
said=$(root_run "$root" runuser -u cunwei -- env HOME=/home/cunwei DISPLAY=":$XVFB_DISPLAY" QT_QPA_PLATFORM=xcb \
       TAIZHANG_HOME=/home/cunwei/新数据目录 TAIZHANG_SELF_TEST=1 timeout 120 /usr/bin/taizhang 2>&1)
rc=$?
set -e
echo "$said" | grep -E '^TAIZHANG_SELF_TEST' || true
echo "check_seconds: $(( $(date +%s) - started ))"
if [ $rc -ne 0 ] || ! grep -q 'TAIZHANG_SELF_TEST dialog: .*首次使用设置' <<<"$said"; then
  echo "程序没有打开首次使用窗口（退出码 $rc）：" >&2
  echo "$said" | tail -20 >&2
  exit 1
fi
echo "first-run window: ok"

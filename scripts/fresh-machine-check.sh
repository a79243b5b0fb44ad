#!/usr/bin/env bash
# Fresh-machine check: the README's two commands on a brand-new minimal Debian 12, as a new user
# would run them.  Run it before each release (it is too slow for every CI run: 25-40 minutes).
#
#   scripts/fresh-machine-check.sh            check the committed HEAD of this checkout
#   scripts/fresh-machine-check.sh --keep     keep the Debian root afterwards (to look around)
#   scripts/fresh-machine-check.sh -- -m "not slow"   pytest arguments for ./test.sh (default: the whole suite)
#
# What it does (as root on a Debian/Ubuntu host; it installs debootstrap and xvfb on the host if missing):
#   1. debootstrap --variant=minbase bookworm: a minimal Debian 12 with git and nothing of ours
#   2. git clone of this checkout's HEAD into it (uncommitted changes are not checked)
#   3. inside it (chroot with /proc, /sys, /dev, /dev/pts, /dev/shm mounted), exactly the README's commands:
#        ./run.sh                   under an X server (Xvfb on the host): waits for the first-run window,
#                                   takes a screenshot of it (first-run.png), closes the app
#        ./run.sh --with-server     with TAIZHANG_SELF_TEST=1: the first-run window is reported, and no
#                                   county server is left running after the app closed
#        ./test.sh                  the whole suite; then `git status --porcelain` must be empty
#   4. reports each step's time, the suite's summary line and where the logs are; exit 0 only if all passed
#
# Environment: TAIZHANG_CHECK_DIR (logs, screenshot; default /var/tmp/taizhang-fresh-check),
# TAIZHANG_MIRROR (Debian mirror; default: the one this host's apt uses, else deb.debian.org).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
keep=0 pytest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=1; shift;;
    --) shift; pytest_args=("$@"); break;;
    -h|--help) sed -n '2,24p' "$0"; exit 0;;
    *) echo "未知参数：$1（--help 查看用法）" >&2; exit 2;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "请用 root 运行（debootstrap 和 chroot 需要）" >&2; exit 2; }

out=${TAIZHANG_CHECK_DIR:-/var/tmp/taizhang-fresh-check}
mkdir -p "$out"
rm -f "$out"/*.log "$out"/first-run.png "$out"/REPORT.txt
report() { echo "$*" | tee -a "$out/REPORT.txt"; }
started=$(date +%s)
elapsed() { echo $(( $(date +%s) - $1 )); }

need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v Xvfb >/dev/null || need+=(xvfb)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

mirror=${TAIZHANG_MIRROR:-}
if [ -z "$mirror" ]; then  # the Debian mirror this host's apt already uses (reachable from here)
  mirror=$(grep -rhoE '^(URIs:|deb) +[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
           | awk '{print $2}' | head -1)
  mirror=${mirror:-http://deb.debian.org/debian}
fi

root=$(mktemp -d /var/tmp/taizhang-fresh-root.XXXXXX)
xvfb_pid=""
mounted=()
cleanup() {
  set +e
  # end what the check started inside the root (the app, a server), then unmount, newest first
  for proc in /proc/[0-9]*; do
    [ "$(readlink "$proc/root" 2>/dev/null)" = "$root" ] && kill -9 "${proc#/proc/}" 2>/dev/null
  done
  sleep 1
  for ((i=${#mounted[@]}-1; i>=0; i--)); do umount -l "${mounted[i]}" 2>/dev/null; done
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null
  if [ "$keep" = 1 ]; then echo "Debian 12 根目录保留在 $root" >&2; else rm -rf --one-file-system "$root"; fi
}
trap cleanup EXIT

step=$(date +%s)
debootstrap --variant=minbase --include=git,ca-certificates bookworm "$root" "$mirror" >"$out/debootstrap.log" 2>&1 \
  || { report "失败：debootstrap（见 $out/debootstrap.log）"; exit 1; }
report "debootstrap bookworm (minbase + git): $(elapsed "$step") s, mirror $mirror"

mnt() { mkdir -p "$root$2"; mount "${@:3}" "$1" "$root$2"; mounted+=("$root$2"); }
mnt proc /proc -t proc
mnt sysfs /sys -t sysfs
mnt /dev /dev --bind
mnt devpts /dev/pts -t devpts -o newinstance,ptmxmode=0666
mnt tmpfs /dev/shm -t tmpfs -o mode=1777
mnt tmpfs /run -t tmpfs -o mode=755
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

# an X server for the app: Xvfb on the host, its socket shown inside the root
display=$(( 90 + RANDOM % 100 ))
while [ -e "/tmp/.X11-unix/X$display" ]; do display=$((display + 1)); done
Xvfb ":$display" -screen 0 1280x800x24 -nolisten tcp >"$out/xvfb.log" 2>&1 &
xvfb_pid=$!
for _ in $(seq 50); do [ -S "/tmp/.X11-unix/X$display" ] && break; sleep 0.2; done
mnt /tmp/.X11-unix /tmp/.X11-unix --bind

git clone -q "$SRC" "$root/root/taizhang"
report "checkout: $(git -C "$SRC" log -1 --format='%h %s' | cut -c1-100)"

in_root() {  # a login-like shell in the root's checkout, with a plain environment
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 TERM=dumb DISPLAY=":$display" "$@"
}

# --- 1. ./run.sh: the first-run window appears --------------------------------------------------
step=$(date +%s)
in_root bash -c 'cd /root/taizhang && exec ./run.sh' >"$out/run.log" 2>&1 &
run_pid=$!
window=""
for _ in $(seq 1200); do  # up to 40 minutes: the first ./run.sh installs Qt's libraries and PySide6
  if ! kill -0 "$run_pid" 2>/dev/null; then break; fi
  window=$(xwininfo -display ":$display" -root -tree 2>/dev/null | grep -o '"社区服务台账[^"]*"' | head -1 || true)
  [ -n "$window" ] && break
  sleep 2
done
if [ -z "$window" ]; then
  report "失败：./run.sh 没有打开窗口（$(elapsed "$step") s）。最后几行："
  tail -15 "$out/run.log" | tee -a "$out/REPORT.txt"
  exit 1
fi
sleep 3  # let it paint
in_root /root/taizhang/.venv/bin/python -c '
import sys
from PySide6.QtGui import QGuiApplication
app = QGuiApplication(["shot", "-platform", "xcb"])
sys.exit(0 if app.primaryScreen().grabWindow(0).save("/root/first-run.png") else 1)' >>"$out/run.log" 2>&1 \
  && cp "$root/root/first-run.png" "$out/first-run.png"
kill -- "$run_pid" 2>/dev/null || true
for proc in /proc/[0-9]*; do  # close the app (it runs in the root)
  [ "$(readlink "$proc/root" 2>/dev/null)" = "$root" ] && kill "${proc#/proc/}" 2>/dev/null
done
wait "$run_pid" 2>/dev/null || true
report "./run.sh: window ${window} after $(elapsed "$step") s (installs included); screenshot $out/first-run.png"
grep -E '^(Traceback|ImportError)|^(INFO|WARNING) ' "$out/run.log" >/dev/null \
  && { report "失败：./run.sh 在终端上显示了英文日志或错误："; grep -E '^(Traceback|ImportError|INFO|WARNING)' "$out/run.log" | head -5 | tee -a "$out/REPORT.txt"; exit 1; }

# --- 2. ./run.sh --with-server: the server stops with the app --------------------------------------
step=$(date +%s)
in_root bash -c 'cd /root/taizhang && TAIZHANG_SELF_TEST=1 exec ./run.sh --with-server' >"$out/run-with-server.log" 2>&1 \
  || { report "失败：./run.sh --with-server 退出码非零"; tail -15 "$out/run-with-server.log" | tee -a "$out/REPORT.txt"; exit 1; }
grep -q "TAIZHANG_SELF_TEST dialog: .*首次使用设置" "$out/run-with-server.log" \
  || { report "失败：./run.sh --with-server 没有显示首次使用窗口"; tail -15 "$out/run-with-server.log" | tee -a "$out/REPORT.txt"; exit 1; }
sleep 1
for proc in /proc/[0-9]*; do
  if [ "$(readlink "$proc/root" 2>/dev/null)" = "$root" ] && tr '\0' ' ' <"$proc/cmdline" 2>/dev/null | grep -q "taizhang-server serve"; then
    report "失败：关闭程序后县级服务器仍在运行（进程 ${proc#/proc/}）"; exit 1
  fi
done
report "./run.sh --with-server: first-run window shown, server stopped with the app ($(elapsed "$step") s)"

# --- 3. ./test.sh: the whole suite, and the checkout stays clean -----------------------------------
step=$(date +%s)
args=""
[ ${#pytest_args[@]} -gt 0 ] && printf -v args '%q ' "${pytest_args[@]}"
set +e
in_root bash -c "cd /root/taizhang && ./test.sh $args" >"$out/test.log" 2>&1
test_rc=$?
set -e
summary=$(grep -E '^=+ .*(passed|failed|error).* in [0-9.]+s' "$out/test.log" | tail -1 | sed 's/^=* //; s/ =*$//')
report "./test.sh: exit $test_rc after $(elapsed "$step") s (installs included): ${summary:-no summary line; see $out/test.log}"
dirty=$(in_root git -C /root/taizhang status --porcelain)
if [ -n "$dirty" ]; then report "失败：./test.sh 之后 git status 不为空："; echo "$dirty" | head -20 | tee -a "$out/REPORT.txt"; fi

report "total: $(elapsed "$started") s; logs in $out"
[ "$test_rc" = 0 ] && [ -z "$dirty" ] || exit 1
report "fresh-machine check passed"

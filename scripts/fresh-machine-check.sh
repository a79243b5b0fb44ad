#!/usr/bin/env bash
# Fresh-machine check: the README's two commands on a brand-new minimal Debian 12, as a new user
# would run them.  Run it before each release (it is too slow for every CI run: 25-40 minutes).
#
#   scripts/fresh-machine-check.sh            check the committed HEAD of this checkout
#   scripts/fresh-machine-check.sh --keep     keep the Debian root afterwards (to look around)
#   scripts/fresh-machine-check.sh --own-roots  the suite's baseline .deb test makes its Debian 11 build
#                                             root inside the fresh machine (+20-30 min) instead of
#                                             sharing this host's cache (/var/cache/taizhang-roots)
#   scripts/fresh-machine-check.sh -- -m "not slow"   pytest arguments for ./test.sh (default: the whole suite)
#
# What it does (as root on a Debian/Ubuntu host; it installs debootstrap and xvfb on the host if missing;
# the app's window is on a private Xvfb of the host, shown inside the root):
#   1. a copy of a minimal Debian 12 (debootstrap --variant=minbase bookworm, made once and kept pristine
#      under /var/cache/taizhang-roots), then `apt-get install git` in it: nothing of ours
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
# TAIZHANG_MIRROR (Debian mirror; default: the one this host's apt uses, else deb.debian.org),
# TAIZHANG_ROOTS (where pristine debootstrap roots are kept).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
keep=0 own_roots=0 pytest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=1; shift;;
    --own-roots) own_roots=1; shift;;
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

. "$SRC/scripts/debian-root.sh"
throwaway_root taizhang-fresh-root "$([ "$keep" = 1 ] && echo keep)"
root=$THROWAWAY_ROOT

step=$(date +%s)
base=$(debian_base bookworm) || { report "失败：debootstrap bookworm"; exit 1; }
cp -a "$base/." "$root/"
mount_all() {
  root_mount "$root"
  root_show_x "$root"
  # the baseline .deb test in ./test.sh keeps its Debian 11 build root outside the checkout: share the host's
  if [ "$own_roots" = 0 ]; then mkdir -p "$TAIZHANG_ROOTS"; _root_mount_one "$root" "$TAIZHANG_ROOTS" "$TAIZHANG_ROOTS" --bind; fi
}
start_xvfb
mount_all
display=$XVFB_DISPLAY
# what a new user types first: git, to clone the repository
root_run "$root" bash -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends git ca-certificates' \
  >"$out/git-install.log" 2>&1 || { report "失败：apt-get install git（见 $out/git-install.log）"; exit 1; }
# this host's network: the registries may be reached through a TLS proxy the host trusts (no packages)
root_trust_host_network "$root"
report "minimal Debian 12 (debootstrap --variant=minbase bookworm, $(debian_mirror); cached at $base) + git: $(elapsed "$step") s"

git clone -q "$SRC" "$root/root/taizhang"
report "checkout: $(git -C "$SRC" log -1 --format='%h %s' | cut -c1-100)"

in_root() { root_run "$root" env DISPLAY=":$display" "$@"; }

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
root_release "$root"  # close the app (and anything else running inside), then mount again
wait "$run_pid" 2>/dev/null || true
mount_all
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

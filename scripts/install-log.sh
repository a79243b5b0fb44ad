# Sourced by system-deps.sh and python-env.sh: a long install writes its tools' full output to a log
# file and shows the user one short Chinese line per step; a failed step says which one and where
# the log is, with its last lines.
#   install_log NAME     start (overwrite) the log <checkout>/.install-logs/NAME.log
#   install_step 说明 command…
# TAIZHANG_INSTALL_LOGS moves the log directory (the checkout may be read-only).
install_log() {
  local dir=${TAIZHANG_INSTALL_LOGS:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.install-logs}
  mkdir -p "$dir"
  INSTALL_LOG="$dir/$1.log"
  echo "=== $(date '+%F %T') $1 ===" >"$INSTALL_LOG"
}

install_step() {
  local what=$1 started=$SECONDS
  shift
  echo "  $what……" >&2
  echo "--- $what: $*" >>"$INSTALL_LOG"
  if ! "$@" >>"$INSTALL_LOG" 2>&1; then
    echo "失败：$what。完整输出见 $INSTALL_LOG，最后几行：" >&2
    tail -n 15 "$INSTALL_LOG" | sed 's/^/    /' >&2
    echo "（常见原因：没有网络、软件源不可用、另一个安装程序正在运行。排除后重新运行同一条命令即可，已装好的不会重装。）" >&2
    exit 1
  fi
  local took=$((SECONDS - started))
  [ "$took" -ge 5 ] && echo "  完成（$took 秒）" >&2
  return 0
}

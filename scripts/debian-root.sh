# Sourced by scripts/fresh-machine-check.sh, installers/linux/build-deb-baseline.sh and the baseline
# test: make, enter and clean up Debian roots made with debootstrap.  Needs root.
#
#   debian_mirror                      the Debian mirror this host's apt uses (or $TAIZHANG_MIRROR)
#   debian_base SUITE                  path of a cached pristine `debootstrap --variant=minbase SUITE`
#                                      root under $TAIZHANG_ROOTS (default /var/cache/taizhang-roots,
#                                      outside any checkout), made on first use (about a minute)
#   root_mount ROOT                    mount /proc, /sys, /dev, /dev/pts, /dev/shm, /run inside ROOT
#   root_show_x ROOT                   show the host's X sockets (/tmp/.X11-unix) inside ROOT
#   root_release ROOT                  end every process running inside ROOT, unmount what root_mount did
#   root_trust_host_network ROOT       give ROOT the host's extra CA certificates (/usr/local/share/
#                                      ca-certificates) and /etc/pip.conf: where the package registries are
#                                      reached through a TLS proxy, a machine on that network trusts it too.
#                                      Needs ca-certificates installed in ROOT.
#   throwaway_root PREFIX [keep]       a new copy-to-be root directory /var/tmp/PREFIX.XXXXXX, released,
#                                      its Xvfb stopped and removed (unless keep) when the script exits
#   root_run ROOT CMD…                 run CMD inside ROOT with a plain environment (add VAR=value
#                                      pairs through env: root_run ROOT env A=1 cmd)

TAIZHANG_ROOTS=${TAIZHANG_ROOTS:-/var/cache/taizhang-roots}

debian_mirror() {
  local mirror=${TAIZHANG_MIRROR:-}
  if [ -z "$mirror" ]; then
    mirror=$(grep -rhoE '^(URIs:|deb) +[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
             | awk '{print $2}' | head -1 || true)
  fi
  echo "${mirror:-http://deb.debian.org/debian}"
}

debian_base() {
  local suite=$1 base="$TAIZHANG_ROOTS/$1-base"
  if [ ! -x "$base/bin/bash" ]; then
    command -v debootstrap >/dev/null || {
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap
    } >&2
    mkdir -p "$TAIZHANG_ROOTS"
    rm -rf "$base.tmp"
    debootstrap --variant=minbase "$suite" "$base.tmp" "$(debian_mirror)" >"$TAIZHANG_ROOTS/$suite-debootstrap.log" 2>&1 \
      || { echo "debootstrap $suite 失败，见 $TAIZHANG_ROOTS/$suite-debootstrap.log" >&2; return 1; }
    mv "$base.tmp" "$base"
  fi
  echo "$base"
}

declare -gA _root_mounts=()

_root_mount_one() {  # ROOT DIR SOURCE mount-options…
  local root=$1 dir=$2 src=$3
  shift 3
  mountpoint -q "$root$dir" && return 0
  mkdir -p "$root$dir"
  mount "$@" "$src" "$root$dir"
  _root_mounts[$root]="${_root_mounts[$root]:-} $root$dir"
}

root_mount() {
  local root=$1
  _root_mount_one "$root" /proc proc -t proc
  _root_mount_one "$root" /sys sysfs -t sysfs
  _root_mount_one "$root" /dev /dev --bind
  _root_mount_one "$root" /dev/pts devpts -t devpts -o newinstance,ptmxmode=0666
  _root_mount_one "$root" /dev/shm tmpfs -t tmpfs -o mode=1777
  _root_mount_one "$root" /run tmpfs -t tmpfs -o mode=755
  cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
}

root_show_x() {
  _root_mount_one "$1" /tmp/.X11-unix /tmp/.X11-unix --bind
}

root_release() {
  local root=$1 proc dir
  for proc in /proc/[0-9]*; do
    [ "$(readlink "$proc/root" 2>/dev/null)" = "$root" ] && kill -9 "${proc#/proc/}" 2>/dev/null
  done
  sleep 1
  # unmount newest first
  for dir in $(echo "${_root_mounts[$root]:-}" | tr ' ' '\n' | tac); do umount -l "$dir" 2>/dev/null; done
  _root_mounts[$root]=""
}

root_trust_host_network() {
  local root=$1
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    root_run "$root" update-ca-certificates >/dev/null 2>&1 || true
  fi
  [ -f /etc/pip.conf ] && cp /etc/pip.conf "$root/etc/pip.conf"
  return 0
}

throwaway_root() {  # sets THROWAWAY_ROOT; installs the EXIT trap
  THROWAWAY_ROOT=$(mktemp -d "/var/tmp/$1.XXXXXX")
  _throwaway_keep=${2:-}
  XVFB_PID=""
  trap _throwaway_cleanup EXIT
}

_throwaway_cleanup() {
  set +e
  root_release "$THROWAWAY_ROOT"
  [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null
  if [ "$_throwaway_keep" = keep ]; then
    echo "根目录保留在 $THROWAWAY_ROOT" >&2
  elif grep -q " $THROWAWAY_ROOT/" /proc/mounts; then  # never delete through a mount that is still there
    echo "$THROWAWAY_ROOT 下仍有挂载点，未删除" >&2
  else
    rm -rf --one-file-system "$THROWAWAY_ROOT"
  fi
}

root_run() {
  local root=$1
  shift
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive "$@"
}

start_xvfb() {  # sets XVFB_DISPLAY and XVFB_PID: a private X server on the host for apps in a root
  command -v Xvfb >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends xvfb
  } >&2
  XVFB_DISPLAY=$(( 90 + RANDOM % 100 ))
  while [ -e "/tmp/.X11-unix/X$XVFB_DISPLAY" ]; do XVFB_DISPLAY=$((XVFB_DISPLAY + 1)); done
  Xvfb ":$XVFB_DISPLAY" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
  XVFB_PID=$!
  for _ in $(seq 50); do [ -S "/tmp/.X11-unix/X$XVFB_DISPLAY" ] && return 0; sleep 0.2; done
  echo "Xvfb :$XVFB_DISPLAY 没有启动" >&2
  return 1
}

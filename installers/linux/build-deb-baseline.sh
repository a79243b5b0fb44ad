#!/usr/bin/env bash
# The release build of the .deb for the 信创 baseline: the bundle and package are made inside a
# Debian 11 root (glibc 2.31), so no file in the package needs a newer glibc than UOS 20 / Kylin V10
# have (2.28-2.31).  One command, as root on a Debian/Ubuntu host:
#
#   installers/linux/build-deb-baseline.sh [build-deb.sh options…]     -> dist/<appid>_<version>_amd64.deb
#
# Debian 11 ships Python 3.9, the app needs ≥ 3.10.  The root therefore gets CPython 3.11 built from
# Debian's own source package of it (bookworm's python3.11, fetched with `apt-get source`, compiled
# inside the Debian 11 root against its glibc and libraries, with the security fixes Debian backported
# to it, installed in /opt/taizhang-python).
# PySide6's wheels are manylinux_2_28, so pip picks a Qt that runs on glibc 2.28 by itself.
#
# The root (debootstrap, build tools, the compiled Python, pip's cache) is kept in
# $TAIZHANG_ROOTS/bullseye-build (default /var/cache/taizhang-roots, outside the checkout): the first
# build takes 20-30 minutes on 2 cores, later ones the time of the PyInstaller build and dpkg (5-10).
# The checkout's files (tracked and untracked, not ignored) are copied in for each build.
# At the end it prints max_glibc: the highest GLIBC_ version any file in the package needs, and
# fails if that is above 2.31.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "请用 root 运行（debootstrap 和 chroot 需要）" >&2; exit 2; }
. "$ROOT/scripts/debian-root.sh"
out="$ROOT/dist"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2;;
    --bundle) echo "--bundle 不适用：基线版本总是在 Debian 11 中重新打包" >&2; exit 2;;
    -h|--help) sed -n '2,20p' "$0"; exit 0;;
    *) args+=("$1"); shift;;
  esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
GLIBC_LIMIT=2.31
PY_PREFIX=/opt/taizhang-python
# bump when the build root's recipe below changes: the cached root is then made again
RECIPE=1
started=$(date +%s)
build="$TAIZHANG_ROOTS/bullseye-build"

cleanup() { set +e; root_release "$build"; }
trap cleanup EXIT
# one build at a time in the shared build root
mkdir -p "$TAIZHANG_ROOTS"
exec 9>"$TAIZHANG_ROOTS/bullseye-build.lock"
flock 9

if [ ! -f "$build/.taizhang-recipe-$RECIPE" ]; then
  echo "准备 Debian 11 构建环境（仅第一次，约 20 分钟）：$build" >&2
  mirror=$(debian_mirror)
  log="$TAIZHANG_ROOTS/bullseye-build.log"
  failed() { echo "Debian 11 构建环境准备失败（$1），见 $log" >&2; tail -20 "$log" >&2; exit 1; }
  if [ ! -f "$build/.taizhang-packages-$RECIPE" ]; then  # (a failed Python build resumes after this step)
    base=$(debian_base bullseye)
    root_release "$build"
    rm -rf --one-file-system "$build"
    cp -a "$base" "$build"
    root_mount "$build"
    # the app's system libraries come from the project's own list, so dpkg-shlibdeps sees the same ones
    mkdir -p "$build/tmp/deps" && cp "$ROOT/scripts/system-deps.sh" "$ROOT/scripts/install-log.sh" "$build/tmp/deps/"
    root_run "$build" bash -euo pipefail -c "
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends build-essential pkg-config dpkg-dev fakeroot binutils ca-certificates \
        xz-utils libssl-dev zlib1g-dev libbz2-dev libffi-dev liblzma-dev libsqlite3-dev uuid-dev libreadline-dev \
        libncursesw5-dev
      bash /tmp/deps/system-deps.sh app
    " >"$log" 2>&1 || failed "apt-get install"
    touch "$build/.taizhang-packages-$RECIPE"
  fi
  root_mount "$build"
  root_trust_host_network "$build"
  # CPython 3.11 from Debian 12's own source package, built against Debian 11's glibc: upstream's
  # 3.11.2 plus the fixes Debian backported to it (its series from shutdown-deadlock.diff on: the
  # CVE-… and 3.11-gh-… security patches and the crash fixes they build on).  Debian's own layout
  # patches before them (multiarch, ensurepip disabled, /usr/local schemes) are for /usr and left out.
  root_run "$build" bash -euo pipefail -c "
    echo 'deb-src $mirror bookworm main' >/etc/apt/sources.list.d/bookworm-src.list
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends pkg-config >/dev/null
    rm -rf /usr/src/python && mkdir -p /usr/src/python && cd /usr/src/python
    apt-get source --download-only -qq python3.11
    tar xf python3.11_*.orig.tar.*
    tar xf python3.11_*.debian.tar.*
    cd Python-3.11*/
    grep -q '^shutdown-deadlock.diff' ../debian/patches/series
    sed -n '/^shutdown-deadlock.diff/,\$p' ../debian/patches/series | while read -r fix _; do
      patch -p1 -s --no-backup-if-mismatch <../debian/patches/\$fix
      echo \"applied \$fix\"
    done
    # a backported expat fix includes CPython's internal headers in pyexpat.c, which 3.12 allows with
    # this define at its top (Debian builds pyexpat into the interpreter, so its series does not need it)
    if grep -q 'pycore_' Modules/pyexpat.c && ! grep -q 'Py_BUILD_CORE_MODULE' Modules/pyexpat.c; then
      sed -i '1i #ifndef Py_BUILD_CORE_BUILTIN\\n#  define Py_BUILD_CORE_MODULE 1\\n#endif' Modules/pyexpat.c
    fi
    ./configure -q --prefix=$PY_PREFIX --enable-shared --with-ensurepip=install LDFLAGS=-Wl,-rpath,$PY_PREFIX/lib
    make -s -j\$(nproc) >/dev/null
    make -s install >/dev/null
    cd / && rm -rf /usr/src/python
    $PY_PREFIX/bin/python3 -c 'import ssl, sqlite3, lzma, bz2, ctypes, zlib, uuid; print(\"python\", __import__(\"sys\").version)'
  " >>"$log" 2>&1 || failed "CPython 3.11"
  touch "$build/.taizhang-recipe-$RECIPE"
  echo "build_root_seconds: $(( $(date +%s) - started ))"
fi

root_mount "$build"
rm -rf --one-file-system "$build/build/taizhang" "$build/build/dist"
mkdir -p "$build/build/taizhang" "$build/build/dist"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) | tar -xf - -C "$build/build/taizhang"
passed=""
[ ${#args[@]} -gt 0 ] && printf -v passed '%q ' "${args[@]}"
root_run "$build" bash -euo pipefail -c "
  cd /build/taizhang
  bash scripts/system-deps.sh app  # the app's libraries as this checkout lists them (a cached root may predate one)
  [ -x /build/venv/bin/python ] || $PY_PREFIX/bin/python3 -m venv /build/venv
  /build/venv/bin/python -m pip install -q --upgrade pip
  /build/venv/bin/python -m pip install -q -e '.[desktop]' 'pyinstaller>=6.5'
  PYTHON=/build/venv/bin/python bash installers/linux/build-deb.sh --out /build/dist $passed
" | sed "s#/build/dist/#$out/#"
shopt -s nullglob
debs=("$build"/build/dist/*.deb)
[ ${#debs[@]} -eq 1 ] || { echo "Debian 11 中没有生成 .deb" >&2; exit 1; }
cp "${debs[0]}" "$out/"
deb="$out/$(basename "${debs[0]}")"
unpacked=$(mktemp -d)
dpkg-deb -x "$deb" "$unpacked"
max=$("$ROOT/installers/linux/max-glibc.sh" "$unpacked")
rm -rf "$unpacked"
echo "max_glibc: $max"
echo "baseline_build_seconds: $(( $(date +%s) - started ))"
if [ "$(printf '%s\n%s\n' "$max" "$GLIBC_LIMIT" | sort -V | tail -1)" != "$GLIBC_LIMIT" ]; then
  echo "安装包中有文件需要 glibc $max，超过了 $GLIBC_LIMIT（installers/linux/max-glibc.sh $out --list 可查看是哪些文件）" >&2
  exit 1
fi

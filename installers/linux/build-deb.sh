#!/usr/bin/env bash
# Builds the desktop app bundle and a .deb for UOS / Kylin / Debian, in the UOS application layout:
#
#   /opt/apps/org.taizhang.ledger/info                       appid, name, version (a.b.c.d), arch
#   /opt/apps/org.taizhang.ledger/entries/applications/      desktop entry (menu name 社区服务台账)
#   /opt/apps/org.taizhang.ledger/entries/icons/hicolor/     icons
#   /opt/apps/org.taizhang.ledger/files/                     the program (PyInstaller one-folder build)
#
# UOS picks the entries up from /opt/apps itself.  For Debian and Kylin, which do not, the package also
# ships symbolic links in /usr/share/applications and /usr/share/icons (plain package files, no
# maintainer scripts; on UOS they name the same entry, so the menu shows it once) and /usr/bin/taizhang
# for the command line.  --uos-store leaves them out for the UOS app store, which allows /opt/apps only.
# The package has no maintainer scripts: installing or removing it changes nothing else on the system,
# and the users' data (~/.local/share/Taizhang) is never touched.
#
#   installers/linux/build-deb.sh                        build the bundle, then dist/<appid>_<version>_<arch>.deb
#   installers/linux/build-deb.sh --bundle dist/taizhang  package an existing bundle (no rebuild)
#   installers/linux/build-deb.sh --version 0.1.0.7      four numeric parts (default: program version + .0,
#                                                        or + .$TAIZHANG_BUILD_NUMBER)
#   installers/linux/build-deb.sh --fast                 gzip -1 instead of xz (test builds)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
APPID=org.taizhang.ledger
PY=${PYTHON:-$ROOT/.venv/bin/python}
bundle="" version="" compress=(-Zxz) uos_store=0 out="$ROOT/dist"
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) bundle=$2; shift 2;;
    --version) version=$2; shift 2;;
    --out) out=$2; shift 2;;
    --fast) compress=(-Zgzip -z1); shift;;
    --uos-store) uos_store=1; shift;;
    -h|--help) sed -n '2,24p' "$0"; exit 0;;
    *) echo "未知参数：$1" >&2; exit 2;;
  esac
done
for tool in dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || { echo "缺少 $tool：apt-get install dpkg-dev" >&2; exit 2; }
done
started=$(date +%s)
if [ -z "$bundle" ]; then
  "$PY" "$ROOT/installers/build.py" --dist "$out"
  bundle="$out/taizhang"
fi
bundle=$(cd "$bundle" && pwd)
[ -x "$bundle/taizhang" ] || { echo "$bundle 里没有可执行的 taizhang：先运行 installers/build.py" >&2; exit 2; }
if [ -z "$version" ]; then
  base=$("$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); from storage import __version__; print(__version__)' "$ROOT")
  version="$base.${TAIZHANG_BUILD_NUMBER:-0}"
fi
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "版本号须为四段数字（如 0.1.0.0）：$version" >&2; exit 2; }
arch=$(dpkg --print-architecture)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
chmod 755 "$stage"
app="$stage/opt/apps/$APPID"
mkdir -p "$app/files" "$app/entries/applications" "$stage/DEBIAN"
cp -a "$bundle/." "$app/files/"

cat >"$app/info" <<EOF
{
  "appid": "$APPID",
  "name": "社区服务台账",
  "version": "$version",
  "arch": ["$arch"],
  "permissions": {
    "autostart": false, "notification": false, "trayicon": false, "clipboard": true,
    "account": false, "bluetooth": false, "camera": false, "audio_record": false, "installed_apps": false
  }
}
EOF

cat >"$app/entries/applications/$APPID.desktop" <<EOF
[Desktop Entry]
Type=Application
Version=1.0
Name=社区服务台账
Name[zh_CN]=社区服务台账
GenericName=Community Service Ledger
GenericName[zh_CN]=城乡社区服务台账
Comment=村（社区）工作台账：离线填报设施、人员、志愿者和服务记录，月底同步到县里
Exec=/opt/apps/$APPID/files/taizhang
Icon=$APPID
Terminal=false
Categories=Office;
Keywords=台账;社区;村委会;民政;
StartupWMClass=taizhang
EOF

icons="$app/entries/icons/hicolor"
mkdir -p "$icons/scalable/apps"
cp "$ROOT/installers/icons/taizhang.svg" "$icons/scalable/apps/$APPID.svg"
for size in 16 24 32 48 64 128 256; do
  mkdir -p "$icons/${size}x${size}/apps"
  cp "$ROOT/installers/icons/taizhang-$size.png" "$icons/${size}x${size}/apps/$APPID.png"
done

if [ "$uos_store" = 0 ]; then
  mkdir -p "$stage/usr/share/applications" "$stage/usr/bin"
  ln -s "/opt/apps/$APPID/entries/applications/$APPID.desktop" "$stage/usr/share/applications/$APPID.desktop"
  ln -s "/opt/apps/$APPID/files/taizhang" "$stage/usr/bin/taizhang"
  (cd "$icons" && find . -type f) | while read -r rel; do
    mkdir -p "$stage/usr/share/icons/hicolor/$(dirname "$rel")"
    ln -s "/opt/apps/$APPID/entries/icons/hicolor/${rel#./}" "$stage/usr/share/icons/hicolor/${rel#./}"
  done
fi

# Depends: the system libraries the bundle's programs and Qt plugins need but do not carry,
# found by dpkg-shlibdeps (libraries inside the bundle are resolved there first).  It takes a
# minute or two (one dpkg lookup per library), so the answer is kept per bundle content in $out.
key=$(cd "$app/files" && find . -type f -printf '%P %s\n' | sort | sha1sum | cut -c1-16)
cache="$out/.depends-$key"
if [ -s "$cache" ]; then
  depends=$(cat "$cache")
else
  mkdir -p "$stage/shlibs/debian"
  printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$APPID" "$APPID" >"$stage/shlibs/debian/control"
  mapfile -t elves < <(find "$app/files" -type f \( -name '*.so*' -o -name taizhang \) -exec sh -c \
    'head -c4 "$1" | grep -q "ELF" && echo "$1"' _ {} \;)
  libdirs=()
  while read -r d; do libdirs+=("-l$d"); done < <(find "$app/files" -type f -name '*.so*' -printf '%h\n' | sort -u)
  depends=$(cd "$stage/shlibs" && dpkg-shlibdeps -O --ignore-missing-info "${libdirs[@]}" "${elves[@]}" 2>/dev/null \
            | sed -n 's/^shlibs:Depends=//p')
  rm -rf "$stage/shlibs"
  mkdir -p "$out"
  [ -n "$depends" ] && printf '%s' "$depends" >"$cache"
fi
[ -n "$depends" ] || { echo "dpkg-shlibdeps 未给出依赖，停止" >&2; exit 1; }
# Qt's xcb platform plugin needs libxcb-cursor (Qt 6.5+); make sure it is named even if the plugin
# stops linking it directly.
case "$depends" in *libxcb-cursor0*) ;; *) depends="$depends, libxcb-cursor0";; esac

installed_kb=$(du -sk --apparent-size "$stage/opt" | cut -f1)
cat >"$stage/DEBIAN/control" <<EOF
Package: $APPID
Version: $version
Architecture: $arch
Maintainer: Taizhang project <taizhang@localhost>
Installed-Size: $installed_kb
Depends: $depends
Section: utils
Priority: optional
Homepage: https://github.com/taizhang/taizhang
Description: 社区服务台账 - offline ledger for village and community service records
 Village and community committees keep their service ledger (facilities, community
 workers, volunteers, service records) offline on this PC and sync it to the county
 server at month end.  Self-contained: Python and Qt are inside /opt/apps/$APPID.
EOF

mkdir -p "$out"
deb="$out/${APPID}_${version}_${arch}.deb"
dpkg-deb --root-owner-group "${compress[@]}" --build "$stage" "$deb" >/dev/null
size=$(stat -c %s "$deb")
echo "deb: $deb"
echo "deb_size_mb: $(awk -v s="$size" 'BEGIN{printf "%.1f", s/1e6}')"
echo "installed_size_mb: $(awk -v s="$installed_kb" 'BEGIN{printf "%.1f", s*1024/1e6}')"
echo "deb_build_seconds: $(( $(date +%s) - started ))"
glibc=$(printf '%s' "$depends" | sed -n 's/.*libc6 (>= \([0-9.]*\)).*/\1/p')
if [ -n "$glibc" ]; then
  echo "min_glibc: $glibc"
  echo "此安装包只能装在 glibc ≥ $glibc 的系统上（用 ldd --version 查看）。要支持更老的统信UOS/麒麟，请在最老的目标系统上运行本脚本。" >&2
fi

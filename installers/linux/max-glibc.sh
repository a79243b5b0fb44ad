#!/usr/bin/env bash
# Prints the highest GLIBC_ symbol version any ELF file under DIR (a bundle, an unpacked .deb) needs,
# read with objdump -T; with --list, one "version file" line per file instead.
#   installers/linux/max-glibc.sh DIR [--list]
set -euo pipefail
dir=${1:?用法：max-glibc.sh 目录 [--list]}
command -v objdump >/dev/null || { echo "缺少 objdump：apt-get install binutils" >&2; exit 2; }
find "$dir" -type f -size +0 -print0 | while IFS= read -r -d '' f; do
  [ "$(head -c4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
  # only what the file needs from glibc (undefined symbols, *UND*), not what it defines itself
  v=$(objdump -T "$f" 2>/dev/null | awk '/\*UND\*/' | grep -oE 'GLIBC_[0-9]+(\.[0-9]+)+' | sed 's/GLIBC_//' \
      | sort -V | tail -1 || true)
  [ -n "$v" ] && printf '%s %s\n' "$v" "${f#"$dir"/}"
done | sort -V -k1,1 | if [ "${2:-}" = --list ]; then cat; else tail -1 | cut -d' ' -f1; fi

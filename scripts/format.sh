#!/bin/sh
# scripts/format.sh check|apply: the one C style (.clang-format) over every
# tracked C file. check lists the files that differ and fails; apply
# rewrites them in place.
set -eu
cd "$(dirname "$0")/.."
mode=${1:-check}
command -v clang-format >/dev/null || { echo "clang-format not found (Debian: clang-format)" >&2; exit 2; }
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find csrc tests bench -name '*.[ch]')
case $mode in
  apply)
    # shellcheck disable=SC2086
    clang-format -i $files
    echo "formatted $(echo "$files" | wc -l) files" ;;
  check)
    bad=0 lines=0
    for f in $files; do
      n=$(clang-format "$f" | diff "$f" - | grep -c '^[<>]' || true)
      if [ "$n" -gt 0 ]; then
        echo "$f: $n lines differ"
        bad=$((bad + 1)) lines=$((lines + n))
      fi
    done
    if [ $bad -gt 0 ]; then
      echo "$bad of $(echo "$files" | wc -l) C files differ from .clang-format ($lines diff lines): run make format" >&2
      exit 1
    fi
    echo "all $(echo "$files" | wc -l) C files follow .clang-format" ;;
  *) echo "usage: $0 check|apply" >&2; exit 2 ;;
esac

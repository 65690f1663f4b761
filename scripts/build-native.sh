#!/bin/sh
# Compiles native/enter-root.c to dist/enter-root.so, the helper that moves a host tool into a
# layer root after the host's loader has done its work (see the file's header comment).
set -eu
cd "$(dirname "$0")/.."
mkdir -p dist
if ! command -v cc >/dev/null 2>&1; then
  echo "build: no C compiler (cc) to build dist/enter-root.so: apt-get install gcc libc6-dev" >&2
  exit 1
fi
cc -O2 -Wall -Wextra -Werror -shared -fPIC -o dist/enter-root.so.tmp native/enter-root.c
mv dist/enter-root.so.tmp dist/enter-root.so

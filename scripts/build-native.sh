#!/bin/sh
# Compiles the native helpers (see each file's header comment): native/enter-root.c to
# dist/enter-root.so, which moves a host tool into a layer root after the host's loader has
# done its work, and native/mounter.c to dist/mounter, which mounts and unmounts on request.
set -eu
cd "$(dirname "$0")/.."
mkdir -p dist
if ! command -v cc >/dev/null 2>&1; then
  echo "build: no C compiler (cc) to build dist/enter-root.so and dist/mounter: apt-get install gcc libc6-dev" >&2
  exit 1
fi
cc -O2 -Wall -Wextra -Werror -shared -fPIC -o dist/enter-root.so.tmp native/enter-root.c
mv dist/enter-root.so.tmp dist/enter-root.so
cc -O2 -Wall -Wextra -Werror -o dist/mounter.tmp native/mounter.c
mv dist/mounter.tmp dist/mounter

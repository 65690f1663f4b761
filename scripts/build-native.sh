#!/bin/sh
# Compiles the native helpers (see each file's header comment): native/enter-root.c to
# dist/enter-root.so, which moves a host tool into a layer root after the host's loader has
# done its work, native/mounter.c to dist/mounter, which mounts and unmounts on request, and
# native/tree-ops.c to dist/tree-ops, which prunes an upper dir and settles its times.
set -eu
cd "$(dirname "$0")/.."
mkdir -p dist
if ! command -v cc >/dev/null 2>&1; then
  echo "build: no C compiler (cc) to build dist/enter-root.so, dist/mounter and dist/tree-ops: apt-get install gcc libc6-dev" >&2
  exit 1
fi
cc -O2 -Wall -Wextra -Werror -shared -fPIC -o dist/enter-root.so.tmp native/enter-root.c
mv dist/enter-root.so.tmp dist/enter-root.so
cc -O2 -Wall -Wextra -Werror -o dist/mounter.tmp native/mounter.c
mv dist/mounter.tmp dist/mounter
cc -O2 -Wall -Wextra -Werror -o dist/tree-ops.tmp native/tree-ops.c
mv dist/tree-ops.tmp dist/tree-ops

#!/bin/sh
# Installs what the project needs and is missing, then compiles: Debian packages through
# apt-get (as root), npm packages through `npm ci`. Idempotent and quick when all is there.
set -eu
cd "$(dirname "$0")/.."

# debian-archive-keyring: debootstrap of the example's Debian base checks signatures with it (on Ubuntu too).
# gcc, libc6-dev: the native helpers dist/enter-root.so, dist/mounter and dist/tree-ops (native/*.c).
# qemu-system-x86, cpio, kmod (depmod): `boot` (busybox-static and e2fsprogs too: its initramfs and disks).
# docker-registry, skopeo, apache2-utils (htpasswd), openssl: the registry tests' real registry,
# its second client, its Basic auth and its token server's certificate.
PACKAGES="squashfs-tools dump bubblewrap busybox-static e2fsprogs attr rsync tar gzip xz-utils zstd bzip2 util-linux debootstrap debian-archive-keyring gcc libc6-dev qemu-system-x86 cpio kmod docker-registry skopeo apache2-utils openssl"

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing Debian packages:$missing" >&2
    echo "setup: run as root, or install them: apt-get install$missing" >&2
    exit 1
  fi
  echo "setup: installing$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Refresh the package lists once if they are absent or older than a day.
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -n 1)" ]; then
    apt-get update -q >&2
  fi
  apt-get install -y -q --no-install-recommends $missing >&2
fi

# npm ci when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi

if [ ! -f dist/enter-root.so ] || [ native/enter-root.c -nt dist/enter-root.so ] ||
  [ ! -f dist/mounter ] || [ native/mounter.c -nt dist/mounter ] ||
  [ ! -f dist/tree-ops ] || [ native/tree-ops.c -nt dist/tree-ops ]; then
  echo "setup: compiling the native helpers" >&2
  sh scripts/build-native.sh
fi
# Compile when dist/ is missing, older than any source file, or has no code cache (its
# making failed: scripts/bundle.mjs). After the native helpers: making the code cache builds a
# layer.
if [ ! -f dist/cli.cjs ] || [ -z "$(find dist/bundle -name '*.v8-cache' 2>/dev/null | head -n 1)" ] ||
  [ -n "$(find src package.json tsconfig.json tsconfig.build.json scripts/bundle.mjs scripts/cli-loader.cjs scripts/train-code-cache.cjs -newer dist/cli.cjs 2>/dev/null | head -n 1)" ]; then
  echo "setup: compiling" >&2
  npx tsc -p tsconfig.build.json >&2
  node scripts/bundle.mjs >&2
fi

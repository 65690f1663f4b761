#!/bin/sh
# Makes the inputs of the example layer set (recipes/*.yaml):
#
#   OUT/base.dump                 Debian bookworm minbase (debootstrap) as a dump(8) level-0
#                                 image of an ext4 filesystem: what recipes/base.yaml restores
#   OUT/extra.tar.gz              a small static site and a tool script with specific owners
#                                 and modes: what recipes/extra.yaml unpacks
#   OUT/bookworm-minbase.tar.zst  the debootstrap tree, kept so that base.dump can be remade
#                                 without the network
#
# Usage: sh example/make-inputs.sh [OUT]     (OUT defaults to inputs/ in the repository)
#
# Idempotent and fast when the inputs exist: nothing is remade that is already there, and
# extra.tar.gz is byte-reproducible (rewritten only if its content would change). Every
# output is made in a temporary directory under OUT and renamed into place, so an
# interrupted run leaves no half-made input behind. Needs root (debootstrap, loop devices); leaves no mount and no
# loop device behind, also on failure or interruption.
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$REPO/inputs}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
# Fixed timestamps make extra.tar.gz byte-reproducible.
EPOCH=1735689600

log() { echo "make-inputs: $*" >&2; }

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
TREE_TAR=$OUT/$SUITE-minbase.tar.zst

WORK=""
LOOP=""
cleanup() {
  status=$?
  trap - EXIT INT TERM HUP
  if [ -n "$LOOP" ]; then
    losetup -d "$LOOP" 2>/dev/null || log "warning: could not detach $LOOP"
    LOOP=""
  fi
  if [ -n "$WORK" ] && [ -d "$WORK" ]; then
    # debootstrap mounts /proc, /sys... inside its target while it works; an interrupted
    # run can leave them. Unmount anything below WORK, deepest first, then remove it.
    awk -v w="$WORK" '$5 == w || index($5, w "/") == 1 { print $5 }' /proc/self/mountinfo |
      sort -r | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" || true; done
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

need() {
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || { log "missing tool: $t (run: sh scripts/setup.sh)"; exit 1; }
  done
}

workdir() {
  if [ -z "$WORK" ]; then WORK=$(mktemp -d "$OUT/.make-inputs.XXXXXX"); fi
}

# --- the debootstrap tree (kept as a tarball) -------------------------------------------
make_tree_tar() {
  [ -s "$TREE_TAR" ] && return 0
  [ "$(id -u)" = 0 ] || { log "debootstrap needs root"; exit 1; }
  need debootstrap tar zstd
  workdir
  log "debootstrap --variant=minbase $SUITE from $MIRROR (about a minute)"
  debootstrap --variant=minbase "$SUITE" "$WORK/tree" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
    tail -n 30 "$WORK/debootstrap.log" >&2
    log "debootstrap failed"
    exit 1
  }
  log "packing the tree into $(basename "$TREE_TAR")"
  tar --numeric-owner --xattrs --xattrs-include='*' --acls --sort=name -C "$WORK/tree" -cf - . |
    zstd -q -T0 -3 -o "$WORK/tree.tar.zst"
  mv -f "$WORK/tree.tar.zst" "$TREE_TAR"
}

# --- base.dump: the tree in an ext4 image, dumped at level 0 ----------------------------
make_base_dump() {
  [ -s "$OUT/base.dump" ] && return 0
  [ "$(id -u)" = 0 ] || { log "making base.dump needs root (loop device)"; exit 1; }
  need mkfs.ext4 losetup setsid dump tar zstd
  make_tree_tar
  workdir
  if [ ! -d "$WORK/tree" ]; then
    mkdir "$WORK/tree"
    zstd -dcq "$TREE_TAR" | tar --numeric-owner --xattrs --xattrs-include='*' --acls -C "$WORK/tree" -xpf -
  fi
  # Room for the tree plus a third, plus ext4's own metadata.
  kib=$(du -sk "$WORK/tree" | cut -f1)
  size_mib=$((kib * 4 / 3 / 1024 + 64))
  log "making an ext4 image of ${size_mib} MiB and dumping it"
  : >"$WORK/base.img"
  mkfs.ext4 -q -F -L base -d "$WORK/tree" "$WORK/base.img" "${size_mib}M"
  LOOP=$(losetup -f --show -r "$WORK/base.img")
  # dump runs in a session of its own: a SIGTERM or SIGINT sent to our process group would
  # kill its worker processes while it blocks SIGTERM itself, and it would then wait for them
  # forever. It takes a second or two; the traps above clean up when it is done.
  setsid -w dump -0 -q -f "$WORK/base.dump" "$LOOP" 2>"$WORK/dump.log" || {
    cat "$WORK/dump.log" >&2
    log "dump failed"
    exit 1
  }
  losetup -d "$LOOP"
  LOOP=""
  rm -f "$WORK/base.img"
  mv -f "$WORK/base.dump" "$OUT/base.dump"
}

# --- extra.tar.gz: a static site and a tool script --------------------------------------
make_extra_tar() {
  need tar gzip
  workdir
  s=$WORK/extra
  rm -rf "$s"
  mkdir -p "$s/srv/www/example/assets" "$s/usr/local/bin" "$s/var/lib/sitestat"

  cat >"$s/srv/www/example/index.html" <<'EOF'
<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>example</title><link rel="stylesheet" href="/assets/site.css"></head>
<body><h1>It works</h1><p>Served from a stack of squashfs layers: config:extra:server:base.</p></body>
</html>
EOF
  cat >"$s/srv/www/example/assets/site.css" <<'EOF'
body { font-family: sans-serif; margin: 3em auto; max-width: 40em; }
EOF
  cat >"$s/usr/local/bin/sitestat" <<'EOF'
#!/bin/sh
# sitestat: counts the files and bytes of the example site.
set -eu
root=${1:-/srv/www/example}
files=$(find "$root" -type f | wc -l)
bytes=$(find "$root" -type f -exec cat {} + | wc -c)
echo "$root: $files files, $bytes bytes"
EOF

  # Owners and modes are part of what the layer must keep: www-data (33:33) owns the
  # site (setgid dirs, so new files keep the group), the state dir is private to it.
  chown -R 33:33 "$s/srv/www/example" "$s/var/lib/sitestat"
  chmod 2775 "$s/srv/www/example" "$s/srv/www/example/assets"
  chmod 0644 "$s/srv/www/example/index.html" "$s/srv/www/example/assets/site.css"
  chmod 0700 "$s/var/lib/sitestat"
  chown 0:50 "$s/usr/local/bin/sitestat"
  chmod 0750 "$s/usr/local/bin/sitestat"
  chmod 0755 "$s/srv" "$s/srv/www" "$s/usr" "$s/usr/local" "$s/usr/local/bin" "$s/var" "$s/var/lib"

  # Only what the layer adds is archived: /srv/www and below, the script, the state dir
  # (not /, /srv or /usr themselves, which would then change the lowers' directories).
  (cd "$s" && tar --numeric-owner --sort=name --mtime="@$EPOCH" --format=gnu \
    -cf - ./srv/www ./usr/local/bin/sitestat ./var/lib/sitestat) | gzip -n -9 >"$WORK/extra.tar.gz"
  if [ -f "$OUT/extra.tar.gz" ] && cmp -s "$WORK/extra.tar.gz" "$OUT/extra.tar.gz"; then
    return 0
  fi
  log "writing extra.tar.gz"
  mv -f "$WORK/extra.tar.gz" "$OUT/extra.tar.gz"
}

make_base_dump
make_extra_tar
log "inputs ready in $OUT"

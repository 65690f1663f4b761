// The shell scripts of the boot initramfs (busybox sh), as text. Pure.
//
// /init implements RuckusRD's layer parameters the way its linuxrc does (sourceruckus/ruckusrd
// src/linuxrc and src/ruckusrd-common.sh at 6418728): `sqsh_layerdev` adds /sqsh_layerdev to
// the places searched, `sqsh_layerdir=REL` is appended to each, `lookup_layer` takes the first
// $dir/NAME.sqsh found (the root device first); each layer is attached to a loop device
// (/dev/sqsh_layer-NAME) and mounted read-only at /sqsh_layer-NAME; the upper is
// /tmproot/upper on the root device (remounted rw) or, with `ram_layer=SIZE`, a tmpfs at
// /upper with the root device's upper/upper stacked read-only on top as the lower `upper`;
// the root overlay is `mount -t overlay -o [overlayflags,]lowerdir=/sqsh_layer-a:...,
// upperdir=$upper/upper,workdir=$upper/work rootfs /sysroot`; after it the mounts move to
// /mnt/sqsh_layer-NAME, /mnt/sqsh_layerdev, /mnt/upper and /mnt/root-true of the new root.
// Where RuckusRD would go on with a missing layer, this one stops and says so: it is a test.
//
// The protocol on the console: lines `@@<nonce> <event> ...` that the tool collects
// (boot/console.ts): `fail MESSAGE`, `init KIND`, `ready`, `begin I`, `out I BASE64`,
// `end I STATUS`, `done`.
/** Where the check runner and its files are put in the booted root (a dot dir of the throw-away upper). */
export const BOOT_DIR = '/.sqsh-boot';
const sh = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
export function initScript(o) {
    const loads = o.modules.map((m) => `load ${sh(m.file)} ${m.params}`.trimEnd()).join('\n');
    return `#!/bin/busybox sh
# sqsh-layers boot initramfs: RuckusRD's layer parameters (see boot/init-script.ts).
/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp
/bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs -o mode=0755 devtmpfs /dev
exec </dev/console >/dev/console 2>&1

say() { echo "@@${o.nonce} $*"; }
fail() {
  say fail "$*"
  sync
  poweroff -f
  sleep 60
}
load() {
  f=/lib/modules/$1
  shift
  insmod "$f" "$@" 2>/dev/null || grep -q "^$(basename "$f" .ko | tr - _) " /proc/modules || echo "sqsh-boot: could not load $f"
}
${loads}

init=/sbin/init
root=
rootfstype=
sqsh_layers=
sqsh_layerdev=
sqsh_layerdir=/tmproot
sqsh_layerdir_rel=
sqshfstype=
ram_layer=
overlayflags=
for o in $(cat /proc/cmdline); do
  case "$o" in
    init=*) init=\${o#init=} ;;
    root=*) root=\${o#root=} ;;
    rootfstype=*) rootfstype=\${o#rootfstype=} ;;
    sqsh_layers=*) sqsh_layers=\${o#sqsh_layers=} ;;
    sqsh_layerdev=*) sqsh_layerdev=\${o#sqsh_layerdev=}; sqsh_layerdir="$sqsh_layerdir /sqsh_layerdev" ;;
    sqsh_layerdir=*) sqsh_layerdir_rel=\${o#sqsh_layerdir=} ;;
    sqshfstype=*) sqshfstype=\${o#sqshfstype=} ;;
    ram_layer=*) ram_layer=\${o#ram_layer=} ;;
    overlayflags=*) overlayflags=\${o#overlayflags=} ;;
  esac
done
if [ -n "$sqsh_layerdir_rel" ]; then
  tmp=
  for x in $sqsh_layerdir; do tmp="$tmp $x/$sqsh_layerdir_rel"; done
  sqsh_layerdir=$tmp
fi

# A device by name, UUID= or LABEL=, waited for (virtio disks appear a moment after the modules load).
device() {
  i=0
  while [ $i -lt 100 ]; do
    case "$1" in
      UUID=*|LABEL=*) d=$(findfs "$1" 2>/dev/null) && [ -b "$d" ] && { echo "$d"; return 0; } ;;
      *) [ -b "$1" ] && { echo "$1"; return 0; } ;;
    esac
    sleep 0.1
    i=$((i + 1))
  done
  return 1
}

lookup_layer() {
  for path in $sqsh_layerdir; do
    if [ -e "$path/$1.sqsh" ]; then echo "$path/$1.sqsh"; return 0; fi
  done
  return 1
}

[ -n "$root" ] || fail "no root= on the kernel command line"
rootdev=$(device "$root") || fail "root device $root did not appear"
mkdir -p /sysroot
mount \${rootfstype:+-t "$rootfstype"} -o ro "$rootdev" /sysroot || fail "cannot mount the root device $root"
if [ -n "$sqsh_layerdev" ]; then
  layerdev=$(device "$sqsh_layerdev") || fail "layer device $sqsh_layerdev did not appear"
  mkdir -p /sqsh_layerdev
  mount \${sqshfstype:+-t "$sqshfstype"} -o ro "$layerdev" /sqsh_layerdev || fail "cannot mount the layer device $sqsh_layerdev"
fi

if [ -n "$sqsh_layers" ]; then
  mkdir -p /tmproot
  mount --move /sysroot /tmproot
  mkdir -p /sysroot
  for x in $(echo "$sqsh_layers" | tr : ' '); do
    f=$(lookup_layer "$x") || fail "layer $x not found: no $x.sqsh in$sqsh_layerdir"
    loopdev=$(losetup -f) || fail "no free loop device for layer $x"
    losetup -r "$loopdev" "$f" || fail "cannot attach $f to $loopdev"
    ln -s "$loopdev" "/dev/sqsh_layer-$x"
    mkdir -p "/sqsh_layer-$x"
    mount -t squashfs -o ro "/dev/sqsh_layer-$x" "/sqsh_layer-$x" || fail "cannot mount layer $x ($f): not a squashfs image?"
  done
  if [ -n "$ram_layer" ]; then
    mkdir -p /upper
    mount -t tmpfs -o "size=$ram_layer" ram_layer /upper || fail "cannot make a ram_layer of size $ram_layer"
    mkdir -p /upper/upper /upper/work /sqsh_layer-upper
    # The root device's retentive upper, read-only, as the top lower (an empty one when it has none).
    if [ -d /tmproot/upper/upper ]; then mount -o ro,bind /tmproot/upper/upper /sqsh_layer-upper; fi
    sqsh_layers=upper:$sqsh_layers
    upper=/upper
  else
    mount -o remount,rw /tmproot || fail "cannot remount the root device read-write for the upper"
    mkdir -p /tmproot/upper/upper /tmproot/upper/work
    upper=/tmproot/upper
  fi
  lower=$(echo "$sqsh_layers" | sed 's#^#/sqsh_layer-#; s#:#:/sqsh_layer-#g')
  opts=lowerdir=$lower,upperdir=$upper/upper,workdir=$upper/work
  [ -n "$overlayflags" ] && opts=$overlayflags,$opts
  mount -t overlay -o "$opts" rootfs /sysroot || fail "the root overlay mount failed: -o $opts"
  for x in $(echo "$sqsh_layers" | tr : ' '); do
    mkdir -p "/sysroot/mnt/sqsh_layer-$x"
    mount --move "/sqsh_layer-$x" "/sysroot/mnt/sqsh_layer-$x"
  done
  if [ -n "$ram_layer" ]; then mkdir -p /sysroot/mnt/upper; mount --move /upper /sysroot/mnt/upper; fi
  mkdir -p /sysroot/mnt/root-true
  mount --move /tmproot /sysroot/mnt/root-true
fi
if [ -d /sqsh_layerdev ] && grep -q ' /sqsh_layerdev ' /proc/mounts; then
  mkdir -p /sysroot/mnt/sqsh_layerdev
  mount --move /sqsh_layerdev /sysroot/mnt/sqsh_layerdev
fi

# The root's init, resolved inside the root (an absolute symlink means the root's own path).
B=${BOOT_DIR}/busybox
init_of() {
  [ -n "$(ls -A /sysroot 2>/dev/null)" ] || return 1
  mkdir -p /sysroot${BOOT_DIR}
  cp -a ${BOOT_DIR}/. /sysroot${BOOT_DIR}/ || return 1
  chroot /sysroot $B test -x "$init" || return 1
  chroot /sysroot $B readlink -f "$init"
}
resolved=$(init_of) || resolved=
for d in dev proc sys; do
  mkdir -p /sysroot/$d 2>/dev/null
  mount --move /$d /sysroot/$d 2>/dev/null || umount -l /$d
done
${o.checks !== undefined
        ? `case "$resolved" in
  */systemd)
    say init systemd
    mkdir -p /sysroot/etc/systemd/system/multi-user.target.wants
    cp ${BOOT_DIR}/sqsh-boot-checks.service /sysroot/etc/systemd/system/
    ln -sf ../sqsh-boot-checks.service /sysroot/etc/systemd/system/multi-user.target.wants/sqsh-boot-checks.service
    exec switch_root /sysroot "$init"
    ;;
esac
# No systemd to start them as a unit: the checks run as the first process of the root.
[ -n "$resolved" ] || [ ${o.checks} -gt 0 ] || fail "no init: $init is not an executable in the stack, and it has no checks to run instead"
say init "\${resolved:-none}"
[ -x /sysroot$B ] || fail "the root is empty or its upper is not writable: nothing to run the checks in"
exec switch_root /sysroot $B sh ${BOOT_DIR}/run-checks pid1`
        : `[ -n "$resolved" ] || fail "no init: $init is not an executable in the stack"
say init "$resolved"
exec switch_root /sysroot "$init"`}
`;
}
/**
 * The check runner, run by the initramfs's busybox inside the booted root: each check with the
 * root's own /bin/sh, its output's tail in base64 lines, then the machine powered off.
 */
export function runChecksScript(o) {
    return `#!${BOOT_DIR}/busybox sh
# sqsh-layers boot checks (see boot/init-script.ts).
B=${BOOT_DIR}/busybox
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
say() { echo "@@${o.nonce} $*"; }
if [ "$1" = pid1 ]; then
  $B mount -t proc proc /proc 2>/dev/null
  $B mount -t tmpfs tmpfs /tmp 2>/dev/null
  $B mount -t tmpfs tmpfs /run 2>/dev/null
fi
say ready
i=1
while [ $i -le ${o.count} ]; do
  say begin $i
  /bin/sh -c "$($B cat ${BOOT_DIR}/checks/$i)" >${BOOT_DIR}/out 2>&1 </dev/null
  status=$?
  $B tail -c 3000 ${BOOT_DIR}/out | $B base64 | while read -r line; do say out $i "$line"; done
  say end $i $status
  i=$((i + 1))
done
say done
$B sync
if [ "$1" = pid1 ]; then $B poweroff -f; fi
systemctl --no-block --force poweroff || $B poweroff -f
`;
}
/** The systemd unit that runs the checks once the system is up (multi-user.target reached). */
export function checksUnit() {
    return `[Unit]
Description=sqsh-layers boot checks
After=multi-user.target

[Service]
Type=oneshot
ExecStart=${BOOT_DIR}/busybox sh ${BOOT_DIR}/run-checks systemd
StandardInput=null
StandardOutput=tty
StandardError=tty
TTYPath=/dev/console
TTYReset=no
TTYVHangup=no
`;
}
//# sourceMappingURL=init-script.js.map
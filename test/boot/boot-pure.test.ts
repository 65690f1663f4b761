// The pure parts of layerdev and boot: sizes and names, the module order from modules.dep,
// the Debian kernel package, qemu's command line, and the console protocol; and the choice of
// KVM or TCG, against a stand-in qemu.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConsoleLog } from '../../src/boot/console.js';
import { uuidOf } from '../../src/boot/ext4-image.js';
import { checksUnit, initScript, runChecksScript } from '../../src/boot/init-script.js';
import { kernelPackageOf } from '../../src/boot/kernel.js';
import { checkLayerdir, defaultImageBytes, minimumImageBytes, parseSize } from '../../src/boot/layerdev.js';
import { BOOT_MODULES, moduleName, modulesToLoad, parseModuleTables } from '../../src/boot/modules.js';
import { chooseAccel, qemuArgv } from '../../src/boot/qemu.js';
import { failureOf } from '../../src/failure.js';
import { Runner } from '../../src/process/run.js';

const MIB = 1024 * 1024;

function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    const f = failureOf(e);
    return `${f.reason}: ${(f as { message?: string }).message}`;
  }
  throw new Error('expected a failure');
}

describe('layerdev sizes and names', () => {
  it('parses sizes in powers of 1024', () => {
    expect(parseSize('512M', '--size')).toBe(512 * MIB);
    expect(parseSize('2G', '--size')).toBe(2048 * MIB);
    expect(parseSize('1.5g', '--size')).toBe(1536 * MIB);
    expect(parseSize('4096', '--size')).toBe(4096);
    expect(parseSize('10MiB', '--size')).toBe(10 * MIB);
    expect(thrown(() => parseSize('lots', '--size'))).toBe('usage: --size must be a size such as 512M or 2G, found "lots"');
    expect(thrown(() => parseSize('-1G', '--memory'))).toBe('usage: --memory must be a size such as 512M or 2G, found "-1G"');
  });

  it('sizes an image from its files: blocks, a few percent of metadata, the journal', () => {
    expect(minimumImageBytes([])).toBe(20 * MIB);
    expect(minimumImageBytes([1])).toBe(21 * MIB); // one 4 KiB block, rounded up to MiB
    expect(minimumImageBytes([100 * MIB, 50 * MIB])).toBe(Math.ceil((150 * 1.04 + 32) ) * MIB);
    expect(defaultImageBytes([100 * MIB])).toBeGreaterThan(minimumImageBytes([100 * MIB]));
    expect(defaultImageBytes([100 * MIB]) % MIB).toBe(0);
  });

  it('takes a layer dir the command line and the initramfs shell can carry', () => {
    expect(checkLayerdir('layers')).toBe('layers');
    expect(checkLayerdir('sets/web/')).toBe('sets/web');
    expect(thrown(() => checkLayerdir('/layers'))).toBe('usage: --layerdir is relative to the root of the device, found "/layers"');
    for (const bad of ['../x', 'a/../b', 'my layers', 'a;b', 'a$b', 'é']) {
      expect(thrown(() => checkLayerdir(bad))).toMatch(/^usage: --layerdir ".*": use letters, digits/);
    }
    expect(thrown(() => checkLayerdir('.'))).toBe('usage: --layerdir must name a directory; leave it out for the image root');
  });

  it('gives the same UUID for the same seed, a version 4 UUID', () => {
    expect(uuidOf('a')).toBe(uuidOf('a'));
    expect(uuidOf('a')).not.toBe(uuidOf('b'));
    expect(uuidOf('a')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('boot modules', () => {
  const dep = [
    'kernel/fs/squashfs/squashfs.ko.xz:',
    'kernel/fs/overlayfs/overlay.ko.xz:',
    'kernel/drivers/block/loop.ko.xz:',
    'kernel/drivers/block/virtio_blk.ko.xz: kernel/drivers/virtio/virtio.ko.xz kernel/drivers/virtio/virtio_ring.ko.xz',
    'kernel/drivers/virtio/virtio_pci.ko.xz: kernel/drivers/virtio/virtio_pci_legacy_dev.ko.xz kernel/drivers/virtio/virtio_pci_modern_dev.ko.xz kernel/drivers/virtio/virtio.ko.xz kernel/drivers/virtio/virtio_ring.ko.xz',
    'kernel/drivers/virtio/virtio.ko.xz:',
    'kernel/drivers/virtio/virtio_ring.ko.xz:',
    'kernel/drivers/virtio/virtio_pci_legacy_dev.ko.xz:',
    'kernel/drivers/virtio/virtio_pci_modern_dev.ko.xz:',
    'kernel/fs/ext4/ext4.ko.xz: kernel/lib/crc16.ko.xz kernel/fs/mbcache.ko.xz kernel/fs/jbd2/jbd2.ko.xz',
    'kernel/lib/crc16.ko.xz:',
    'kernel/fs/mbcache.ko.xz:',
    'kernel/fs/jbd2/jbd2.ko.xz:',
    'kernel/crypto/crc32c_generic.ko.xz:',
    '',
  ].join('\n');

  it('names modules as the kernel does', () => {
    expect(moduleName('kernel/drivers/block/virtio_blk.ko')).toBe('virtio_blk');
    expect(moduleName('kernel/crypto/crc32c-generic.ko.zst')).toBe('crc32c_generic');
  });

  it('loads dependencies first, each once, with the wanted modules\' parameters', () => {
    const { load, missing } = modulesToLoad(parseModuleTables(dep, ''), BOOT_MODULES);
    expect(missing).toEqual([]);
    expect(load.map((m) => `${moduleName(m.file)}${m.params ? ` ${m.params}` : ''}`)).toEqual([
      'loop max_loop=16',
      'squashfs',
      'overlay',
      'virtio_pci_legacy_dev',
      'virtio_pci_modern_dev',
      'virtio',
      'virtio_ring',
      'virtio_pci',
      'virtio_blk',
      'crc32c_generic',
      'crc16',
      'mbcache',
      'jbd2',
      'ext4',
    ]);
  });

  it('loads nothing for built-in drivers, and names what the kernel lacks', () => {
    const builtin = 'kernel/fs/squashfs/squashfs.ko\nkernel/fs/overlayfs/overlay.ko\nkernel/drivers/block/loop.ko\nkernel/fs/ext4/ext4.ko\n';
    const onlyVirtio = dep.split('\n').filter((l) => l.includes('virtio')).join('\n');
    const { load, missing } = modulesToLoad(parseModuleTables(onlyVirtio, builtin), BOOT_MODULES);
    expect(missing).toEqual([]);
    expect(load.map((m) => moduleName(m.file))).toEqual(['virtio_pci_legacy_dev', 'virtio_pci_modern_dev', 'virtio', 'virtio_ring', 'virtio_pci', 'virtio_blk']);
    expect(modulesToLoad(parseModuleTables(onlyVirtio, ''), BOOT_MODULES).missing).toEqual(['loop', 'squashfs', 'overlay', 'ext4']);
  });
});

describe('the Debian kernel package', () => {
  it('is the dependency of linux-image-amd64 with its exact version', () => {
    const show = 'Package: linux-image-amd64\nVersion: 6.1.192-3\nDepends: linux-image-6.1.0-57-amd64 (= 6.1.192-3)\nDescription: Linux for 64-bit PCs (meta-package)\n';
    expect(kernelPackageOf(show)).toEqual({ pkg: 'linux-image-6.1.0-57-amd64', version: '6.1.192-3' });
    expect(kernelPackageOf('Depends: linux-image-6.12.48+deb13-amd64 (= 6.12.48-1)\n')).toEqual({ pkg: 'linux-image-6.12.48+deb13-amd64', version: '6.12.48-1' });
    expect(kernelPackageOf('N: Unable to locate package linux-image-amd64\n')).toBeUndefined();
  });
});

describe('qemu', () => {
  const spec = {
    kernel: '/k',
    initrd: '/i',
    append: 'console=ttyS0 root=/dev/vda',
    disks: [
      { file: '/root.img', readonly: false },
      { file: '/layers.img', readonly: true },
    ],
    memoryMiB: 1024,
    pidfile: '/q.pid',
  };

  it('boots the kernel with the disks as virtio (root first, layers read-only) and the console on stdio', () => {
    expect(qemuArgv({ ...spec, accel: 'tcg', interactive: false }).join(' ')).toBe(
      'qemu-system-x86_64 -name sqsh-layers-boot -machine q35,accel=tcg -m 1024 -smp 1 -nodefaults -no-user-config -display none -no-reboot ' +
        '-kernel /k -initrd /i -append console=ttyS0 root=/dev/vda ' +
        '-drive file=/root.img,if=virtio,format=raw,cache=unsafe -drive file=/layers.img,if=virtio,format=raw,cache=unsafe,readonly=on ' +
        '-chardev stdio,id=console,signal=off -serial chardev:console -pidfile /q.pid',
    );
    const kvm = qemuArgv({ ...spec, accel: 'kvm', interactive: true });
    expect(kvm).toEqual(expect.arrayContaining(['q35,accel=kvm', '-cpu', 'host', 'mon:stdio']));
  });
});

describe('the console protocol', () => {
  const OUT = Buffer.from("cat: can't open '/nope'\n").toString('base64');
  const checks = [
    { layer: 'base', command: 'true' },
    { layer: 'app', command: 'cat /nope' },
  ];

  it('collects results among other output, with the host clock, and keeps a readable tail', () => {
    const log = new ConsoleLog('n0nce', checks, 1000);
    const lines: [string, number][] = [
      ['[    1.0] Linux version 6.1', 1100],
      ['@@n0nce init systemd', 2000],
      ['[  OK  ] Reached target multi-user.target', 2500],
      ['@@n0nce ready', 5000],
      ['@@n0nce begin 1', 5000],
      ['@@n0nce end 1 0', 5200],
      ['@@n0nce begin 2', 5200],
      // An interleaved systemd line before the marker; the output as base64 wrapped in two lines.
      [`[  OK  ] Started x.@@n0nce out 2 ${OUT.slice(0, 16)}`, 5300],
      [`@@n0nce out 2 ${OUT.slice(16)}`, 5300],
      ['@@n0nce end 2 1', 5500],
      ['@@other ready', 5500],
      ['@@n0nce done', 5600],
    ];
    for (const [l, t] of lines) log.line(l, t);
    expect(log.init).toBe('systemd');
    expect(log.bootSeconds).toBe(4);
    expect(log.done).toBe(true);
    expect(log.fatal).toBeUndefined();
    expect(log.results).toEqual([
      { index: 1, layer: 'base', command: 'true', exitCode: 0, seconds: 0.2, output: '' },
      { index: 2, layer: 'app', command: 'cat /nope', exitCode: 1, seconds: 0.3, output: "cat: can't open '/nope'\n" },
    ]);
    expect(log.lastLines()).toEqual([
      '[    1.0] Linux version 6.1',
      'sqsh-boot: init systemd',
      '[  OK  ] Reached target multi-user.target',
      'sqsh-boot: up after 4.0 s, running 2 check(s)',
      'sqsh-boot: check 1 started: true',
      'sqsh-boot: check 1 ended with exit code 0',
      'sqsh-boot: check 2 started: cat /nope',
      '[  OK  ] Started x.',
      'sqsh-boot: check 2 ended with exit code 1',
      '@@other ready',
    ]);
  });

  it('remembers why the initramfs gave up, and which check was running', () => {
    const log = new ConsoleLog('n', checks, 0);
    log.line('@@n fail layer app not found: no app.sqsh in /tmproot /sqsh_layerdev', 10);
    expect(log.fatal).toBe('layer app not found: no app.sqsh in /tmproot /sqsh_layerdev');
    const hung = new ConsoleLog('n', checks, 0);
    hung.line('@@n begin 2', 10);
    expect(hung.running).toBe(2);
    expect(hung.done).toBe(false);
  });

  it('makes the control characters of a check\'s output visible: a hostile stack cannot drive the terminal', () => {
    const log = new ConsoleLog('n', checks, 0);
    const evil = Buffer.from('hi\x1b]0;pwned\x07\x1b[2J\r\nthere\n').toString('base64');
    for (const l of ['@@n begin 1', `@@n out 1 ${evil}`, '@@n end 1 0']) log.line(l, 1);
    expect(log.results[0]!.output).toBe('hi\\x1b]0;pwned\\x07\\x1b[2J\\x0d\nthere\n');
  });

  it('strips the colours of systemd status lines from the tail', () => {
    const log = new ConsoleLog('n', [], 0);
    log.line('[\\x1b[0;32m  OK  \\x1b[0m] Started \\x1b[0;1;39mnginx.service\\x1b[0m.', 1);
    expect(log.lastLines()).toEqual(['[  OK  ] Started nginx.service.']);
  });
});

describe('the initramfs scripts', () => {
  it('loads the modules, parses RuckusRD\'s parameters and mounts where linuxrc does', () => {
    const init = initScript({ nonce: 'abc', modules: [{ file: 'loop.ko', params: 'max_loop=16' }, { file: 'squashfs.ko', params: '' }], checks: 2 });
    expect(init).toMatch(/^#!\/bin\/busybox sh\n/);
    expect(init).toContain("load 'loop.ko' max_loop=16\nload 'squashfs.ko'\n");
    for (const p of ['sqsh_layers', 'sqsh_layerdev', 'sqsh_layerdir', 'sqshfstype', 'ram_layer', 'overlayflags', 'root', 'init']) {
      expect(init).toContain(`    ${p}=*) `);
    }
    expect(init).toContain('mount -t overlay -o "$opts" rootfs /sysroot');
    expect(init).toContain('mount --move /tmproot /sysroot/mnt/root-true');
    expect(init).toContain('exec switch_root /sysroot $B sh /.sqsh-boot/run-checks pid1');
    expect(init).toContain('[ -n "$resolved" ] || [ 2 -gt 0 ] || fail');
    // No checks at all: still the check runner (init or not), which fails without an init.
    expect(initScript({ nonce: 'abc', modules: [], checks: 0 })).toContain('[ -n "$resolved" ] || [ 0 -gt 0 ] || fail "no init: ');
    const console = initScript({ nonce: 'abc', modules: [], checks: undefined });
    expect(console).not.toContain('run-checks');
    expect(console).toContain('exec switch_root /sysroot "$init"');
  });

  it('runs each check with the root\'s shell and reports on the console; the unit runs after multi-user.target', () => {
    const run = runChecksScript({ nonce: 'abc', count: 3 });
    expect(run).toContain('while [ $i -le 3 ]; do');
    expect(run).toContain('/bin/sh -c "$($B cat /.sqsh-boot/checks/$i)"');
    expect(checksUnit()).toContain('After=multi-user.target');
    expect(checksUnit()).toContain('ExecStart=/.sqsh-boot/busybox sh /.sqsh-boot/run-checks systemd');
  });
});

describe('KVM or TCG', () => {
  // A qemu-system-x86_64 of the test's own on PATH: `-machine none` starts; a VM writes its
  // pidfile and then, by FAKE_QEMU: prints the kernel's first message and waits to be killed
  // (a working KVM), prints only the real-mode setup's line and hangs (a host whose KVM does
  // not run guests), or fails.
  const FAKE = `#!/bin/sh
case " $* " in *" -machine none "*) cat >/dev/null; exit 0;; esac
while [ $# -gt 0 ]; do [ "$1" = -pidfile ] && echo $$ > "$2"; shift; done
echo "Probing EDD (edd=off to disable)... ok"
case "$FAKE_QEMU" in
  works) echo "[    0.000000] Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org)"; exec sleep 60;;
  hangs) exec sleep 60;;
  quiet) exit 0;;
  fails) echo "KVM internal error. Suberror: 1" >&2; exit 1;;
esac
`;
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function choose(mode: string, device?: string, timeoutMs = 3000): Promise<{ accel: string; notes: string[]; ms: number }> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sqsh-layers-test-accel-'));
    dirs.push(dir);
    writeFileSync(path.join(dir, 'qemu-system-x86_64'), FAKE, { mode: 0o755 });
    writeFileSync(path.join(dir, 'kvm'), '');
    const env = { PATH: `${dir}:${process.env.PATH ?? '/usr/bin:/bin'}`, FAKE_QEMU: mode };
    const runner = new Runner({ log: { verbose: () => {}, info: () => {} }, dryRun: false, signal: new AbortController().signal, env });
    const notes: string[] = [];
    const started = Date.now();
    const accel = await chooseAccel(runner, (n) => notes.push(n), { kernel: 'vmlinuz', initrd: 'initrd', pidfile: path.join(dir, 'probe.pid'), device: device ?? path.join(dir, 'kvm'), timeoutMs });
    return { accel, notes, ms: Date.now() - started };
  }

  it('uses KVM once a guest kernel prints on it, killing that VM at once', async () => {
    const r = await choose('works', undefined, 60_000);
    expect(r).toMatchObject({ accel: 'kvm', notes: [] });
    expect(r.ms).toBeLessThan(30_000); // not the probe's deadline: killed at the message
  });

  it('falls back to TCG when the guest hangs, ends silently or fails, and without /dev/kvm', async () => {
    expect(await choose('hangs')).toMatchObject({
      accel: 'tcg',
      notes: ["qemu starts with KVM, but a guest kernel on it printed nothing within 3 s (this host's KVM does not run guests): TCG instead"],
    });
    expect(await choose('quiet')).toMatchObject({ accel: 'tcg', notes: ['qemu starts with KVM, but a guest kernel on it ended without printing anything: TCG instead'] });
    const failed = await choose('fails');
    expect(failed.accel).toBe('tcg');
    expect(failed.notes).toEqual([expect.stringMatching(/^qemu starts with KVM, but a guest on it failed \(.*KVM internal error.*\): TCG instead$/)]);
    expect(await choose('works', '/nonexistent/kvm')).toMatchObject({ accel: 'tcg', notes: ['no /dev/kvm: the VM runs under TCG (emulation, much slower than KVM)'] });
  });
});

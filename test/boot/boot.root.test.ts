// `boot`: small busybox stacks booted for real in qemu (TCG when there is no KVM) through the
// tool's initramfs, with the kernel the tool finds (Debian's, fetched once into a cache the
// tests share). The checks run inside the booted system; their results, a failing check, a
// stack that cannot boot, a hung check past --timeout, SIGTERM and SIGKILL are seen from
// outside, and nothing is left: no qemu process, no mount, no loop device, no run dir, no temp file.

import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execCli, exitOf, spawnCli, tempDir, writeFiles } from '../support/project.js';
import { busyboxTree, stateEnv } from '../support/rootfs.js';
import { descendantsNamed, isRunning, leftoverCheckedDirs, tempFilesIn, waitFor } from '../support/leftovers.js';

const testDir = leftoverCheckedDirs();
// One cache for the file: the kernel is fetched (or found) once.
const cache = tempDir('boot-cache');
afterAll(() => rmSync(cache, { recursive: true, force: true }));

/** base: busybox and /etc/hostname; app over it: a file, and base's /bin/ls deleted. */
async function project(dir: string, checks: { base?: string[]; app?: string[] }): Promise<void> {
  await busyboxTree(path.join(dir, 'rootfs'));
  const list = (c: string[] | undefined) => (c && c.length ? `checks:\n${c.map((x) => `  - ${JSON.stringify(x)}\n`).join('')}` : '');
  await writeFiles(dir, {
    'rootfs/etc/hostname': 'box\n',
    'recipes/base.yaml': `steps:\n  - copy: rootfs/\n${list(checks.base)}`,
    'recipes/app.yaml': `parent: base\nsteps:\n  - copy: files/app.txt\n    to: /srv/\n  - remove: [/bin/ls]\n${list(checks.app)}`,
    'files/app.txt': 'app\n',
  });
}

/** The Debian kernel in the shared cache, once a boot has fetched it. */
function cachedKernel(): { image: string; modules: string } | undefined {
  const kernels = path.join(cache, 'kernels');
  const dir = existsSync(kernels) ? readdirSync(kernels).find((d) => d.startsWith('linux-image-')) : undefined;
  if (dir === undefined) return undefined;
  const release = dir.slice('linux-image-'.length, dir.indexOf('_'));
  return { image: path.join(kernels, dir, 'boot', `vmlinuz-${release}`), modules: path.join(kernels, dir, 'lib/modules', release) };
}

function nothingLeft(dir: string): void {
  expect(readdirSync(path.join(dir, 'run-sqsh-layers')), 'run dirs').toEqual([]);
  expect(tempFilesIn(path.join(dir, '.sqsh-cache')), 'temp files').toEqual([]);
  expect(tempFilesIn(cache), 'temp files in the cache').toEqual([]);
}

interface BootJson {
  ok: boolean;
  stack: string[];
  init: string;
  accel: string;
  bootSeconds: number;
  cmdline: string;
  checks: { layer: string; command: string; exitCode: number; seconds: number; output: string }[];
}

describe('boot', () => {
  it('boots a busybox stack, runs every layer\'s checks inside it, base first, and reports them', async () => {
    const dir = testDir('boot-ok');
    await project(dir, {
      base: ['grep -qx box /etc/hostname', 'echo "layers: $(ls /mnt | tr "\\n" " ")"'],
      app: [
        'test "$(cat /srv/app.txt)" = app && test ! -e /bin/ls',
        // RuckusRD's places: the root device with the upper, each layer, the layer device.
        'test -d /mnt/root-true/upper/upper && test -f /mnt/sqsh_layer-app/srv/app.txt && test -f /mnt/sqsh_layerdev/base.sqsh',
        'grep " / overlay " /proc/mounts',
      ],
    });
    const r = await execCli(['-C', dir, '--cache', cache, '--json', 'boot', 'app', '--timeout', '600'], { env: stateEnv(dir) });
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as BootJson;
    expect(j.ok).toBe(true);
    expect(j.stack).toEqual(['app', 'base']);
    expect(j.init).toBe('none'); // busybox has no /sbin/init here: the checks ran as the first process
    expect(j.cmdline).toContain('root=/dev/vda sqsh_layerdev=/dev/vdb sqsh_layers=app:base');
    expect(j.checks.map((c) => [c.layer, c.exitCode])).toEqual([
      ['base', 0],
      ['base', 0],
      ['app', 0],
      ['app', 0],
      ['app', 0],
    ]);
    expect(j.checks[1]!.output).toBe('layers: root-true sqsh_layer-app sqsh_layer-base sqsh_layerdev \n');
    expect(j.checks[4]!.output).toMatch(/^rootfs \/ overlay ro?.*lowerdir=\/sqsh_layer-app:\/sqsh_layer-base,upperdir=\/tmproot\/upper\/upper/m);
    expect(j.bootSeconds).toBeGreaterThan(0);
    for (const c of j.checks) expect(c.seconds).toBeGreaterThanOrEqual(0);
    nothingLeft(dir);
  }, 900_000);

  it('names a failing check with its output and exits 1; with --ram-layer the upper is a tmpfs', async () => {
    const dir = testDir('boot-fail');
    await project(dir, {
      base: ['grep " /mnt/upper " /proc/mounts && test -d /mnt/sqsh_layer-upper'],
      // The escape sequences (a terminal title, a screen clear) are shown, not obeyed.
      app: ['echo looking for the config; printf "\\033]0;pwned\\007\\033[2J"; cat /etc/app.conf', 'true'],
    });
    const r = await execCli(['-C', dir, '--cache', cache, 'boot', 'app', '--ram-layer', '64M'], { env: stateEnv(dir) });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^booted app in [0-9.]+ s \(init: none, (TCG|KVM)\)$/m);
    expect(r.stdout).toMatch(/^ {2}ok {4}base: grep .*\(\d+\.\d s\)$/m);
    expect(r.stdout).toMatch(/^ {2}FAIL {2}app: echo looking for the config; printf .*; cat \/etc\/app\.conf {2}\(\d+\.\d s, exit code 1\)$/m);
    expect(r.stdout).toContain('2 of 3 check(s) passed');
    expect(r.stderr).toMatch(/^sqsh-layers: error: check "echo looking for the config; printf .*; cat \/etc\/app\.conf" of layer app failed with exit code 1 in the booted system$/m);
    expect(r.stderr).toContain("  | looking for the config\n  | \\x1b]0;pwned\\x07\\x1b[2Jcat: can't open '/etc/app.conf': No such file or directory\n");
    expect(r.stderr).not.toContain('\x1b');
    nothingLeft(dir);
  }, 900_000);

  it('gives exit 1 and the console tail for a stack with no init and no checks', async () => {
    const dir = testDir('boot-noinit');
    await project(dir, {});
    // The kernel given with --kernel and --modules: the one an earlier test put in the cache.
    const k = cachedKernel();
    const started = Date.now();
    const r = await execCli(['-C', dir, '--cache', cache, 'boot', 'app', '--timeout', '300', ...(k ? ['--kernel', k.image, '--modules', k.modules] : [])], {
      env: stateEnv(dir),
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain("sqsh-layers: error: the VM's initramfs gave up: no init: /sbin/init is not an executable in the stack, and it has no checks to run instead");
    expect(r.stderr).toMatch(/^ {2}\| sqsh-boot: no init: /m);
    expect(r.stderr).toMatch(/booting app \(.*\): root=\/dev\/vda sqsh_layerdev=\/dev\/vdb sqsh_layers=app:base$/m);
    if (k) expect(r.stderr).toContain(`booting app (${k.image}, `);
    expect(Date.now() - started).toBeLessThan(300_000);
    nothingLeft(dir);
  }, 900_000);

  it('kills a VM whose check hangs at --timeout: exit 1 naming the check, the console tail, no qemu left', async () => {
    const dir = testDir('boot-hang');
    await project(dir, { app: ['echo about to hang; sleep 100000'] });
    const r = await execCli(['-C', dir, '--cache', cache, 'boot', 'app', '--timeout', '90'], { env: stateEnv(dir) });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('sqsh-layers: error: check "echo about to hang; sleep 100000" (layer app) did not finish within --timeout 90s; the VM was killed');
    expect(r.stderr).toMatch(/^ {2}\| sqsh-boot: check 1 started: echo about to hang; sleep 100000$/m);
    nothingLeft(dir);
  }, 900_000);

  it('stops qemu and cleans up on SIGTERM: exit 143', async () => {
    const dir = testDir('boot-term');
    await project(dir, { app: ['sleep 100000'] });
    const child = spawnCli(['-C', dir, '--cache', cache, 'boot', 'app', '--timeout', '600'], { env: stateEnv(dir) });
    const qemu = await waitFor('qemu to start', () => descendantsNamed(child.pid!, 'qemu-system-x86')[0], 600_000);
    // Let it get into the boot (the initramfs mounting the stack).
    await new Promise((r) => setTimeout(r, 3000));
    child.kill('SIGTERM');
    expect(await exitOf(child), child.output()).toBe(143);
    expect(child.output()).toContain('interrupted by SIGTERM; cleaned up');
    await waitFor('qemu to be gone', () => !isRunning(qemu), 10_000);
    nothingLeft(dir);
  }, 900_000);

  it('gives the serial console to the user with --console: the root\'s own init, a shell, poweroff', async () => {
    const dir = testDir('boot-console');
    await project(dir, { app: ['false'] }); // --console runs no check
    // busybox's init (no inittab: a shell on the console after Enter), as /sbin/init of app.
    await writeFiles(dir, {
      'recipes/app.yaml': 'parent: base\nsteps:\n  - copy: files/app.txt\n    to: /srv/\n  - host: hooks/init.sh\nchecks:\n  - "false"\n',
      'hooks/init.sh': { text: '#!/bin/sh\nmkdir -p sbin && ln -s ../bin/busybox sbin/init\n', mode: 0o755 },
    });
    const child = spawnCli(['-C', dir, '--cache', cache, 'boot', 'app', '--console', '--timeout', '5'], { env: stateEnv(dir) });
    await waitFor('the console prompt', () => child.output().includes('Please press Enter to activate this console'), 600_000);
    child.stdin!.write('\n');
    await new Promise((r) => setTimeout(r, 2000));
    child.stdin!.write('echo console-$((6 * 7)) $(cat /srv/app.txt); /bin/busybox poweroff -f\n');
    // --timeout does not apply to a console with a person at it: it ends when the VM powers off.
    expect(await exitOf(child), child.output()).toBe(0);
    expect(child.output()).toContain('console-42 app');
    expect(child.output()).toMatch(/init \/bin\/busybox/);
    nothingLeft(dir);
  }, 900_000);

  it('leaves a qemu that the next run kills when the tool itself is killed (SIGKILL)', async () => {
    const dir = testDir('boot-kill');
    await project(dir, { app: ['sleep 100000'] });
    const child = spawnCli(['-C', dir, '--cache', cache, 'boot', 'app', '--timeout', '600'], { env: stateEnv(dir) });
    // The boot's VM (writing qemu.pid), not the one that first checks KVM runs guests (kvm-probe.pid).
    const bootVm = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((a) => a.endsWith('/qemu.pid'));
    const qemu = await waitFor('the boot VM to start', () => descendantsNamed(child.pid!, 'qemu-system-x86').find(bootVm), 600_000);
    // The run records each process it starts right after the start; on a loaded machine the
    // test can see qemu a moment before that.
    const stateRoot = stateEnv(dir).SQSH_LAYERS_RUN_DIR!;
    const recorded = () =>
      readdirSync(stateRoot).some((run) => {
        const file = path.join(stateRoot, run, 'children');
        return existsSync(file) && readFileSync(file, 'utf8').split('\n').some((l) => l.startsWith(`${qemu} `));
      });
    await waitFor('the run to record qemu', recorded, 10_000);
    child.kill('SIGKILL');
    await exitOf(child);
    try {
      expect(isRunning(qemu), 'qemu runs on without the tool').toBe(true);
      // The next run of the project finds the killed run's state and kills its qemu.
      const next = await execCli(['-C', dir, '--cache', cache, 'build'], { env: stateEnv(dir) });
      expect(next.code, next.stderr).toBe(0);
      expect(next.stderr).toMatch(/cleaned up after a run that was killed \(.*\): \d+ mount\(s\), 1 process group\(s\)/);
      await waitFor('qemu to be gone', () => !isRunning(qemu), 10_000);
      nothingLeft(dir);
    } finally {
      if (isRunning(qemu)) process.kill(qemu, 'SIGKILL'); // started by this test's CLI
    }
  }, 900_000);
});


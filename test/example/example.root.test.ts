// The example layer set (recipes/, hooks/, files/, sqsh-layers.yaml of the repository) built
// for real from inputs made by example/make-inputs.sh (debootstrap, a dump(8) image, a
// tarball), then stacked with a plain overlay as the initramfs does, and checked from inside:
// nginx accepts its configuration, the machine configuration, owners and modes are there,
// and each layer holds only its own delta. A second build must be a no-op. Then the set boots
// for real (`boot`, in qemu; TCG is fine) to systemd with nginx active, every check passing.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, promises as fs, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execCli, REPO, tempDir } from '../support/project.js';
import { mountStack, mountsBelow, stateEnv } from '../support/rootfs.js';

const LAYERS = ['config', 'extra', 'server', 'base']; // top to bottom
const MIB = 1024 * 1024;

const dir = tempDir('example');
const env = stateEnv(dir);

/** Loop devices whose backing file lies below `below` (a test must leave none). */
function loopsBelow(below: string): string[] {
  const out: string[] = [];
  for (const dev of readdirSync('/sys/block').filter((d) => d.startsWith('loop'))) {
    try {
      const backing = readFileSync(`/sys/block/${dev}/loop/backing_file`, 'utf8').trim();
      if (backing.startsWith(`${below}/`)) out.push(`/dev/${dev} (${backing})`);
    } catch {
      // not attached
    }
  }
  return out;
}

/** Runs argv inside the stacked root, read-only, with the few writable places nginx wants. */
function inStack(root: string, argv: string[]): { code: number | null; out: string } {
  const r = spawnSync(
    'bwrap',
    [
      '--ro-bind', root, '/',
      '--proc', '/proc', '--dev', '/dev',
      '--tmpfs', '/tmp', '--tmpfs', '/run', '--tmpfs', '/var/lib/nginx', '--tmpfs', '/var/log/nginx',
      '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-net', '--die-with-parent',
      '--setenv', 'PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      ...argv,
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** `unsquashfs -lln` of a layer: one "MODE UID/GID ... PATH" line per entry. */
function listing(sqsh: string): string[] {
  return execFileSync('unsquashfs', ['-lln', sqsh], { encoding: 'utf8', maxBuffer: 64 << 20 })
    .split('\n')
    .filter((l) => l.includes('squashfs-root'));
}

function modeOwner(p: string): string {
  const st = lstatSync(p);
  return `${(st.mode & 0o7777).toString(8).padStart(4, '0')} ${st.uid}:${st.gid}`;
}

afterAll(async () => {
  const mounts = mountsBelow(dir);
  const loops = loopsBelow(dir);
  // Whatever the outcome, leave nothing behind; then say if there was something to clean.
  for (const m of [...mounts].reverse()) spawnSync('umount', ['-l', m]);
  for (const l of loops) spawnSync('losetup', ['-d', l.split(' ')[0]!]);
  await fs.rm(dir, { recursive: true, force: true });
  expect(mounts, 'mounts left behind').toEqual([]);
  expect(loops, 'loop devices left behind').toEqual([]);
});

describe('the example layer set', () => {
  it('builds from fresh inputs and stacks into a working nginx system', async () => {
    for (const p of ['recipes', 'hooks', 'files', 'sqsh-layers.yaml']) {
      execFileSync('cp', ['-a', path.join(REPO, p), path.join(dir, p)]);
    }
    // The debootstrap tree is the slow, networked part: reuse the repository's when
    // `npm run example` already made it (base.dump is still made here, from scratch).
    const inputs = path.join(dir, 'inputs');
    await fs.mkdir(inputs);
    const tree = path.join(REPO, 'inputs/bookworm-minbase.tar.zst');
    if (existsSync(tree)) await fs.copyFile(tree, path.join(inputs, path.basename(tree)));

    const make = spawnSync('sh', [path.join(REPO, 'example/make-inputs.sh'), inputs], { encoding: 'utf8', timeout: 600_000 });
    expect(make.status, make.stderr).toBe(0);
    for (const f of ['base.dump', 'extra.tar.gz']) expect(statSync(path.join(inputs, f)).size).toBeGreaterThan(0);
    expect(readdirSync(inputs).filter((f) => f.startsWith('.') || f.endsWith('.tmp')), 'temp files of make-inputs').toEqual([]);
    expect(mountsBelow(dir)).toEqual([]);
    expect(loopsBelow(dir)).toEqual([]);

    const build = await execCli(['-C', dir, 'build'], { env });
    expect(build.code, `${build.stdout}${build.stderr}`).toBe(0);
    const cmdline = await execCli(['-C', dir, 'cmdline', 'config'], { env });
    expect(cmdline.stdout.trim()).toBe('sqsh_layers=config:extra:server:base');

    // Sizes: base is a whole system; server only what apt added to it; the rest is tiny.
    const sqsh = (l: string) => path.join(dir, 'layers', `${l}.sqsh`);
    const size = Object.fromEntries(LAYERS.map((l) => [l, statSync(sqsh(l)).size]));
    expect(size.base).toBeGreaterThan(20 * MIB);
    expect(size.base).toBeLessThan(150 * MIB);
    expect(size.server).toBeGreaterThan(1 * MIB);
    // nginx-light and systemd-sysv (to boot): about 12 MiB against base's 40.
    expect(size.server).toBeLessThan(size.base! / 2);
    expect(size.extra).toBeLessThan(64 * 1024);
    expect(size.config).toBeLessThan(64 * 1024);

    // Each layer holds its delta only, and nothing of the build machinery.
    const list = Object.fromEntries(LAYERS.map((l) => [l, listing(sqsh(l))]));
    for (const l of LAYERS) {
      const text = list[l]!.join('\n');
      expect(text, l).not.toMatch(/restoresymtable|\.sqsh-layers-host|\/usr\/sbin\/policy-rc\.d$|\/lost\+found$/m);
      expect(text, l).not.toMatch(/\/var\/log\/.*\.log$|\/var\/lib\/apt\/lists\/[^/]*_[^/]*$|\/var\/cache\/apt\/archives\/[^/]*\.deb$/m);
    }
    expect(list.server!.join('\n')).toMatch(/\/usr\/sbin\/nginx$/m);
    expect(list.server!.join('\n')).not.toMatch(/\/usr\/bin\/apt$|\/etc\/resolv\.conf$/m);
    expect(list.extra!.length).toBeLessThan(40);
    expect(list.config!.length).toBeLessThan(40);
    // Debian's default site is deleted by the config layer: a whiteout (char device 0/0).
    expect(list.config!.join('\n')).toMatch(/^c[-rwx]{9} 0\/0 +0, +0 .*\/etc\/nginx\/sites-enabled\/default$/m);

    const stack = mountStack(path.join(dir, 'mnt'), LAYERS.map(sqsh));
    try {
      const root = stack.root;
      const t = inStack(root, ['nginx', '-t']);
      expect(t.code, t.out).toBe(0);
      expect(t.out).toContain('test is successful');
      const dpkg = inStack(root, ['dpkg-query', '-W', '-f', '${Status}', 'nginx-light']);
      expect(dpkg.out).toBe('install ok installed');
      const tool = inStack(root, ['sitestat']);
      expect(tool.code, tool.out).toBe(0);
      expect(tool.out).toMatch(/\/srv\/www\/example: 4 files, \d+ bytes/);
      const owner = inStack(root, ['stat', '-c', '%U:%G', '/srv/www/example/index.html']);
      expect(owner.out.trim()).toBe('www-data:www-data');

      // config: the host hook's machine configuration and the copy with owner and mode.
      expect(readFileSync(path.join(root, 'etc/hostname'), 'utf8')).toBe('web01\n');
      expect(modeOwner(path.join(root, 'etc/hostname'))).toBe('0644 0:0');
      expect(readFileSync(path.join(root, 'etc/hosts'), 'utf8')).toContain('127.0.1.1\tweb01');
      expect(readFileSync(path.join(root, 'etc/motd'), 'utf8')).toContain('built from sources dated 2025-01-01');
      expect(existsSync(path.join(root, 'etc/nginx/sites-enabled/default'))).toBe(false);
      expect(readlinkSync(path.join(root, 'etc/nginx/sites-enabled/example'))).toBe('../sites-available/example');
      expect(readFileSync(path.join(root, 'etc/nginx/sites-available/example'), 'utf8')).toContain('root /srv/www/example;');
      expect(modeOwner(path.join(root, 'srv/www/example/robots.txt'))).toBe('0644 33:33');
      expect(modeOwner(path.join(root, 'srv/www/example/humans.txt'))).toBe('0644 33:33');

      // extra: owners and modes from the tarball, files from the repository.
      expect(modeOwner(path.join(root, 'srv/www/example'))).toBe('2775 33:33');
      expect(modeOwner(path.join(root, 'srv/www/example/assets'))).toBe('2775 33:33');
      expect(modeOwner(path.join(root, 'srv/www/example/index.html'))).toBe('0644 33:33');
      expect(modeOwner(path.join(root, 'usr/local/bin/sitestat'))).toBe('0750 0:50');
      expect(modeOwner(path.join(root, 'var/lib/sitestat'))).toBe('0700 33:33');
      expect(readFileSync(path.join(root, 'etc/sitestat.conf'), 'utf8')).toContain('root=/srv/www/example');
      expect(modeOwner(path.join(root, 'etc/sitestat.conf'))).toBe('0644 0:0');

      // base: a Debian 12 system without what the recipe removes.
      expect(readFileSync(path.join(root, 'etc/debian_version'), 'utf8')).toMatch(/^12\./);
      expect(existsSync(path.join(root, 'lost+found'))).toBe(false);
      expect(readdirSync(path.join(root, 'var/lib/apt/lists')).filter((f) => f.includes('_'))).toEqual([]);
      // Reproducible: nothing in the stack is newer than the project's source-date-epoch.
      for (const p of ['etc/hostname', 'usr/sbin/nginx', 'etc/sitestat.conf', 'srv/www/example/robots.txt']) {
        expect(lstatSync(path.join(root, p)).mtimeMs / 1000, p).toBeLessThanOrEqual(1735689600);
      }
    } finally {
      stack.unmount();
    }
    expect(mountsBelow(dir)).toEqual([]);
  }, 900_000);

  it('rebuilds nothing when nothing changed, and remakes no input', async () => {
    const inputs = path.join(dir, 'inputs');
    const before = Object.fromEntries(readdirSync(inputs).map((f) => [f, statSync(path.join(inputs, f)).mtimeMs]));
    const layersBefore = Object.fromEntries(LAYERS.map((l) => [l, statSync(path.join(dir, 'layers', `${l}.sqsh`)).ino]));

    const started = Date.now();
    const make = spawnSync('sh', [path.join(REPO, 'example/make-inputs.sh'), inputs], { encoding: 'utf8', timeout: 60_000 });
    expect(make.status, make.stderr).toBe(0);
    expect(Date.now() - started, 'make-inputs.sh with every input there').toBeLessThan(10_000);
    expect(Object.fromEntries(readdirSync(inputs).map((f) => [f, statSync(path.join(inputs, f)).mtimeMs]))).toEqual(before);

    const build = await execCli(['-C', dir, '--json', 'build'], { env });
    expect(build.code, build.stderr).toBe(0);
    const result = JSON.parse(build.stdout) as { layers: { name: string; status: string }[] };
    expect(result.layers.map((l) => `${l.name}:${l.status}`).sort()).toEqual(LAYERS.map((l) => `${l}:cached`).sort());
    expect(Object.fromEntries(LAYERS.map((l) => [l, statSync(path.join(dir, 'layers', `${l}.sqsh`)).ino]))).toEqual(layersBefore);

    const frozen = await execCli(['-C', dir, 'build', '--frozen'], { env });
    expect(frozen.code, `${frozen.stdout}${frozen.stderr}`).toBe(0);
    const plan = await execCli(['-C', dir, 'plan'], { env });
    expect(plan.stdout).toContain('all cached');
    expect(mountsBelow(dir)).toEqual([]);
  }, 120_000);

  it('boots in a VM to systemd with nginx active, every layer\'s checks passing', async () => {
    const r = await execCli(['-C', dir, '--json', 'boot', 'config', '--timeout', '1500'], { env });
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    const result = JSON.parse(r.stdout) as {
      ok: boolean;
      init: string;
      accel: string;
      bootSeconds: number;
      checks: { layer: string; command: string; exitCode: number; output: string }[];
    };
    expect(result.ok).toBe(true);
    expect(result.init).toBe('systemd');
    const nginx = result.checks.find((c) => c.command.includes('systemctl is-active nginx'));
    expect(nginx).toMatchObject({ layer: 'server', exitCode: 0, output: 'active\n' });
    expect(result.checks.map((c) => `${c.layer}: ${c.command}`)).toEqual([
      'server: nginx -t',
      'server: test ! -d /run/systemd/system || systemctl is-active nginx',
      'extra: sitestat /srv/www/example',
      'config: nginx -t',
      'config: grep -qx web01 /etc/hostname',
    ]);
    // The closing note reports it: how long the example takes to boot here.
    process.stderr.write(`example boot: ${result.bootSeconds.toFixed(1)} s to the checks (${result.accel})\n`);
    expect(readdirSync(path.join(dir, 'run-sqsh-layers'))).toEqual([]);
    expect(mountsBelow(dir)).toEqual([]);
  }, 1_800_000);
});

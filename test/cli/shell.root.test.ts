// shell with the real CLI: commands from stdin (a here-doc), the exit code of the shell or
// of `-- CMD`, the layers and the host unchanged afterwards, nothing mounted, and the same
// after SIGTERM and SIGHUP (no process of the sandbox left either).

import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, execCli, exitOf, writeFiles } from '../support/project.js';
import { busyboxTree, stateEnv } from '../support/rootfs.js';
import { leftoverCheckedDirs, sha256, waitFor } from '../support/leftovers.js';

const newDir = leftoverCheckedDirs();

async function project(dir: string): Promise<void> {
  await busyboxTree(path.join(dir, 'rootfs'));
  await writeFiles(dir, {
    'rootfs/etc/motd': 'welcome\n',
    'recipes/base.yaml': 'steps:\n  - copy: rootfs/\n',
    'recipes/top.yaml': 'parent: base\nsteps:\n  - run: echo top > /etc/top\n',
  });
  const b = await execCli(['build'], { cwd: dir, env: stateEnv(dir) });
  expect(b.code, b.stderr).toBe(0);
}

/** Starts `shell` with `input` on its stdin (left open when `input` is undefined). */
function startShell(dir: string, args: string[], input?: string) {
  const child = spawn(process.execPath, [CLI, 'shell', ...args], { cwd: dir, env: { ...process.env, ...stateEnv(dir) } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  if (input !== undefined) child.stdin.end(input);
  return { child, out: () => stdout, err: () => stderr };
}

function layerDigests(dir: string): string[] {
  return ['base', 'top'].map((n) => sha256(path.join(dir, 'layers', `${n}.sqsh`)));
}

/** Processes whose command line holds `token`. */
function processesWith(token: string): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid)
    .filter((n) => {
      try {
        return readFileSync(`/proc/${n}/cmdline`, 'utf8').split('\0').includes(token);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('shell', () => {
  it('runs the commands of a here-doc in the stack, returns their exit code, and changes nothing', async () => {
    const dir = newDir('shell');
    await project(dir);
    const before = layerDigests(dir);
    const marker = `sqsh-layers-shell-marker-${process.pid}`;
    const s = startShell(dir, ['top'], [
      'cat /etc/top /etc/motd',
      'echo scribble > /etc/motd',
      'rm /bin/ls',
      `echo x > /tmp/${marker}`,
      `echo x > /${marker}`,
      'cat /etc/motd',
      'test -e /bin/ls || echo ls gone',
      'echo "layer=$SQSH_LAYER"',
      // The sandbox of run steps: no mounting (seccomp), no device nodes of the layer usable.
      'busybox mount -t tmpfs none /tmp 2>/dev/null && echo mounted || echo mount refused',
      'busybox mknod /nulldev c 1 3 && { busybox cat /nulldev 2>/dev/null && echo device read || echo device refused; }',
      'exit 5',
      '',
    ].join('\n'));
    expect(await exitOf(s.child), s.err()).toBe(5);
    expect(s.out()).toBe('top\nwelcome\nscribble\nls gone\nlayer=top\nmount refused\ndevice refused\n');
    expect(layerDigests(dir)).toEqual(before);
    expect(existsSync(`/tmp/${marker}`)).toBe(false);
    expect(existsSync(`/${marker}`)).toBe(false);
    // A fresh shell sees the layers as they were.
    const again = startShell(dir, ['top', '--', 'cat', '/etc/motd']);
    expect(await exitOf(again.child)).toBe(0);
    expect(again.out()).toBe('welcome\n');
    expect(readdirSync(path.join(dir, 'run-sqsh-layers'))).toEqual([]);
  });

  it('returns the exit code of -- CMD and has no network unless asked', async () => {
    const dir = newDir('shell-cmd');
    await project(dir);
    const interfaces = (out: string) => out.split('\n').slice(2).filter(Boolean).map((l) => l.split(':')[0]!.trim());
    const s = startShell(dir, ['top', '--', 'sh', '-c', 'cat /proc/net/dev; exit 3']);
    expect(await exitOf(s.child)).toBe(3);
    expect(interfaces(s.out())).toEqual(['lo']);
    const n = startShell(dir, ['--network', 'top', '--', 'cat', '/proc/net/dev']);
    expect(await exitOf(n.child), n.err()).toBe(0);
    expect(interfaces(n.out()).sort()).toEqual(interfaces(readFileSync('/proc/net/dev', 'utf8')).sort());
    const missing = await execCli(['shell', 'nope'], { cwd: dir, env: stateEnv(dir) });
    expect(missing.code).toBe(2);
  });

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    it(`undoes everything on ${signal}`, async () => {
      const dir = newDir(`shell-${signal}`);
      await project(dir);
      const token = `${424242 + code}`;
      const s = startShell(dir, ['top']);
      s.child.stdin.write(`echo started; exec sleep ${token}\n`);
      await waitFor('the shell to start', () => s.out().includes('started') && processesWith(token).length > 0);
      s.child.kill(signal);
      expect(await exitOf(s.child), s.err()).toBe(code);
      expect(s.err()).toContain(`interrupted by ${signal}; cleaned up`);
      await waitFor('the sandbox to end', () => processesWith(token).length === 0, 5000);
      expect(readdirSync(path.join(dir, 'run-sqsh-layers'))).toEqual([]);
    });
  }
});

// init's project builds as it is: debootstrap of a bookworm minbase from deb.debian.org (a
// few minutes, needs the network), the layer on top of it, and verify passes on the stack.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { execCli } from '../support/project.js';
import { stateEnv } from '../support/rootfs.js';
import { leftoverCheckedDirs } from '../support/leftovers.js';

const newDir = leftoverCheckedDirs();

describe('init', () => {
  it('gives a project that builds and verifies', { timeout: 900_000 }, async () => {
    const dir = newDir('init-build');
    const p = path.join(dir, 'proj');
    const env = stateEnv(dir);
    expect((await execCli(['init', p], { env })).code).toBe(0);
    const b = await execCli(['build'], { cwd: p, env });
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/^2 layer\(s\) ready in layers\/ \(2 built, 0 cached/m);
    const v = await execCli(['verify', 'app'], { cwd: p, env });
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toMatch(/^ {2}base +ok +dpkg-query -W dpkg >\/dev\/null$/m);
    expect(v.stdout).toMatch(/^ {2}app +ok +grep -q "sqsh-layers" \/etc\/motd$/m);
    const i = JSON.parse((await execCli(['--json', 'inspect', 'app'], { cwd: p, env })).stdout) as { entries: { path: string; change: string }[] };
    expect(i.entries).toEqual(expect.arrayContaining([expect.objectContaining({ path: '/etc/motd', change: 'changed' })]));
  });
});

// inspect and diff with the real CLI on a small busybox stack: a top layer that deletes a
// file, replaces a directory (opaque), adds and changes files; then a rebuild compared with
// the layers it replaced. Nothing may stay mounted (leftoverCheckedDirs).

import { cpSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { execCli, writeFiles, type CliResult } from '../support/project.js';
import { busyboxTree, stateEnv } from '../support/rootfs.js';
import { leftoverCheckedDirs } from '../support/leftovers.js';

const newDir = leftoverCheckedDirs();

async function project(dir: string): Promise<void> {
  await busyboxTree(path.join(dir, 'rootfs'));
  await writeFiles(dir, {
    'rootfs/etc/motd': 'welcome\n',
    'rootfs/etc/conf': 'old setting\n',
    'rootfs/etc/keep': 'same bytes\n',
    'rootfs/data/dir/a': 'a'.repeat(1000),
    'rootfs/data/dir/b': 'b'.repeat(3000),
    'files/new.txt': 'new file v1\n',
    'recipes/base.yaml': 'steps:\n  - copy: rootfs/\n',
    'recipes/top.yaml': [
      'parent: base',
      'steps:',
      '  - remove: [/etc/motd]',
      '  - copy: files/new.txt',
      '    to: /etc/',
      '  - run: |',
      '      echo new setting > /etc/conf',
      '      rm -rf /data/dir',
      '      mkdir /data/dir',
      '      echo fresh > /data/dir/c',
      '      cat /etc/keep > /tmp/k',
      '      cp /tmp/k /etc/keep',
      // A name that would set the terminal title, fake a line of the report, and is not UTF-8.
      `      echo > "/etc/$(printf 'evil\\033]0;pwned\\007\\n+ 0 B file etc-fake\\377')"`,
      'prune-identical: false',
      '',
    ].join('\n'),
  });
}

function cli(dir: string, args: string[]): Promise<CliResult> {
  return execCli(args, { cwd: dir, env: stateEnv(dir) });
}

interface Entry {
  path: string;
  change: string;
  type: string;
  size: number;
}

describe('inspect', () => {
  it('reports a deleted file, a replaced directory, an added and a changed file, and the wasted space', async () => {
    const dir = newDir('inspect');
    await project(dir);
    const b = await cli(dir, ['build']);
    expect(b.code, b.stderr).toBe(0);

    const r = await cli(dir, ['--json', 'inspect', 'top']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { layer: string; entries: Entry[]; summary: Record<string, unknown> };
    expect(Object.keys(out)).toEqual(['layer', 'entries', 'summary']);
    expect(out.layer).toBe('top');
    const byPath = Object.fromEntries(out.entries.map((e) => [e.path, e]));
    expect(byPath['/etc/motd']).toEqual({ path: '/etc/motd', change: 'deleted', type: 'file', size: 8 });
    expect(byPath['/data/dir']).toEqual({ path: '/data/dir', change: 'opaque', type: 'dir', size: 0 });
    expect(byPath['/data/dir/c']).toEqual({ path: '/data/dir/c', change: 'added', type: 'file', size: 6 });
    expect(byPath['/etc/new.txt']).toEqual({ path: '/etc/new.txt', change: 'added', type: 'file', size: 12 });
    expect(byPath['/etc/conf']).toEqual({ path: '/etc/conf', change: 'changed', type: 'file', size: 12 });
    expect(byPath['/etc/keep']).toEqual({ path: '/etc/keep', change: 'changed', type: 'file', size: 11 });
    // The old children of the opaque dir are hidden, not listed.
    expect(byPath['/data/dir/a']).toBeUndefined();
    const s = out.summary as { added: number; changed: number; deleted: number; opaque: number; wasted: { identical: { count: number; paths: string[] }; shadowed: { count: number; bytes: number } } };
    expect({ added: s.added, deleted: s.deleted, opaque: s.opaque }).toEqual({ added: 3, deleted: 1, opaque: 1 });
    expect(byPath['/etc/evil\x1b]0;pwned\x07\n+ 0 B file etc-fake\\xff']).toMatchObject({ change: 'added', type: 'file', size: 1 });
    expect(s.wasted.identical.paths).toEqual(['/etc/keep']);
    // Hidden lower files: motd (8), conf (12), keep (11), dir/a (1000), dir/b (3000).
    expect(s.wasted.shadowed).toEqual({ count: 5, bytes: 8 + 12 + 11 + 1000 + 3000 });

    // The text report says the same, and a .sqsh path beside its manifest finds the same lowers.
    const t = await cli(dir, ['inspect', 'layers/top.sqsh']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toContain('- ');
    expect(t.stdout).toMatch(/^! +dir +\/data\/dir$/m);
    expect(t.stdout).toMatch(/^- +8 B +file +\/etc\/motd$/m);
    expect(t.stdout).toMatch(/^3 added, \d+ changed, 1 deleted, 1 opaque/m);
    // The hostile name is shown escaped, on one line, with no control character reaching the terminal.
    expect(t.stdout).toContain('  file     /etc/evil\\x1b]0;pwned\\x07\\n+ 0 B file etc-fake\\xff\n');
    // eslint-disable-next-line no-control-regex
    expect(t.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
    expect(t.stdout).not.toMatch(/^\+ 0 B file etc-fake/m);
    expect(t.stdout).toContain('1 entry identical to the lowers (11 B): /etc/keep');

    // The bottom layer: everything added.
    const base = JSON.parse((await cli(dir, ['--json', 'inspect', 'base'])).stdout) as { entries: Entry[] };
    expect(new Set(base.entries.map((e) => e.change))).toEqual(new Set(['added']));
    expect(base.entries.find((e) => e.path === '/bin/busybox')?.type).toBe('file');
  });

  it('names a layer that is not built, and an unknown one', async () => {
    const dir = newDir('inspect-missing');
    await project(dir);
    const r = await cli(dir, ['inspect', 'top']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('sqsh-layers: error: layers top, base of top are not built');
    expect(r.stderr).toContain('hint: run: sqsh-layers build top');
    const u = await cli(dir, ['inspect', 'tpo']);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain('unknown layer "tpo" (did you mean "top"?)');
    const f = await cli(dir, ['inspect', 'nothing/here.sqsh']);
    expect(f.code).toBe(2);
    expect(f.stderr).toContain('nothing/here.sqsh: no such layer file');
  });
});

describe('diff', () => {
  it('names what a rebuild changed, layer by layer and stack against stack', async () => {
    const dir = newDir('diff');
    await project(dir);
    expect((await cli(dir, ['build'])).code).toBe(0);
    cpSync(path.join(dir, 'layers'), path.join(dir, 'before'), { recursive: true });
    await writeFiles(dir, { 'files/new.txt': 'new file v2, longer\n' });
    const b = await cli(dir, ['build']);
    expect(b.code, b.stderr).toBe(0);

    const r = await cli(dir, ['--json', 'diff', 'before/top.sqsh', 'top']);
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as { entries: (Entry & { what?: string[]; sizeBefore?: number })[]; summary: { added: number; changed: number; deleted: number } };
    const changed = d.entries.filter((e) => e.path === '/etc/new.txt');
    expect(changed).toEqual([{ path: '/etc/new.txt', change: 'changed', type: 'file', size: 20, what: ['content'], sizeBefore: 12 }]);
    // The run step wrote the same bytes again: only times differ, and diff ignores times.
    expect(d.entries.filter((e) => e.path.startsWith('/etc/') && e.path !== '/etc/new.txt')).toEqual([]);

    const same = JSON.parse((await cli(dir, ['--json', 'diff', 'before/base.sqsh', 'base'])).stdout) as { entries: Entry[] };
    expect(same.entries).toEqual([]);

    // Stacks: base's files show through, and the same change is named.
    const st = await cli(dir, ['diff', '--stack', 'before/top.sqsh', 'top']);
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toMatch(/^~ +20 B +file +\/etc\/new\.txt {2}\(content\)$/m);
    expect(st.stdout).toMatch(/^0 added, \d+ changed, 0 deleted/m);

    // Layers of different stacks: what top has that base has not.
    const x = JSON.parse((await cli(dir, ['--json', 'diff', 'base', 'top'])).stdout) as { entries: Entry[] };
    expect(x.entries.find((e) => e.path === '/etc/motd')).toMatchObject({ change: 'changed', type: 'whiteout' });
    expect(x.entries.find((e) => e.path === '/bin')).toMatchObject({ change: 'deleted', type: 'dir' });
  });
});

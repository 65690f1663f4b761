// `capture` end to end: a small root with a tmpfs, proc and a bind mount inside it (and a
// file hidden under the bind mount's point), /tmp and /run contents, an --exclude glob. The
// captured layer must equal, entry by entry, a plain copy of the root with exactly those
// contents taken out (mount points kept as empty directories), with owners, modes, xattrs
// (security.capability too) and hardlinks; and the root must be left unchanged.

import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { leftoverCheckedDirs } from '../support/leftovers.js';
import { fullTree, sh, withStack } from '../support/layer-tree.js';
import { execCli } from '../support/project.js';
import { stateEnv } from '../support/rootfs.js';

const testDir = leftoverCheckedDirs();

/** cap_net_raw+ep, as setcap writes it (VFS_CAP_REVISION_2). */
const CAP_NET_RAW = '0x0100000200200000000000000000000000000000';

/** Every entry of the root filesystem below dir (not crossing mounts): mode, owner, size, mtime and ctime in ns. */
function statLines(dir: string): string[] {
  return sh(`find ${dir} -xdev -printf '%P %M %U:%G %s %T@ %C@\\n' | sort`).split('\n');
}

describe('capture', () => {
  it('leaves out mounted filesystems, /tmp and /run contents and --exclude matches, keeps the rest, writes nothing to the root', async () => {
    const dir = testDir('capture');
    const root = path.join(dir, 'root');
    sh(`
      mkdir -p ${root} && cd ${root}
      mkdir -p etc usr/bin var/cache home/u tmp run/lock mnt/t proc srv/data
      chmod 1777 tmp; echo host > etc/hostname; echo ping > usr/bin/ping; chmod 4755 usr/bin/ping
      setfattr -n security.capability -v ${CAP_NET_RAW} usr/bin/ping
      setfattr -n user.note -v kept etc/hostname; setfattr -n user.dir -v d home/u
      echo h > home/u/h1; ln home/u/h1 home/u/h2; chown -R 1000:100 home/u; chmod 0750 home/u
      ln -s ../etc/hostname usr/bin/name-link; mkfifo run/fifo-dir-entry
      echo junk > tmp/junk; mkdir tmp/sub; echo lock > run/lock/pid
      echo bin > var/cache/pkgs.bin; echo keep > var/cache/keep.txt
      echo hidden > srv/data/under-the-mount
    `);
    const other = path.join(dir, 'other');
    sh(`mkdir -p ${other} && echo other > ${other}/file`);

    // The reference: the root's own files, with what capture must leave out removed.
    const ref = path.join(dir, 'ref');
    execFileSync('rsync', ['-aHAX', '--numeric-ids', `${root}/`, `${ref}/`]);
    sh(`cd ${ref} && rm -rf tmp/* run/* srv/data/* var/cache/pkgs.bin`);
    sh(`cd ${root} && touch -r etc . && touch -r etc tmp run srv/data var/cache && cd ${ref} && touch -r ${root} . && touch -r ${root}/tmp tmp && touch -r ${root}/run run && touch -r ${root}/srv/data srv/data && touch -r ${root}/var/cache var/cache`);
    const before = statLines(root);
    const reference = await fullTree(ref);

    const mounted: string[] = [];
    const out = path.join(dir, 'out');
    await fs.mkdir(out);
    let res;
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'captest', path.join(root, 'mnt/t')]);
      mounted.push(path.join(root, 'mnt/t'));
      await fs.writeFile(path.join(root, 'mnt/t/in-tmpfs'), 'tmpfs file\n');
      execFileSync('mount', ['-t', 'proc', 'proc', path.join(root, 'proc')]);
      mounted.push(path.join(root, 'proc'));
      execFileSync('mount', ['--bind', other, path.join(root, 'srv/data')]);
      mounted.push(path.join(root, 'srv/data'));
      res = await execCli(['capture', root, 'base', '--exclude', '/var/cache/*.bin', '--out', out, '--json'], { env: stateEnv(dir) });
    } finally {
      for (const m of mounted.reverse()) execFileSync('umount', [m]);
    }
    expect(res.stderr).not.toContain('error');
    expect(res.code).toBe(0);
    const json = JSON.parse(res.stdout) as { cmdline: string; stats: { emptied: string[]; excluded: number } };
    expect(json.cmdline).toBe('sqsh_layers=base');
    expect(json.stats).toEqual({ emptied: ['/mnt/t', '/proc', '/run', '/srv/data', '/tmp'], excluded: 1 });

    const captured = await withStack(path.join(dir, 'stack'), [path.join(out, 'base.sqsh')], (r) => fullTree(r));
    expect(captured).toEqual(reference);
    expect(captured).toContain(`xattr /usr/bin/ping security.capability=${CAP_NET_RAW}`);
    expect(captured).toContain('/usr/bin/ping file 4755 0:0 ' + captured.find((l) => l.startsWith('/usr/bin/ping file'))!.split(' ')[4]);
    expect(captured).toContain('link /home/u/h1 = /home/u/h2');
    expect(captured).toContain('/tmp dir 1777 0:0');
    expect(captured.filter((l) => /^\/(proc|mnt\/t|srv\/data|tmp|run)\//.test(l))).toEqual([]);

    expect(statLines(root)).toEqual(before);
  });

  it('never packs its own output when --out is inside the root', async () => {
    const dir = testDir('capture-self');
    const root = path.join(dir, 'root');
    sh(`mkdir -p ${root}/etc ${root}/srv/layers && echo host > ${root}/etc/hostname && echo old > ${root}/srv/layers/old.sqsh`);
    // The first capture writes base.sqsh inside the root; the second must pack neither it nor its own temp file.
    for (let i = 0; i < 2; i++) {
      const res = await execCli(['--force', 'capture', root, 'base', '--out', path.join(root, 'srv/layers')], { env: stateEnv(dir) });
      expect(res.stderr).not.toContain('error');
      expect(res.code).toBe(0);
    }
    const captured = await withStack(path.join(dir, 'stack'), [path.join(root, 'srv/layers/base.sqsh')], (r) => fullTree(r));
    expect(captured.filter((l) => l.startsWith('/srv/layers/')).map((l) => l.split(' ')[0])).toEqual(['/srv/layers/old.sqsh']);
    expect(captured.some((l) => l.startsWith('/etc/hostname file'))).toBe(true);
  });

  it('--dry-run mounts and writes nothing; a missing root is a usage error', async () => {
    const dir = testDir('capture-dry');
    const root = path.join(dir, 'root');
    sh(`mkdir -p ${root}/etc && echo x > ${root}/etc/x`);
    const out = path.join(dir, 'out');
    await fs.mkdir(out);
    const dry = await execCli(['--dry-run', 'capture', root, 'base', '--out', out], { env: stateEnv(dir) });
    expect(dry.code).toBe(0);
    expect(dry.stderr).toContain(`mount --bind -o ro ${root}`);
    expect(await fs.readdir(out)).toEqual([]);
    await expect(fs.stat(path.join(dir, 'run-sqsh-layers'))).rejects.toThrow();
    const missing = await execCli(['capture', path.join(dir, 'nope'), 'base', '--out', out], { env: stateEnv(dir) });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('is not a directory');
  });
});

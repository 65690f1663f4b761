// The in-process apply of a small plain stage (copy's) makes the root what applyTree's rsync
// makes it, down to what the overlay copies up, and declines, writing nothing, every case it
// could not do the same way. It never follows a symlink of the root.

import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyPlainTree } from '../../src/steps/apply-plain.js';
import { copyDirAttributes, PRIVILEGED_XATTRS } from '../../src/steps/sandboxed.js';
import { copyPlainTree } from '../../src/steps/stage-copy.js';
import { HOST_DIR } from '../../src/mount/host-tools.js';
import { leftoverCheckedDirs } from '../support/leftovers.js';
import { sh, xattrLines } from '../support/layer-tree.js';

const newDir = leftoverCheckedDirs();
const mounted: string[] = [];
afterEach(() => {
  for (const m of mounted.splice(0).reverse()) execFileSync('umount', [m]);
});

/** When the test file started: a later mtime is the clock's (`now`), as the writes fall. */
const started = BigInt(Math.floor(Date.now() / 1000));

/** Every entry below dir: type, mode, owner, size, content or target, mtime in whole seconds (or `now`). */
function listing(dir: string): string[] {
  const out: string[] = [];
  const visit = (rel: string) => {
    const p = path.join(dir, rel);
    const st = lstatSync(p, { bigint: true });
    const what = st.isSymbolicLink() ? `-> ${readlinkSync(p)}` : st.isFile() ? readFileSync(p, 'latin1') : st.isCharacterDevice() ? 'whiteout' : 'dir';
    const sec = st.mtimeNs / 1_000_000_000n;
    out.push(`${rel || '.'} ${(st.mode & 0o170000n).toString(8)} ${(st.mode & 0o7777n).toString(8)} ${st.uid}:${st.gid} ${st.size} ${sec >= started ? 'now' : sec} ${what}`);
    if (st.isDirectory()) for (const n of readdirSync(p).sort()) visit(path.join(rel, n));
  };
  visit('');
  return out;
}

/** An overlay over `lower` with its own upper: the merged root, and the upper to see what was copied up. */
function overlay(dir: string, lower: string, name: string): { root: string; upper: string } {
  const [upper, work, root] = ['upper', 'work', 'root'].map((d) => path.join(dir, name, d)) as [string, string, string];
  for (const d of [upper, work, root]) mkdirSync(d, { recursive: true });
  execFileSync('mount', ['-t', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work},index=off,metacopy=off,redirect_dir=nofollow,xino=off`, 'test', root]);
  mounted.push(root);
  return { root, upper };
}

/** A stage as copy makes it: the source's entries, the stage's own attributes the destination's. */
async function stageOf(dir: string, src: string, name: string, destHost: string): Promise<string> {
  const stage = path.join(dir, name);
  mkdirSync(stage);
  expect(copyPlainTree(src, stage, true)).toBe(true);
  await copyDirAttributes(destHost, stage);
  return stage;
}

/** applyTree's rsync (merge: --keep-dirlinks), run on the host: for roots without symlinks to directories. */
function applyByRsync(root: string, stage: string, destInRoot: string): void {
  const filters = PRIVILEGED_XATTRS.map((x) => `--filter=-x ${x}`);
  execFileSync('rsync', ['-aHAX', '--numeric-ids', '--checksum', ...filters, '--keep-dirlinks', `${stage}/`, `${path.join(root, destInRoot)}/`]);
}

describe('a plain stage applied in process', () => {
  it('gives the root, and the upper, what rsync gives: new entries, attributes only, replaced content and links, long names', async () => {
    const dir = newDir('apply-plain');
    const long = 'n'.repeat(245);
    sh(
      `mkdir -p lower/etc/sub lower/usr/lib src/etc/sub src/opt/app/bin
       echo same > lower/etc/same.conf; echo attrs > lower/etc/attrs.conf; echo old > lower/etc/changed.conf
       echo keep > lower/etc/sub/keep; echo s > lower/etc/suid; chmod 4755 lower/etc/suid
       ln -s a lower/etc/link; ln -s a lower/etc/relink; echo old > lower/etc/${long}
       touch -h -d '2001-01-01 00:00:01' lower/etc/same.conf lower/etc/attrs.conf lower/etc/link lower/etc/sub lower/usr/lib lower/etc lower
       cp -a lower/etc/same.conf src/etc/same.conf
       echo attrs > src/etc/attrs.conf; chmod 0600 src/etc/attrs.conf; chown 5:6 src/etc/attrs.conf
       echo new content > src/etc/changed.conf; echo new > src/etc/${long}
       echo new > src/etc/sub/new; touch -d '2002-02-02' src/etc/sub
       echo s > src/etc/suid; chown 7:7 src/etc/suid; chmod 4755 src/etc/suid
       ln -s a src/etc/link; touch -h -d '2003-03-03' src/etc/link; ln -s b src/etc/relink
       echo tool > src/opt/app/bin/tool; chmod 0755 src/opt/app/bin/tool; ln -s bin/tool src/opt/app/run
       touch -d '2004-04-04' src/opt/app src/opt`,
      { cwd: dir },
    );
    const lower = path.join(dir, 'lower');
    const byRsync = overlay(dir, lower, 'a');
    const byUs = overlay(dir, lower, 'b');
    const stageA = await stageOf(dir, path.join(dir, 'src'), 'stage-a', byRsync.root);
    const stageB = await stageOf(dir, path.join(dir, 'src'), 'stage-b', byUs.root);
    applyByRsync(byRsync.root, stageA, '/');
    expect(applyPlainTree(byUs.root, stageB, '/')).toBe(true);

    expect(listing(byUs.root)).toEqual(listing(byRsync.root));
    // The same entries copied up, with the same attributes: an unchanged file is not copied up.
    expect(listing(byUs.upper)).toEqual(listing(byRsync.upper));
    expect(existsSync(path.join(byUs.upper, 'etc/same.conf'))).toBe(false);
    expect(lstatSync(path.join(byUs.root, 'etc/suid')).mode & 0o7777).toBe(0o4755);
    expect(readFileSync(path.join(byUs.root, 'etc', long), 'utf8')).toBe('new\n');
    // Nothing of ours is left beside what was written (no temp names).
    expect(readdirSync(path.join(byUs.root, 'etc')).filter((n) => n.startsWith('.'))).toEqual([]);
    expect(xattrLines(byUs.root).filter((l) => !l.includes('trusted.overlay'))).toEqual([]);

    // Into a directory below the root too (copy's `to:`), with the stage given its attributes.
    const stageC = await stageOf(dir, path.join(dir, 'src/etc'), 'stage-c', path.join(byRsync.root, 'usr/lib'));
    const stageD = await stageOf(dir, path.join(dir, 'src/etc'), 'stage-d', path.join(byUs.root, 'usr/lib'));
    applyByRsync(byRsync.root, stageC, '/usr/lib');
    expect(applyPlainTree(byUs.root, stageD, '/usr/lib')).toBe(true);
    expect(listing(byUs.root)).toEqual(listing(byRsync.root));
    expect(listing(byUs.upper)).toEqual(listing(byRsync.upper));
  });

  it('never follows a symlink of the root: a staged directory or file where the root has one is rsync\'s, and the host is untouched', async () => {
    const dir = newDir('apply-plain-links');
    const decoy = path.join(dir, 'decoy'); // a host directory the root's symlinks point at
    const depth = '../'.repeat(12);
    sh(
      `mkdir -p decoy lower/etc
       ln -s ${decoy} lower/etc/abs; ln -s ${depth}${decoy.slice(1)} lower/etc/climb; ln -s ${decoy}/f lower/etc/file-abs`,
      { cwd: dir },
    );
    for (const [label, src] of Object.entries({
      'absolute dirlink': 'mkdir -p etc/abs; echo x > etc/abs/f',
      'dirlink climbing out': 'mkdir -p etc/climb; echo x > etc/climb/f',
      'file over a link out': 'mkdir etc; echo x > etc/file-abs',
    })) {
      const d = path.join(dir, label.replaceAll(' ', '-'));
      mkdirSync(path.join(d, 'src'), { recursive: true });
      sh(src, { cwd: path.join(d, 'src') });
      const { root, upper } = overlay(d, path.join(dir, 'lower'), 'o');
      const stage = await stageOf(d, path.join(d, 'src'), 'stage', root);
      expect(applyPlainTree(root, stage, '/'), label).toBe(false);
      expect(readdirSync(upper), label).toEqual([]);
    }
    expect(readdirSync(decoy)).toEqual([]);
  });

  it('declines, writing nothing, what only rsync does: a kind changed, xattrs to drop, the sandbox own name, a symlink where the stage has a directory', async () => {
    const dir = newDir('apply-plain-decline');
    const cases: Record<string, { lower: string; src: string }> = {
      'file over dir': { lower: 'mkdir -p etc/x/y', src: 'mkdir etc; echo f > etc/x' },
      'dir over file': { lower: 'mkdir etc; echo f > etc/x', src: 'mkdir -p etc/x; echo g > etc/x/y' },
      'link over file': { lower: 'mkdir etc; echo f > etc/x', src: 'mkdir etc; ln -s f etc/x' },
      'file over link': { lower: 'mkdir etc; ln -s f etc/x', src: 'mkdir etc; echo f > etc/x' },
      'xattr on a file': { lower: 'mkdir etc; echo f > etc/x; setfattr -n user.note -v 1 etc/x', src: 'mkdir etc; echo f > etc/x' },
      'xattr on a dir': { lower: 'mkdir etc; setfattr -n user.note -v 1 etc', src: 'mkdir etc; echo f > etc/new' },
      'dirlink to a file': { lower: 'mkdir etc; echo f > f; ln -s /f etc/x', src: 'mkdir -p etc/x; echo g > etc/x/y' },
      'dangling dirlink': { lower: 'mkdir etc; ln -s /nowhere etc/x', src: 'mkdir -p etc/x; echo g > etc/x/y' },
      'the sandbox name': { lower: 'mkdir etc', src: `mkdir -p .${HOST_DIR}; echo g > .${HOST_DIR}/y` },
      'dir over a dirlink': { lower: 'mkdir -p usr/lib etc; ln -s usr/lib lib', src: 'mkdir lib; echo g > lib/y' },
    };
    // Into the sandbox's own directory (a recipe's `to:`): rsync's entries would be lost there.
    {
      const d = path.join(dir, 'host-dir');
      mkdirSync(path.join(d, 'lower', HOST_DIR.slice(1)), { recursive: true });
      mkdirSync(path.join(d, 'src'));
      sh('echo g > y', { cwd: path.join(d, 'src') });
      const { root, upper } = overlay(d, path.join(d, 'lower'), 'o');
      const stage = await stageOf(d, path.join(d, 'src'), 'stage', path.join(root, HOST_DIR));
      expect(applyPlainTree(root, stage, HOST_DIR)).toBe(false);
      expect(readdirSync(upper)).toEqual([]);
    }
    for (const [label, c] of Object.entries(cases)) {
      const d = path.join(dir, label.replaceAll(' ', '-'));
      mkdirSync(path.join(d, 'lower'), { recursive: true });
      mkdirSync(path.join(d, 'src'));
      sh(c.lower, { cwd: path.join(d, 'lower') });
      sh(c.src, { cwd: path.join(d, 'src') });
      const { root, upper } = overlay(d, path.join(d, 'lower'), 'o');
      const before = listing(root);
      const stage = await stageOf(d, path.join(d, 'src'), 'stage', root);
      expect(applyPlainTree(root, stage, '/'), label).toBe(false);
      expect(listing(root), label).toEqual(before);
      expect(readdirSync(upper), label).toEqual([]);
    }
  });
});

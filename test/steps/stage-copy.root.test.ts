// The in-process staging of `copy` gives what `cp -a` gives on the trees it takes, and
// declines (writing nothing) every tree it could not copy the same way.

import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyPlainTree, PLAIN_LIMITS } from '../../src/steps/stage-copy.js';
import { leftoverCheckedDirs } from '../support/leftovers.js';
import { sh } from '../support/layer-tree.js';

const newDir = leftoverCheckedDirs();

/**
 * Every entry below dir: type, mode, owner, size, content or target, and mtime in whole
 * seconds, as a layer keeps it (atimes are not kept; the source's change as it is read).
 */
function listing(dir: string): string[] {
  const out: string[] = [];
  const visit = (rel: string) => {
    const p = path.join(dir, rel);
    const st = lstatSync(p, { bigint: true });
    const what = st.isSymbolicLink() ? `-> ${readlinkSync(p)}` : st.isFile() ? readFileSync(p, 'latin1') : 'dir';
    const sec = st.mtimeNs / 1_000_000_000n - (st.mtimeNs < 0n && st.mtimeNs % 1_000_000_000n !== 0n ? 1n : 0n);
    out.push(`${rel || '.'} ${(st.mode & 0o170000n).toString(8)} ${(st.mode & 0o7777n).toString(8)} ${st.uid}:${st.gid} ${st.size} ${sec} ${what}`);
    if (st.isDirectory()) for (const n of readdirSync(p).sort()) visit(path.join(rel, n));
  };
  visit('');
  return out;
}

describe('copy stages a small plain tree in process', () => {
  it('as cp -a would: owners, set-id and sticky bits, symlinks (dangling too), times before 1970 and just below a second', () => {
    const dir = newDir('stage-copy');
    sh(
      `mkdir -p src/etc/conf.d src/srv/drop src/bin src/empty
       echo tool > src/bin/tool; chown 0:50 src/bin/tool; chmod 4755 src/bin/tool
       echo conf > src/etc/app.conf; chown 1234:5678 src/etc/app.conf; chmod 0640 src/etc/app.conf
       : > src/etc/conf.d/empty; chmod 2750 src/etc/conf.d; chown 7:8 src/etc/conf.d
       chmod 1777 src/srv/drop; chmod 0700 src/empty
       ln -s ../etc/app.conf src/bin/conf-link; chown -h 99:98 src/bin/conf-link
       ln -s /nowhere/at/all src/srv/dangling
       touch -h -d '2001-02-03 04:05:06.999999999' src/bin/conf-link src/bin/tool src/etc/conf.d src
       touch -d '1969-12-31 23:59:58.5' src/etc/app.conf`,
      { cwd: dir },
    );
    sh('mkdir by-cp by-us && cp -a src/. by-cp/ && cp -a src/bin/tool by-cp-tool', { cwd: dir });
    expect(copyPlainTree(path.join(dir, 'src'), path.join(dir, 'by-us'), true)).toBe(true);
    // The top directory's own attributes are the stage's business (copy gives it the destination's).
    const content = (d: string) => listing(d).filter((l) => !l.startsWith('. '));
    expect(content(path.join(dir, 'by-us'))).toEqual(content(path.join(dir, 'by-cp')));
    expect(content(path.join(dir, 'by-us')).length).toBe(11);
    // A single file, under its new name.
    expect(copyPlainTree(path.join(dir, 'src/bin/tool'), path.join(dir, 'by-us-tool'), false)).toBe(true);
    expect(listing(path.join(dir, 'by-us-tool'))).toEqual(listing(path.join(dir, 'by-cp-tool')));
  });

  it('declines, writing nothing, what cp -a must copy: hardlinks, xattrs (ACLs are xattrs too), special files, other names, big trees', () => {
    const dir = newDir('stage-copy-decline');
    const cases: Record<string, string> = {
      hardlink: 'echo a > t/a && ln t/a t/b',
      xattr: 'echo a > t/a && setfattr -n user.note -v x t/a',
      fifo: 'mkfifo t/pipe',
      device: 'mknod t/null c 1 3',
      name: "touch t/$(printf 'caf\\351')",
      entries: `for i in $(seq ${PLAIN_LIMITS.entries + 1}); do : > t/f$i; done`,
      bytes: `head -c ${PLAIN_LIMITS.bytes + 1} /dev/zero > t/big`,
    };
    for (const [name, script] of Object.entries(cases)) {
      const tree = path.join(dir, name);
      mkdirSync(path.join(tree, 't'), { recursive: true });
      mkdirSync(path.join(tree, 'out'));
      sh(script, { cwd: tree });
      expect(copyPlainTree(path.join(tree, 't'), path.join(tree, 'out'), true), name).toBe(false);
      expect(readdirSync(path.join(tree, 'out')), name).toEqual([]);
    }
    // A file with an xattr, asked for alone.
    writeFileSync(path.join(dir, 'single'), 'x');
    sh('setfattr -n user.note -v x single', { cwd: dir });
    expect(copyPlainTree(path.join(dir, 'single'), path.join(dir, 'single-copy'), false)).toBe(false);
    expect(readdirSync(dir)).not.toContain('single-copy');
  });
});

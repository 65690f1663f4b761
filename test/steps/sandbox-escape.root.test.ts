// The sandboxes are security boundaries (PRODUCT.md section 5). Each attack here is one that
// reached host root before: a `run` script writing a core_pattern pipe or a sysctl, layer
// content (from an archive or from a `run` step) that makes the host's loader preload its
// library into the next tool step, and a device node of the host's disk. Each must fail
// while the build either fails clearly or succeeds without touching the host: canaries
// outside the root, the host's sysctls and its mounts stay as they were.

import { existsSync, promises as fs, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execCli, tempDir, writeFiles } from '../support/project.js';
import type { MountEntry } from '../../src/mount/mountinfo.js';
import { busyboxTree, mountsBelow, mountTable, snapshot, stateEnv } from '../support/rootfs.js';
import { entryLine, evilLibrary, inspectLayer, makeDump, processesBelow, readLayerFile, removeTestDir, sh } from '../support/layer-tree.js';

const SYSCTLS = ['/proc/sys/kernel/core_pattern', '/proc/sys/kernel/core_uses_pid', '/proc/sys/vm/overcommit_ratio'];
const readSysctls = () => SYSCTLS.map((p) => `${p}=${readFileSync(p, 'utf8').trim()}`);

/** The device the host's root filesystem lives on, as major/minor. */
function hostDisk(): { major: number; minor: number } {
  const dev = statSync('/').dev;
  return { major: (dev >> 8) & 0xfff, minor: (dev & 0xff) | ((dev >> 12) & 0xfff00) };
}

describe('sandboxes hold against hostile layer content and run scripts', () => {
  let dir: string;
  let project: string;
  let outside: string;
  let outsideBefore: string[];
  let sysctlsBefore: string[];
  let devtmpfsBefore: MountEntry[];
  const build = (...layers: string[]) => execCli(['-C', project, 'build', ...layers], { env: stateEnv(dir) });
  const sqsh = (name: string) => path.join(project, 'layers', `${name}.sqsh`);
  const layerFile = (layer: string, file: string) => readLayerFile(dir, sqsh(layer), file);


  beforeAll(async () => {
    dir = tempDir('escape');
    project = path.join(dir, 'project');
    outside = path.join(dir, 'outside');
    await writeFiles(outside, { canary: 'canary\n' });
    await busyboxTree(path.join(project, 'inputs/root'));
    await evilLibrary(dir, outside);
    const { major, minor } = hostDisk();
    // An archive that makes every later host tool preload the library (and use it as an NSS
    // module), and holds a device node of the host's disk.
    sh(
      `mkdir -p t/etc t/lib t/usr/lib/x86_64-linux-gnu
       cp ${dir}/evil.so t/lib/evil.so; cp ${dir}/evil.so t/lib/libnss_evil.so.2
       cp ${dir}/evil.so t/usr/lib/x86_64-linux-gnu/libnss_evil.so.2
       echo /lib/evil.so > t/etc/ld.so.preload
       printf 'passwd: evil\\ngroup: evil\\n' > t/etc/nsswitch.conf
       mknod t/hostdisk b ${major} ${minor}
       tar --numeric-owner -C t -cf inputs/evil.tar .
       mkdir -p p; echo plain > p/plain-file; tar --numeric-owner -C p -czf inputs/plain.tar.gz .
       mkdir -p c; echo copied > c/copied-file
       mkdir -p d; echo restored > d/restored-file`,
      { cwd: project },
    );
    await fs.rename(path.join(project, 'c'), path.join(project, 'inputs/c'));
    await fs.copyFile(path.join(dir, 'evil.so'), path.join(project, 'inputs/evil.so'));
    makeDump(path.join(project, 'd'), path.join(project, 'inputs/plain.dump'));
    // Every tool step, run over a root that holds the hostile files.
    const toolSteps = (to: string) => `  - copy: inputs/c/
    to: ${to}/
  - untar: inputs/plain.tar.gz
    to: ${to}/
  - restore: inputs/plain.dump
    to: ${to}/
`;
    const attacks = `r=/results; : > $r
try() { if ( eval "$2" ) >/dev/null 2>&1; then echo "$1: done" >> $r; else echo "$1: refused" >> $r; fi; }
try core_pattern "echo '|/bin/sh -c \\"touch ${outside}/core-pwned\\"' > /proc/sys/kernel/core_pattern"
try sysctl "echo 1 > /proc/sys/kernel/core_uses_pid"
try overcommit "echo 77 > /proc/sys/vm/overcommit_ratio"
sh -c 'kill -SEGV $$' || true
try kcore "test -n \\"$(head -c 16 /proc/kcore)\\""
try keys "test -n \\"$(cat /proc/keys)\\""
try mknod-disk "mknod /disk b ${major} ${minor} && dd if=/disk of=/dev/null bs=512 count=1"
try tar-disk "dd if=/hostdisk of=/dev/null bs=512 count=1"
try mount "mkdir -p /m && mount -t tmpfs t /m"
try unshare-user "unshare -U -r true"
try unshare-mount "unshare -m true"
grep -E '^(NoNewPrivs|Seccomp|CapEff):' /proc/self/status | tr -d '\\t' >> $r
rm -f /disk; rmdir /m 2>/dev/null || true
`;
    const recipes: Record<string, string> = {
      base: 'steps:\n  - copy: inputs/root/\n',
      'preload-tar': `parent: base\nsteps:\n  - untar: inputs/evil.tar\n${toolSteps('/srv')}`,
      'preload-tar-child': `parent: preload-tar\nsteps:\n${toolSteps('/srv2')}`,
      'preload-run': `parent: base
steps:
  - copy: inputs/evil.so
    to: /opt/evil.so
  - run: |
      mkdir -p /lib; cp /opt/evil.so /lib/evil.so
      echo /lib/evil.so > /etc/ld.so.preload
${toolSteps('/srv')}`,
      'preload-run-child': `parent: preload-run\nsteps:\n${toolSteps('/srv2')}`,
      attacks: `parent: preload-tar\nsteps:\n  - run: |\n${attacks.replace(/^/gm, '      ')}`,
    };
    for (const [name, text] of Object.entries(recipes)) await writeFiles(project, { [`recipes/${name}.yaml`]: text });
    outsideBefore = (await snapshot(outside)).map(entryLine);
    sysctlsBefore = readSysctls();
    devtmpfsBefore = mountTable().filter((m) => m.fstype === 'devtmpfs');
  });

  afterAll(async () => {
    try {
      expect((await snapshot(outside)).map(entryLine)).toEqual(outsideBefore);
      expect(readSysctls()).toEqual(sysctlsBefore);
      expect(processesBelow(dir)).toEqual([]);
      expect(mountsBelow(dir)).toEqual([]);
      // No devtmpfs (or anything else) was mounted on the host by the evil library.
      expect(mountTable().filter((m) => m.fstype === 'devtmpfs')).toEqual(devtmpfsBefore);
    } finally {
      removeTestDir(dir);
    }
  });

  /** The tool steps did their work into `to`, and the library ran nowhere. */
  const expectNeverRan = async (layer: string, to: string) => {
    const view = await inspectLayer(dir, sqsh(layer));
    expect(view.paths.filter((p) => /evil-ran|evil-dev/.test(p))).toEqual([]);
    expect(existsSync(path.join(outside, 'pwned'))).toBe(false);
    for (const f of ['copied-file', 'plain-file', 'restored-file']) expect(view.paths).toContain(`${to}/${f}`);
  };

  it('an archive with /etc/ld.so.preload and NSS modules never gets its code run by a host tool', async () => {
    const res = await build('preload-tar-child');
    expect(res.code, res.stderr).toBe(0);
    await expectNeverRan('preload-tar', '/srv');
    await expectNeverRan('preload-tar-child', '/srv2');
    // The archive's content itself is kept as it was.
    expect(await layerFile('preload-tar', 'etc/ld.so.preload')).toBe('/lib/evil.so\n');
  });

  it('a run step that writes /etc/ld.so.preload does not reach the tool steps after it', async () => {
    const res = await build('preload-run-child');
    expect(res.code, res.stderr).toBe(0);
    await expectNeverRan('preload-run', '/srv');
    await expectNeverRan('preload-run-child', '/srv2');
  });

  it('a run script cannot write kernel knobs, read masked /proc files, open the host disk, mount or unshare', async () => {
    const res = await build('attacks');
    expect(res.code, res.stderr).toBe(0);
    const results = (await layerFile('attacks', 'results')).trim().split('\n');
    expect(results).toEqual([
      'core_pattern: refused',
      'sysctl: refused',
      'overcommit: refused',
      'kcore: refused',
      'keys: refused',
      'mknod-disk: refused',
      'tar-disk: refused',
      'mount: refused',
      'unshare-user: refused',
      'unshare-mount: refused',
      // Docker's default capabilities: chown dac_override fowner fsetid kill setgid setuid
      // setpcap net_bind_service net_raw sys_chroot mknod audit_write setfcap.
      'CapEff:00000000a80425fb',
      'NoNewPrivs:1',
      'Seccomp:2',
    ]);
    expect(existsSync(path.join(outside, 'core-pwned'))).toBe(false);
  });
});

// Red-team findings against the sandboxes (PRODUCT.md section 5), each replayed here:
// - a file descriptor that the caller of sqsh-layers left open (a directory, a make jobserver
//   pipe...) was passed through Node and bwrap into every sandbox: a `run` script wrote to the
//   host through /proc/self/fd/N;
// - a `run` script's /tmp, /run and /dev/shm were tmpfs mounts of their own, each up to half
//   the host's memory and not bounded by the layer's tmpfs-size;
// - a `run` script's output reached the user's terminal with its control sequences (now shown
//   as visible \xNN text);
// and attacks that were already blocked, kept as regressions: glibc's NSS and iconv reading a
// layer's nsswitch.conf, NSS modules or gconv modules after a tool entered the layer root (an
// archive's named ACL makes tar look a user up), ptrace of the sandbox's pid 1, and the host's
// loopback services without `network: true`.

import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeSync, existsSync, openSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, type CliResult, execCli, tempDir, writeFiles } from '../support/project.js';
import { busyboxTree, mountsBelow, snapshot, stateEnv } from '../support/rootfs.js';
import { entryLine, evilLibrary, processesBelow, readLayerFile, removeTestDir, sh } from '../support/layer-tree.js';
import { ustar } from '../support/tar.js';

describe('sandbox holes found by red-teaming stay closed', () => {
  let dir: string;
  let project: string;
  let outside: string;
  let outsideBefore: string[];
  const build = (...layers: string[]) => execCli(['-C', project, 'build', ...layers], { env: stateEnv(dir) });
  const layerFile = (layer: string, file: string) => readLayerFile(dir, path.join(project, 'layers', `${layer}.sqsh`), file);


  beforeAll(async () => {
    dir = tempDir('holes');
    project = path.join(dir, 'project');
    outside = path.join(dir, 'outside');
    await writeFiles(outside, { canary: 'canary\n' });
    await busyboxTree(path.join(project, 'inputs/root'));
    await writeFiles(path.join(dir, 'src'), {
      // connect 127.0.0.1:PORT: prints "connected" or why not (busybox's static wget crashes).
      'connect.c': `#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])) };
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) puts("connected");
  else puts(strerror(errno));
  return 0;
}
`,
    });
    await evilLibrary(dir, outside);
    sh(`cc -static -o ${project}/inputs/connect src/connect.c`, { cwd: dir });
    // A root whose NSS configuration and gconv modules are all the evil library, at every
    // path glibc would load them from once the tool's `/` is the layer root.
    const gconv = 't/usr/lib/x86_64-linux-gnu/gconv';
    sh(
      `mkdir -p t/etc t/lib/x86_64-linux-gnu t/usr/lib/x86_64-linux-gnu ${gconv}
       for d in t/lib t/lib/x86_64-linux-gnu t/usr/lib/x86_64-linux-gnu; do
         for m in evil files compat; do cp ${dir}/evil.so $d/libnss_$m.so.2; done
       done
       printf 'passwd: evil\\ngroup: evil\\nshadow: evil\\n' > t/etc/nsswitch.conf
       echo 'evil:x:1234:1234::/:/bin/sh' > t/etc/passwd
       for cs in ANSI_X3.4-1968 UTF-8 ISO-8859-1; do printf 'module %s// EVIL// EVIL 1\\nmodule EVIL// %s// EVIL 1\\n' $cs $cs; done > ${gconv}/gconv-modules
       for f in EVIL ISO8859-2 UTF-16 UTF-32 UNICODE; do cp ${dir}/evil.so ${gconv}/$f.so; done
       iconvconfig --nostdlib --prefix=$PWD/t /usr/lib/x86_64-linux-gnu/gconv
       tar --numeric-owner -C t -cf inputs/trap.tar .
       mkdir -p p; echo plain > p/plain-file; tar --numeric-owner -C p -czf inputs/plain.tar.gz .`,
      { cwd: project },
    );
    // A member whose named ACL makes tar look the name up, and one whose pax name is not ASCII.
    await fs.writeFile(
      path.join(project, 'inputs/acl.tar'),
      ustar([
        { name: 'f-acl', data: 'x', pax: { 'SCHILY.acl.access': 'user::rw-,user:evil:rw-,group::r--,mask::rw-,other::r--' } },
        { name: 'unicode', data: 'x', pax: { path: 'ünïcode-中' } },
      ]),
    );
    const fill = (d: string) =>
      `if busybox dd if=/dev/zero of=${d}/big bs=1M count=48 2>/dev/null; then r="48M written"; else r=full; fi; rm -f ${d}/big; echo "${d}: $r" >> /results`;
    const recipes: Record<string, string> = {
      base: 'steps:\n  - copy: inputs/root/\n',
      fds: `parent: base
steps:
  - untar: inputs/plain.tar.gz
    to: /srv
  - run: |
      : > /results
      for fd in /proc/self/fd/*; do n=\${fd##*/}; [ "$n" -gt 2 ] && [ -d "$fd" ] && echo "fd $n is a directory" >> /results; done
      if echo pwned > /proc/self/fd/200/pwned-by-run; then echo "fd 200: wrote" >> /results; else echo "fd 200: closed" >> /results; fi
      busybox grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/1/status | busybox tr -d '\\t' | busybox sed 's/^/pid 1 /' >> /results
`,
      fill: `parent: base
tmpfs-size: 24M
steps:
  - run: |
      : > /results
      ${fill('/tmp')}
      ${fill('/run')}
      ${fill('/dev/shm')}
      echo left: $(find /tmp /run /dev/shm -mindepth 1) >> /results
      echo > /tmp/kept-in-tmp
`,
      trap: 'parent: base\nsteps:\n  - untar: inputs/trap.tar\n',
      net: `parent: base
steps:
  - copy: inputs/connect
    to: /connect
    mode: "0755"
  - run: |
      echo "host loopback: $(/connect \${PORT})" > /results
  - run: |
      echo "host loopback: $(/connect \${PORT})" >> /results
      rm /connect
    network: true
`,
      escape: `parent: base
steps:
  - run: |
      printf 'title \\033]0;PWNED\\007 clear \\033[2J\\n'
      exit 3
`,
      'trap-acl': `parent: trap
steps:
  - untar: inputs/acl.tar
    to: /srv
  - untar: inputs/acl.tar
    to: /srv2
    replace: true
`,
    };
    for (const [name, text] of Object.entries(recipes)) await writeFiles(project, { [`recipes/${name}.yaml`]: text });
    outsideBefore = (await snapshot(outside)).map(entryLine);
  });

  afterAll(async () => {
    try {
      expect((await snapshot(outside)).map(entryLine)).toEqual(outsideBefore);
      expect(processesBelow(dir)).toEqual([]);
      expect(mountsBelow(dir)).toEqual([]);
    } finally {
      removeTestDir(dir);
    }
  });

  it('a descriptor the caller left open (here a directory outside, as fd 200) reaches no sandbox', async () => {
    const fd = openSync(outside, 'r');
    let res: CliResult;
    try {
      // The CLI inherits the descriptor as fd 200, as from a shell's `200<dir`.
      const stdio: ('ignore' | 'pipe' | number)[] = ['ignore', 'pipe', 'pipe', ...Array<'ignore'>(197).fill('ignore'), fd];
      res = await new Promise<CliResult>((resolve) => {
        const child = spawn(process.execPath, [CLI, '-C', project, 'build', 'fds'], { env: { ...process.env, ...stateEnv(dir) }, stdio });
        let stdout = '';
        let stderr = '';
        child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
        child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
        child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      });
    } finally {
      closeSync(fd);
    }
    expect(res.code, res.stderr).toBe(0);
    expect(existsSync(path.join(outside, 'pwned-by-run'))).toBe(false);
    expect((await layerFile('fds', 'results')).trim().split('\n')).toEqual([
      'fd 200: closed',
      // pid 1 is bwrap's reaper: a script can ptrace it (same uid, no capabilities to gain),
      // but it has no capabilities and the same seccomp filter and no_new_privs.
      'pid 1 CapEff:0000000000000000',
      'pid 1 NoNewPrivs:1',
      'pid 1 Seccomp:2',
    ]);
  });

  it('a run script without `network` cannot reach a service on the host\'s loopback', async () => {
    const server = createServer((_req, res) => res.end('host service\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const recipe = path.join(project, 'recipes/net.yaml');
      await fs.writeFile(recipe, (await fs.readFile(recipe, 'utf8')).replaceAll('${PORT}', String(port)));
      const res = await build('net');
      expect(res.code, res.stderr).toBe(0);
      // With `network: true` the script shares the host's network namespace (see the report).
      expect((await layerFile('net', 'results')).trim().split('\n')).toEqual(['host loopback: Connection refused', 'host loopback: connected']);
    } finally {
      server.close();
    }
  });

  // Not fixed: a run script's output (and a tool's messages) reach the user's terminal as they
  // are, control sequences included: setting the window title, clearing the screen, and on
  // some terminals worse (OSC 52 writes the clipboard). The error tail is shown even without
  // --verbose. The fix belongs where output lines are rendered (cli/render.ts, cli/build.ts)
  // or where steps emit them (engine/layer-build.ts), outside the sandbox code.
  it("a run script's output cannot send control sequences to the user's terminal", async () => {
    const res = await build('escape');
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('title');
    const controls = [...res.stderr].filter((c) => (c < ' ' && c !== '\n' && c !== '\t') || c === '\x7f');
    expect(controls).toEqual([]);
  });

  it("a run script's /tmp, /run and /dev/shm count against the layer's tmpfs-size and are left out of the layer", async () => {
    const res = await build('fill');
    expect(res.code, res.stderr).toBe(0);
    expect((await layerFile('fill', 'results')).trim().split('\n')).toEqual(['/tmp: full', '/run: full', '/dev/shm: full', 'left:']);
    await expect(layerFile('fill', 'tmp/kept-in-tmp')).rejects.toThrow();
  });

  it("a layer's nsswitch.conf, NSS modules and gconv modules are never loaded by tar, even when an archive makes it look a name up", async () => {
    const res = await build('trap-acl');
    expect(res.code, res.stderr).toBe(0);
    expect(existsSync(path.join(outside, 'pwned'))).toBe(false);
    for (const layer of ['trap', 'trap-acl']) {
      await expect(layerFile(layer, 'evil-ran')).rejects.toThrow();
    }
    // The name was looked up in the layer's /etc/passwd (data, read by glibc's built-in files
    // module): the ACL's mask shows in the group bits.
    // With `replace`, tar unpacks into an empty staging root, which has no user `evil`: the ACL
    // is dropped with a warning there.
    for (const [d, mode] of [['srv', '664'], ['srv2', '644']] as const) {
      const mnt = path.join(dir, 'view-acl');
      await fs.mkdir(mnt, { recursive: true });
      sh(`mount -t squashfs -o ro,loop ${path.join(project, 'layers/trap-acl.sqsh')} ${mnt}`);
      try {
        expect(((await fs.stat(path.join(mnt, d, 'f-acl'))).mode & 0o777).toString(8)).toBe(mode);
        expect(existsSync(path.join(mnt, d, 'ünïcode-中'))).toBe(true);
      } finally {
        sh(`umount ${mnt}`);
      }
    }
  });
});

// The tool sandbox as a process sees it: the layer root as `/` with no way out, only the
// capabilities a tool needs, no_new_privs and both seccomp filters, and no program of its
// own can be started (the layer's loader would read the layer's /etc/ld.so.preload).

import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_DIR, HostTools } from '../../src/mount/host-tools.js';
import { toolSandboxArgv, withSeccomp } from '../../src/mount/sandbox.js';
import { tempDir } from '../support/project.js';
import { removeTestDir } from '../support/layer-tree.js';

describe('tool sandbox', () => {
  let dir: string;
  let root: string;
  let tools: HostTools;

  beforeAll(async () => {
    dir = tempDir('tool-sandbox');
    root = path.join(dir, 'root');
    await fs.mkdir(path.join(root, HOST_DIR), { recursive: true });
    await fs.mkdir(path.join(root, 'etc'));
    await fs.writeFile(path.join(root, 'etc/in-root'), 'yes\n');
    tools = await HostTools.detect(dir);
  });

  afterAll(() => removeTestDir(dir));

  /** Runs a bash script as the sandboxed tool, with the host's /proc at HOST_DIR/proc to look at itself. */
  const inSandbox = async (script: string) => {
    const bash = (await tools.command('bash'))!;
    const argv = toolSandboxArgv({
      root,
      tools,
      chdir: '/etc',
      extraBinds: [{ host: '/proc', name: 'proc' }],
      tool: bash,
      args: ['-c', script],
      env: { LC_ALL: 'C' },
    });
    const [cmd, ...args] = withSeccomp(tools, argv);
    return execFileSync(cmd!, args, { encoding: 'utf8' }).trim().split('\n');
  };

  it('is in the layer root, with the tool capabilities, no_new_privs and seccomp', async () => {
    const out = await inSandbox(`
      echo "cwd $PWD"; cd /../../..; echo "root $(echo /*)"
      while read -r k v; do case $k in NoNewPrivs:|Seccomp:|CapEff:|CapPrm:|CapInh:) echo "$k $v";; esac; done < ${HOST_DIR}/proc/self/status
    `);
    expect(out).toEqual([
      'cwd /etc',
      'root /etc',
      'CapInh: 000000008800001b',
      // CHOWN DAC_OVERRIDE FOWNER FSETID MKNOD SETFCAP; SYS_CHROOT was dropped after the chroot.
      'CapPrm: 000000008800001b',
      'CapEff: 000000008800001b',
      'NoNewPrivs: 1',
      'Seccomp: 2',
    ]);
  });

  it('cannot start a program, not even a host one', async () => {
    const out = await inSandbox(`
      ${HOST_DIR}/usr/bin/true 2>/dev/null && echo "exec ran" || echo "exec refused"
      (exec ${HOST_DIR}/usr/bin/true) 2>/dev/null && echo "exec builtin ran" || echo "exec builtin refused"
    `);
    expect(out).toEqual(['exec refused', 'exec builtin refused']);
  });
});

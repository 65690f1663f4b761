// A host hook's processes end with its step: daemons it started (even in their own session)
// are gone when the build ends, no mount stays busy and no loop device is left.

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execCli, tempDir, writeFiles } from '../support/project.js';
import { busyboxTree, mountsBelow, stateEnv } from '../support/rootfs.js';
import { processesWithCmdline, removeTestDir } from '../support/layer-tree.js';

describe('host steps', () => {
  let dir: string;
  let project: string;

  beforeAll(async () => {
    dir = tempDir('host-step');
    project = path.join(dir, 'project');
    await busyboxTree(path.join(project, 'inputs/root'));
    await writeFiles(project, {
      'recipes/base.yaml': 'steps:\n  - copy: inputs/root/\n',
      'recipes/daemon.yaml': 'parent: base\nsteps:\n  - host: hooks/daemon.sh\n',
      // Daemons in their own session and process group, one holding the merged root as its cwd.
      'hooks/daemon.sh': {
        text: '#!/bin/sh\nsetsid sleep 4711 &\n(cd "$SQSH_ROOT" && exec setsid sleep 4712) &\necho hook-ran > "$SQSH_ROOT/hook-ran"\n',
        mode: 0o755,
      },
    });
  });

  afterAll(() => removeTestDir(dir));

  it('a setsid daemon started by a hook is gone when the build ends', async () => {
    const res = await execCli(['-C', project, 'build'], { env: stateEnv(dir) });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).not.toMatch(/stayed busy|lazily/);
    expect(processesWithCmdline(['sleep', '4711'])).toEqual([]);
    expect(processesWithCmdline(['sleep', '4712'])).toEqual([]);
    expect(mountsBelow(dir)).toEqual([]);
    const loops = execFileSync('losetup', ['-a'], { encoding: 'utf8' });
    expect(loops.split('\n').filter((l) => l.includes(dir))).toEqual([]);
  });
});

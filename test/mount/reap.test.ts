// Reaping a killed run's processes: group leaders go with their groups, and a command that
// stayed in the tool's own process group (boot --console's qemu, which needs the terminal)
// goes by itself, without touching the group it shares.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { processStart, pidAlive } from '../../src/mount/process-id.js';
import { killChildren } from '../../src/mount/reap.js';

const started: number[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function sleeper(detached: boolean): Promise<{ pid: number; start: number; exited: Promise<void> }> {
  const child = spawn('sleep', ['300'], { detached, stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  started.push(child.pid!);
  const start = await processStart(child.pid!);
  return { pid: child.pid!, start: start!, exited };
}

describe('killChildren', () => {
  it('kills a recorded group leader with its group, and a recorded process that leads no group by itself', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sqsh-layers-test-reap-'));
    dirs.push(dir);
    const leader = await sleeper(true);
    const inOurGroup = await sleeper(false);
    writeFileSync(path.join(dir, 'children'), `${leader.pid} ${leader.start}\n${inOurGroup.pid} ${inOurGroup.start}\n`);
    expect(await killChildren(dir, 'children')).toBe(2);
    await Promise.all([leader.exited, inOurGroup.exited]);
    expect(await pidAlive(leader.pid)).toBe(false);
    expect(await pidAlive(inOurGroup.pid)).toBe(false);
    // The test's own process group (shared with the second sleeper) was not killed: we are here.
  });

  it('leaves a recorded pid alone when it now belongs to a process started later', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sqsh-layers-test-reap-'));
    dirs.push(dir);
    const other = await sleeper(false);
    writeFileSync(path.join(dir, 'children'), `${other.pid} ${other.start - 1}\n`);
    expect(await killChildren(dir, 'children')).toBe(0);
    expect(await pidAlive(other.pid)).toBe(true);
  });
});

import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mksquashfsVersion } from '../../src/cache/tool-version.js';
import { Runner } from '../../src/process/run.js';
import { tempDir } from '../support/project.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function runnerWithPath(pathEnv: string): Runner {
  return new Runner({ log: { verbose: () => {}, info: () => {} }, dryRun: false, signal: new AbortController().signal, env: { PATH: pathEnv } });
}

describe('mksquashfsVersion', () => {
  it('asks the mksquashfs on the runner\'s PATH once, then remembers the answer', async () => {
    const dir = tempDir('tool-version');
    dirs.push(dir);
    const calls = path.join(dir, 'calls');
    const fake = path.join(dir, 'mksquashfs');
    writeFileSync(fake, `#!/bin/sh\necho x >> ${calls}\necho "mksquashfs version 9.9-test (2099/01/01)"\necho "copyright"\n`);
    chmodSync(fake, 0o755);
    const runner = runnerWithPath(`${dir}:/usr/bin:/bin`);
    expect(await mksquashfsVersion(runner, path.join(dir, 'cache'))).toBe('mksquashfs version 9.9-test (2099/01/01)');
    expect(await mksquashfsVersion(runner, path.join(dir, 'cache'))).toBe('mksquashfs version 9.9-test (2099/01/01)');
    expect(readFileSync(calls, 'utf8')).toBe('x\n');
  });

  it('says so when the runner\'s PATH has no mksquashfs', async () => {
    const dir = tempDir('tool-version');
    dirs.push(dir);
    expect(await mksquashfsVersion(runnerWithPath(dir), path.join(dir, 'cache'))).toBe('mksquashfs not installed');
  });
});

import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findOnPath } from '../../src/process/which.js';
import { tempDir } from '../support/project.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function bins(): { a: string; b: string } {
  const dir = tempDir('which');
  dirs.push(dir);
  const a = path.join(dir, 'a');
  const b = path.join(dir, 'b');
  mkdirSync(a);
  mkdirSync(b);
  return { a, b };
}

function tool(dir: string, name: string, mode = 0o755): string {
  const file = path.join(dir, name);
  writeFileSync(file, '#!/bin/sh\n');
  chmodSync(file, mode);
  return file;
}

describe('findOnPath', () => {
  it('searches the PATH it is given, in order', async () => {
    const { a, b } = bins();
    tool(b, 'sqsh-test-tool');
    expect(await findOnPath('sqsh-test-tool', `${a}:${b}`)).toBe(path.join(b, 'sqsh-test-tool'));
    expect(await findOnPath('sqsh-test-tool', a)).toBeUndefined();
    tool(a, 'sqsh-test-tool');
    expect(await findOnPath('sqsh-test-tool', `${a}:${b}`)).toBe(path.join(a, 'sqsh-test-tool'));
  });

  it('skips files that are not executable and directories', async () => {
    const { a, b } = bins();
    tool(a, 'sqsh-test-tool', 0o644);
    mkdirSync(path.join(b, 'sqsh-test-tool'));
    expect(await findOnPath('sqsh-test-tool', `${a}:${b}`)).toBeUndefined();
  });

  it('takes a name with a slash as a path, whatever PATH says', async () => {
    const { a } = bins();
    const file = tool(a, 'sqsh-test-tool');
    expect(await findOnPath(file, '')).toBe(file);
    expect(await findOnPath(path.join(a, 'missing'), a)).toBeUndefined();
  });
});

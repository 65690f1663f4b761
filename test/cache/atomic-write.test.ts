import { promises as fs, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { replaceAtomically, writeAtomic } from '../../src/cache/atomic-write.js';
import { writerPid } from '../../src/cache/cache-run.js';
import { tempDir } from '../support/project.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function dir(): string {
  const d = tempDir('atomic');
  dirs.push(d);
  return d;
}

describe('writeAtomic', () => {
  it('creates the directory and replaces the file, leaving no temp file', async () => {
    const d = dir();
    const file = path.join(d, 'sub', 'manifest.json');
    await writeAtomic(file, 'one\n');
    await writeAtomic(file, 'two\n');
    expect(await fs.readFile(file, 'utf8')).toBe('two\n');
    expect(readdirSync(path.dirname(file))).toEqual(['manifest.json']);
  });

  it('names its temp file after the writer, so clean-ups spare a live one', async () => {
    const d = dir();
    const seen: string[] = [];
    await replaceAtomically(path.join(d, 'tools.json'), async (tmp) => {
      seen.push(path.basename(tmp));
      await fs.writeFile(tmp, '{}');
    });
    expect(seen).toHaveLength(1);
    expect(writerPid(seen[0]!)).toBe(process.pid);
  });
});

describe('replaceAtomically', () => {
  it('keeps the old file and removes the temp file when filling fails', async () => {
    const d = dir();
    const file = path.join(d, 'layer.sqsh');
    await fs.writeFile(file, 'old');
    const tmp = path.join(d, '.layer.sqsh.RUN.tmp');
    const err = await replaceAtomically(
      file,
      async (t) => {
        await fs.writeFile(t, 'half');
        throw new Error('disk full');
      },
      tmp,
    ).catch((e: unknown) => e);
    expect((err as Error).message).toBe('disk full');
    expect(await fs.readFile(file, 'utf8')).toBe('old');
    expect(readdirSync(d)).toEqual(['layer.sqsh']);
  });

  it('replaces a stale temp file of the same name', async () => {
    const d = dir();
    const tmp = path.join(d, '.layer.sqsh.RUN.tmp');
    await fs.writeFile(tmp, 'stale');
    await replaceAtomically(path.join(d, 'layer.sqsh'), (t) => fs.writeFile(t, 'new', { flag: 'wx' }), tmp);
    expect(await fs.readFile(path.join(d, 'layer.sqsh'), 'utf8')).toBe('new');
    expect(readdirSync(d)).toEqual(['layer.sqsh']);
  });
});

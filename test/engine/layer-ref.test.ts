// LAYER arguments of inspect, diff, verify and shell: a project layer and its stack, a .sqsh
// file beside the manifest.json that records its parents, a file on its own, and the errors.

import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isPathArgument, resolveLayer } from '../../src/engine/layer-ref.js';
import { failureOf } from '../../src/failure.js';
import { tempDir } from '../support/project.js';

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

function layersDir(files: string[], manifest?: Record<string, string | null>): string {
  const d = tempDir('layer-ref');
  made.push(d);
  const layers = path.join(d, 'layers');
  mkdirSync(layers);
  for (const f of files) writeFileSync(path.join(layers, f), 'x');
  if (manifest) {
    const entries = Object.fromEntries(Object.entries(manifest).map(([n, parent]) => [n, { file: `${n}.sqsh`, parent, sha256: 'a'.repeat(64), size: 1 }]));
    writeFileSync(path.join(layers, 'manifest.json'), JSON.stringify({ version: 1, layers: entries }));
  }
  return d;
}

const noProject = () => Promise.reject(new Error('no project asked for'));

async function failure(p: Promise<unknown>) {
  return failureOf(await p.then(() => undefined, (e: unknown) => e));
}

describe('resolveLayer', () => {
  it('tells names from paths', () => {
    expect(isPathArgument('server')).toBe(false);
    expect(isPathArgument('server.sqsh')).toBe(true);
    expect(isPathArgument('old/server')).toBe(true);
    expect(isPathArgument('Server')).toBe(true);
  });

  it('stacks a project layer on its recipes\' parents, from layers/', async () => {
    const d = layersDir(['base.sqsh', 'top.sqsh'], { base: null, top: 'base' });
    const ref = await resolveLayer('top', d, () => Promise.resolve({ dir: d, stack: () => ['top', 'base'] }));
    expect(ref.stack).toEqual([
      { name: 'top', file: path.join(d, 'layers/top.sqsh') },
      { name: 'base', file: path.join(d, 'layers/base.sqsh') },
    ]);
    expect(ref.projectLayer).toBe('top');
    expect(Object.keys(ref.manifest!.layers)).toEqual(['base', 'top']);
  });

  it('says which layers of the stack are not built', async () => {
    const d = layersDir(['top.sqsh']);
    const f = await failure(resolveLayer('top', d, () => Promise.resolve({ dir: d, stack: () => ['top', 'mid', 'base'] })));
    expect(f).toEqual({ reason: 'not-built', layers: ['mid', 'base'], target: 'top' });
  });

  it('stacks a .sqsh file on the parents its manifest.json records', async () => {
    const d = layersDir(['base.sqsh', 'mid.sqsh', 'top.sqsh'], { base: null, mid: 'base', top: 'mid' });
    const ref = await resolveLayer('layers/top.sqsh', d, noProject);
    expect(ref.stack.map((l) => l.name)).toEqual(['top', 'mid', 'base']);
    expect(ref.label).toBe('layers/top.sqsh');
    expect(ref.projectLayer).toBeUndefined();
  });

  it('takes a file its manifest does not name, or with no manifest, on its own', async () => {
    const d = layersDir(['base.sqsh', 'stray.sqsh'], { base: null });
    expect((await resolveLayer('layers/stray.sqsh', d, noProject)).stack).toEqual([{ name: 'stray', file: path.join(d, 'layers/stray.sqsh') }]);
    const e = layersDir(['alone.sqsh']);
    expect((await resolveLayer(path.join(e, 'layers/alone.sqsh'), '/', noProject)).stack.map((l) => l.name)).toEqual(['alone']);
  });

  it('refuses a missing file, a parent missing beside it, and a parent loop', async () => {
    const d = layersDir(['top.sqsh'], { base: null, top: 'base' });
    expect(await failure(resolveLayer('layers/nope.sqsh', d, noProject))).toEqual({ reason: 'usage', message: 'layers/nope.sqsh: no such layer file' });
    expect(await failure(resolveLayer('layers/top.sqsh', d, noProject))).toEqual({ reason: 'not-built', layers: ['base'], target: 'layers/top.sqsh' });
    const loop = layersDir(['a.sqsh', 'b.sqsh'], { a: 'b', b: 'a' });
    const f = await failure(resolveLayer('layers/a.sqsh', loop, noProject));
    expect(f.reason === 'usage' && f.message).toContain('the parents of a are not all recorded');
  });

  it('refuses a manifest beside a downloaded file that points a parent at another host file', async () => {
    const d = layersDir(['top.sqsh'], { top: 'base' });
    const secret = path.join(d, 'secret.sqsh');
    writeFileSync(secret, 'host file');
    const manifest = path.join(d, 'layers/manifest.json');
    const hostile = (base: Record<string, unknown>) =>
      writeFileSync(manifest, JSON.stringify({ version: 1, layers: { top: { file: 'top.sqsh', parent: 'base', sha256: 'a'.repeat(64), size: 1 }, ...base } }));
    hostile({ base: { file: '../secret.sqsh', parent: null, sha256: 'a'.repeat(64), size: 1 } });
    let f = await failure(resolveLayer('layers/top.sqsh', d, noProject));
    expect(f.reason === 'usage' && f.message).toContain('layer "base" is recorded as "../secret.sqsh", not as a layer file beside it');
    hostile({ '../x': { file: '../x.sqsh', parent: null, sha256: 'a'.repeat(64), size: 1 } });
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('"parent":"base"', '"parent":"../x"'));
    f = await failure(resolveLayer('layers/top.sqsh', d, noProject));
    expect(f.reason === 'usage' && f.message).toContain('layer "../x" is recorded as "../x.sqsh"');
    // A symlink named like a layer file, pointing at a host file, is not stacked either.
    hostile({ base: { file: 'base.sqsh', parent: null, sha256: 'a'.repeat(64), size: 1 } });
    symlinkSync(secret, path.join(d, 'layers/base.sqsh'));
    f = await failure(resolveLayer('layers/top.sqsh', d, noProject));
    expect(f.reason === 'usage' && f.message).toContain('base.sqsh: not a regular file');
  });
});

// `layerdev` and `boot` on the command line: help with examples, and every usage error found
// before anything is built, locked or mounted (exit 2).

import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, writeFiles } from '../support/project.js';

const dir = tempDir('boot-cli');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function project(): Promise<string> {
  await writeFiles(dir, { 'recipes/base.yaml': 'steps:\n  - remove: [/nothing]\n', 'recipes/app.yaml': 'parent: base\nsteps:\n  - remove: [/x]\n' });
  return dir;
}

describe('layerdev and boot usage', () => {
  it.each([['layerdev'], ['boot']])('--help of %s shows examples', async (cmd) => {
    const r = await runCli([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`\\nExamples:\\n  sqsh-layers ${cmd}\\b`));
  });

  it.each([
    [['layerdev', 'app'], "error: required option '--out <img>' not specified"],
    [['layerdev', '--out', 'x.img', '--size', 'big'], 'error: --size must be a size such as 512M or 2G, found "big"'],
    [['layerdev', '--out', 'x.img', '--layerdir', 'a b'], 'error: --layerdir "a b": use letters, digits'],
    [['layerdev', 'nope', '--out', 'x.img'], 'error: unknown layer "nope"'],
    [['--dry-run', 'layerdev', '--out', 'x.img'], 'error: --dry-run is not supported by this command'],
    [['layerdev', '--out', 'no/such/dir/x.img'], 'error: --out no/such/dir/x.img: '],
    [['boot'], "error: missing required argument 'layer'"],
    [['boot', 'app', '--timeout', 'soon'], 'error: --timeout must be a number of seconds, found "soon"'],
    [['boot', 'app', '--memory', 'lots'], 'error: --memory must be a size such as 512M or 2G, found "lots"'],
    [['--json', 'boot', 'app', '--console'], 'error: --console is interactive: it has no --json result'],
    [['boot', 'ap'], 'error: unknown layer "ap" (did you mean "app"?)'],
    [['boot', 'app', '--layerdir', '/abs'], 'error: --layerdir is relative to the root of the device, found "/abs"'],
  ])('%j is a usage error (exit 2) found before anything runs', async (args, message) => {
    const cwd = await project();
    const r = await runCli(args, { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
    expect(existsSync(path.join(cwd, 'layers'))).toBe(false);
    expect(existsSync(path.join(cwd, 'x.img'))).toBe(false);
  });
});

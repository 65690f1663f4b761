// init: the files of a new project, its SOURCE_DATE_EPOCH, the schema modeline in every
// recipe, a project that plan accepts as it is, and the refusal of a non-empty directory.

import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { runCli, tempDir } from '../support/project.js';

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});
function dir(label: string): string {
  const d = tempDir(label);
  made.push(d);
  return d;
}

describe('init', () => {
  it('creates a commented project that plan accepts, reproducible from the time of init', async () => {
    const parent = dir('init');
    const before = Math.floor(Date.now() / 1000);
    const r = await runCli(['init', 'proj'], { cwd: parent });
    expect(r.code, r.stderr).toBe(0);
    const p = path.join(parent, 'proj');
    expect(r.stdout).toContain('created a layer project in proj:');
    expect(readdirSync(p).sort()).toEqual(['.gitignore', 'files', 'hooks', 'recipes', 'schema', 'sqsh-layers.yaml']);
    const epoch = Number(/^source-date-epoch: (\d+)$/m.exec(readFileSync(path.join(p, 'sqsh-layers.yaml'), 'utf8'))![1]);
    expect(epoch).toBeGreaterThanOrEqual(before);
    expect(epoch).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    for (const recipe of readdirSync(path.join(p, 'recipes'))) {
      const text = readFileSync(path.join(p, 'recipes', recipe), 'utf8');
      expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../schema/recipe.schema.json');
      expect(existsSync(path.join(p, 'recipes', '../schema/recipe.schema.json'))).toBe(true);
    }
    expect(readFileSync(path.join(p, 'recipes/base.yaml'), 'utf8')).toMatch(/^ {2}- host: hooks\/debootstrap\.sh$/m);
    expect(readFileSync(path.join(p, 'recipes/app.yaml'), 'utf8')).toMatch(/^parent: base$/m);
    expect(statSync(path.join(p, 'hooks/debootstrap.sh')).mode & 0o777).toBe(0o755);
    expect(readFileSync(path.join(p, '.gitignore'), 'utf8').split('\n')).toEqual(expect.arrayContaining(['layers/', '.sqsh-cache/']));
    expect(JSON.parse(readFileSync(path.join(p, 'schema/recipe.schema.json'), 'utf8'))).toHaveProperty('$schema');

    const plan = await runCli(['--json', 'plan'], { cwd: p });
    expect(plan.code, plan.stderr).toBe(0);
    expect((JSON.parse(plan.stdout) as { order: string[] }).order).toEqual(['base', 'app']);
  });

  it('takes SOURCE_DATE_EPOCH from the environment, and -C as the directory', async () => {
    const p = dir('init-env');
    const r = await runCli(['-C', p, '--json', 'init'], { env: { SOURCE_DATE_EPOCH: '1700000000' } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ dir: p, sourceDateEpoch: 1700000000, written: true });
    expect(readFileSync(path.join(p, 'sqsh-layers.yaml'), 'utf8')).toContain('\nsource-date-epoch: 1700000000\n');
  });

  it('refuses a directory that is not empty, and writes nothing', async () => {
    const p = dir('init-full');
    writeFileSync(path.join(p, 'notes.txt'), 'mine\n');
    const r = await runCli(['init'], { cwd: p });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`sqsh-layers: error: ${p} is not empty (notes.txt); init makes a new project in an empty or new directory\n`);
    expect(readdirSync(p)).toEqual(['notes.txt']);
    mkdirSync(path.join(p, 'sub'));
    writeFileSync(path.join(p, 'sub', '.hidden'), '');
    expect((await runCli(['init', 'sub'], { cwd: p })).code).toBe(2);
    const dry = await runCli(['--dry-run', 'init', 'new'], { cwd: p });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('would create a layer project in new:');
    expect(existsSync(path.join(p, 'new'))).toBe(false);
  });
});

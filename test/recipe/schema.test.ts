import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadProject } from '../../src/recipe/load.js';
import { projectSchema, recipeSchema, stepKinds } from '../../src/recipe/schema.js';
import type { Loc, Recipe } from '../../src/recipe/types.js';
import { REPO, tempDir, writeFiles } from '../support/project.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('published schemas', () => {
  // Editors read schema/*.schema.json; `npm run schema` (after `npm run build`) rewrites them.
  it.each([
    ['schema/recipe.schema.json', recipeSchema],
    ['schema/project.schema.json', projectSchema],
  ])('%s is the exported schema', (file, schema) => {
    expect(readFileSync(path.join(REPO, file), 'utf8')).toBe(JSON.stringify(schema, null, 2) + '\n');
  });

  it('has one definition per step kind, each requiring its own key', () => {
    expect(stepKinds).toEqual(['restore', 'untar', 'copy', 'run', 'host', 'remove']);
    for (const k of stepKinds) expect(recipeSchema.definitions[k].required).toEqual([k]);
  });
});

// The example of PRODUCT.md section 1, verbatim.
const SERVER = `# recipes/server.yaml
description: nginx on top of base
parent: base                 # absent: a bottom layer, built over an empty root
steps:                       # run in order against the layer's merged root
  - restore: inputs/server.dump     # dump(8) image restored at / ; restoresymtable removed
    replace: true                   # optional: the image IS the new tree (see below)
  - untar: inputs/app.tar.gz        # tar (gz/xz/zst/plain); owners, modes, xattrs kept
    to: /opt/app                    # default /
  - copy: files/nginx/              # file or tree; default destination /
    to: /etc/nginx/
    owner: 0:0                      # optional; mode: optional
  - run: |                          # shell script run INSIDE the root, sandboxed
      apt-get install -y --no-install-recommends nginx-light
    network: true                   # default false: no network in the sandbox
    env: { DEBIAN_FRONTEND: noninteractive }
  - host: hooks/manage.sh           # executable run on the HOST (cwd = merged root)
  - remove: [/etc/motd, /var/cache/apt/archives/*.deb]   # globs inside the root
exclude: [/var/log/apt/**, /var/cache/apt/*.bin]        # never packed into the layer
prune-identical: true        # default true: drop upper entries identical to the lowers
squashfs: { compression: zstd, level: 15, block-size: 128K }
tmpfs-size: 50%              # size of the tmpfs upper
checks:                      # commands \`verify\` runs inside the assembled stack
  - nginx -t
`;

const F = 'recipes/server.yaml';
const loc = (line: number, col: number, endLine: number, endCol: number): Loc => ({ file: F, line, col, endLine, endCol });
/** A node spanning several lines is underlined to the end of its first line. */
const toLineEnd = (line: number, col: number): Loc => loc(line, col, line, SERVER.split('\n')[line - 1]!.length + 1);

describe('the example recipe of the product spec', () => {
  it('loads into the typed recipe', async () => {
    const dir = tempDir('schema');
    dirs.push(dir);
    await writeFiles(dir, {
      'recipes/base.yaml': 'steps:\n  - run: "true"\n',
      'recipes/server.yaml': SERVER,
      'inputs/server.dump': 'dump',
      'inputs/app.tar.gz': 'tar',
      'files/nginx/nginx.conf': 'conf',
      'hooks/manage.sh': { text: '#!/bin/sh\n', mode: 0o755 },
    });
    const { project, diagnostics } = await loadProject(dir, { checkInputs: true });
    expect(diagnostics).toEqual([]);
    const expected: Recipe = {
      name: 'server',
      file: F,
      description: 'nginx on top of base',
      parent: 'base',
      steps: [
        {
          kind: 'restore',
          index: 0,
          loc: toLineEnd(5, 5),
          input: { path: 'inputs/server.dump', abs: path.join(dir, 'inputs/server.dump'), loc: loc(5, 14, 5, 32) },
          to: '/',
          replace: true,
        },
        {
          kind: 'untar',
          index: 1,
          loc: toLineEnd(7, 5),
          input: { path: 'inputs/app.tar.gz', abs: path.join(dir, 'inputs/app.tar.gz'), loc: loc(7, 12, 7, 29) },
          to: '/opt/app',
          replace: false,
        },
        {
          kind: 'copy',
          index: 2,
          loc: toLineEnd(9, 5),
          input: { path: 'files/nginx/', abs: path.join(dir, 'files/nginx'), loc: loc(9, 11, 9, 23) },
          to: '/etc/nginx/',
          owner: { uid: 0, gid: 0 },
          mode: undefined,
          replace: false,
        },
        {
          kind: 'run',
          index: 3,
          loc: toLineEnd(12, 5),
          script: 'apt-get install -y --no-install-recommends nginx-light\n',
          network: true,
          env: { DEBIAN_FRONTEND: 'noninteractive' },
        },
        {
          kind: 'host',
          index: 4,
          loc: toLineEnd(16, 5),
          input: { path: 'hooks/manage.sh', abs: path.join(dir, 'hooks/manage.sh'), loc: loc(16, 11, 16, 26) },
          env: {},
        },
        { kind: 'remove', index: 5, loc: toLineEnd(17, 5), paths: ['/etc/motd', '/var/cache/apt/archives/*.deb'] },
      ],
      exclude: ['/var/log/apt/**', '/var/cache/apt/*.bin'],
      pruneIdentical: true,
      squashfs: { compression: 'zstd', level: 15, blockSize: 131072 },
      tmpfsSize: '50%',
      checks: ['nginx -t'],
      locs: { file: toLineEnd(2, 1), parent: loc(3, 9, 3, 13), steps: toLineEnd(5, 3) },
    };
    expect(project!.recipes.get('server')).toEqual(expected);
  });

  it('takes the defaults for what it leaves out', async () => {
    const dir = tempDir('schema');
    dirs.push(dir);
    await writeFiles(dir, { 'recipes/base.yaml': 'steps:\n  - copy: f\n  - run: "true"\n  - remove: /etc/motd\n', f: 'x' });
    const { project } = await loadProject(dir, { checkInputs: true });
    const base = project!.recipes.get('base')!;
    expect(base).toMatchObject({
      description: undefined,
      parent: undefined,
      exclude: [],
      pruneIdentical: true,
      squashfs: { compression: 'zstd', level: undefined, blockSize: 131072 },
      tmpfsSize: '50%',
      checks: [],
    });
    expect(base.steps).toMatchObject([
      { kind: 'copy', to: '/', owner: { uid: 0, gid: 0 }, mode: undefined, replace: false },
      { kind: 'run', script: 'true', network: false, env: {} },
      { kind: 'remove', paths: ['/etc/motd'] },
    ]);
    expect(base.locs.parent).toBeUndefined();
  });

  it('reads owner, octal mode, env values and prune-identical: false', async () => {
    const dir = tempDir('schema');
    dirs.push(dir);
    await writeFiles(dir, {
      'recipes/base.yaml': [
        'steps:',
        '  - copy: f',
        '    owner: 1000:100',
        '    mode: "0640"',
        '    replace: true',
        '  - run: make',
        '    env: { JOBS: 4, DEBUG: false, NAME: x }',
        'prune-identical: false',
        'tmpfs-size: 2G',
        '',
      ].join('\n'),
      f: 'x',
    });
    const { project } = await loadProject(dir, { checkInputs: true });
    const base = project!.recipes.get('base')!;
    expect(base.steps[0]).toMatchObject({ kind: 'copy', owner: { uid: 1000, gid: 100 }, mode: 0o640, replace: true });
    expect(base.steps[1]).toMatchObject({ kind: 'run', env: { JOBS: '4', DEBUG: 'false', NAME: 'x' } });
    expect(base.pruneIdentical).toBe(false);
    expect(base.tmpfsSize).toBe('2G');
  });
});

describe('precompiled validators', () => {
  // validate.ts uses code generated from the schemas; `npm run schema` (after `npm run build`) rewrites it.
  it('src/recipe/validators.generated.ts is fresh', async () => {
    const { generateValidatorsSource } = await import('../../src/recipe/generate-validators.js');
    expect(readFileSync(path.join(REPO, 'src/recipe/validators.generated.ts'), 'utf8')).toBe(generateValidatorsSource());
  });
});

import { promises as fs, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openProject } from '../../src/cli/project.js';
import { explainFailure, failureIn } from '../../src/failure.js';
import { diagnosticHeadline } from '../../src/recipe/diagnostic.js';
import { loadProject } from '../../src/recipe/load.js';
import { tempDir, writeFiles } from '../support/project.js';

type Files = Record<string, string | { text: string; mode: number }>;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function project(files: Files): Promise<string> {
  const dir = tempDir('load');
  dirs.push(dir);
  await writeFiles(dir, files);
  return dir;
}

/** Every problem of a project as `openProject` reports it (file problems and graph problems). */
async function problems(files: Files, checkInputs = true): Promise<{ headlines: string[]; text: string; dir: string }> {
  const dir = await project(files);
  const err = await openProject(dir, { checkInputs }).then(
    () => undefined,
    (e: unknown) => e,
  );
  const f = failureIn(err, 'recipe');
  if (!f) throw new Error(`expected recipe errors, got ${String(err)}`);
  return { headlines: f.diagnostics.map(diagnosticHeadline), text: explainFailure(f).message, dir };
}

async function headlines(files: Files, checkInputs = true): Promise<string[]> {
  return (await problems(files, checkInputs)).headlines;
}

const RUN = 'steps:\n  - run: "true"\n';

describe('YAML problems', () => {
  it('reports a syntax error at the string that never closes, with its line underlined', async () => {
    const { text } = await problems({ 'recipes/base.yaml': 'steps:\n  - run: "unterminated\n' });
    expect(text).toBe(
      [
        'recipes/base.yaml:2:10: YAML syntax error: missing closing " of the string that starts here',
        '   2 |   - run: "unterminated',
        '     |          ^^^^^^^^^^^^^',
        '',
        '1 problem in the recipes; nothing was built',
      ].join('\n'),
    );
  });

  it('reports bad indentation with the yaml parser\'s own words', async () => {
    expect(await headlines({ 'recipes/base.yaml': 'steps:\n- run: a\n  bad: : x\n' })).toEqual([
      'recipes/base.yaml:3:8: YAML syntax error: Nested mappings are not allowed in compact mappings',
    ]);
  });

  it('reports an unclosed flow sequence on the last line with text, not past the end of the file', async () => {
    expect(await headlines({ 'recipes/base.yaml': 'steps: [\n  - run: x\n' })).toEqual([
      'recipes/base.yaml:2:3: YAML syntax error: Block collections are not allowed within flow collections',
      'recipes/base.yaml:2:10: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
  });

  it('names a duplicate key and underlines the second one', async () => {
    const { text } = await problems({ 'recipes/base.yaml': `${RUN}steps:\n  - run: b\n` });
    expect(text).toBe(
      [
        'recipes/base.yaml:3:1: duplicate key "steps": a key may appear only once in a mapping',
        '   3 | steps:',
        '     | ^^^^^',
        '',
        '1 problem in the recipes; nothing was built',
      ].join('\n'),
    );
  });

  it('names a duplicate key inside a step', async () => {
    expect(await headlines({ 'recipes/base.yaml': 'steps:\n  - copy: a\n    to: /x\n    to: /y\n' })).toEqual([
      'recipes/base.yaml:4:5: duplicate key "to": a key may appear only once in a mapping',
    ]);
  });

  it('refuses a second YAML document', async () => {
    const { text } = await problems({ 'recipes/base.yaml': `${RUN}---\n${RUN}` });
    expect(text).toBe(
      [
        'recipes/base.yaml:3:1: a recipe file holds one YAML document, found more',
        '   3 | ---',
        '     | ^^^',
        '',
        '1 problem in the recipes; nothing was built',
      ].join('\n'),
    );
  });
});

/** Nested anchors and aliases, each level nine times the one below ("billion laughs"). */
const ALIAS_BOMB = [
  'description: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]',
  'x-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]',
  'x-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]',
  'x-d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]',
  'x-e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]',
  'x-f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]',
  'steps: *f',
  '',
].join('\n');

describe('YAML aliases', () => {
  it('reports an alias bomb at the alias that goes over the limit, with the other files\' problems', async () => {
    const { text } = await problems({ 'recipes/bomb.yaml': ALIAS_BOMB, 'recipes/other.yaml': 'parent: nope\n' + RUN });
    expect(text).toBe(
      [
        'recipes/bomb.yaml:4:10: YAML resource limit: the aliases of this file repeat more than 1000 values; alias *c goes over (an alias bomb?)',
        '   4 | x-d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]',
        '     |          ^^',
        '  hint: an alias repeats the whole value of its anchor, and aliases inside it multiply; write the values out or use fewer aliases',
        '',
        'recipes/other.yaml:1:9: unknown parent "nope": there is no recipes/nope.yaml',
        '   1 | parent: nope',
        '     |         ^^^^',
        '',
        '2 problems in the recipes; nothing was built',
      ].join('\n'),
    );
  });

  it('refuses a bomb in the project file too', async () => {
    expect(await headlines({ 'sqsh-layers.yaml': ALIAS_BOMB.replace('steps: *f', 'jobs: 1'), 'recipes/base.yaml': RUN })).toEqual([
      'sqsh-layers.yaml:4:10: YAML resource limit: the aliases of this file repeat more than 1000 values; alias *c goes over (an alias bomb?)',
    ]);
  });

  it("reports the yaml package's own alias limit, which counts differently, as a recipe error too", async () => {
    // 605 values repeated (under the limit), but *x is counted as 601 uses each by the yaml package.
    const text = `description: &y d\nx-many: [${Array(600).fill('*y').join(', ')}]\nx-one: &x [*y]\nx-two: [*x, *x]\n${RUN}`;
    expect(await headlines({ 'recipes/base.yaml': text })).toEqual([
      'recipes/base.yaml:2:10: YAML resource limit: Excessive alias count indicates a resource exhaustion attack',
    ]);
  });

  it('accepts aliases that repeat a little', async () => {
    const dir = await project({ 'recipes/base.yaml': 'exclude: &x [/tmp/*, /var/cache/*]\nsteps:\n  - run: "true"\n  - remove: *x\n' });
    const { project: p } = await openProject(dir, { checkInputs: true });
    expect(p.recipes.get('base')!.exclude).toEqual(['/tmp/*', '/var/cache/*']);
  });

  it('names an alias without an anchor before it, and one inside the value it repeats', async () => {
    expect(await headlines({ 'recipes/base.yaml': 'steps:\n  - run: *cmd\n  - run: &cmd "true"\n' })).toEqual([
      'recipes/base.yaml:2:10: alias *cmd has no anchor &cmd before it',
    ]);
    expect(await headlines({ 'recipes/base.yaml': 'steps: &s\n  - run: "true"\n  - *s\n' })).toEqual([
      'recipes/base.yaml:3:5: alias *s is inside the value it repeats (&s): it would never end',
    ]);
  });
});

describe('schema problems', () => {
  it('suggests the key meant by an unknown top-level key, and does not also call it missing', async () => {
    const { text } = await problems({ 'recipes/base.yaml': 'description: x\nstpes:\n  - run: a\n' });
    expect(text).toBe(
      [
        'recipes/base.yaml:2:1: unknown key "stpes" (did you mean "steps"?)',
        '   2 | stpes:',
        '     | ^^^^^',
        '  hint: allowed keys: description, parent, steps, exclude, prune-identical, squashfs, tmpfs-size, checks',
        '',
        '1 problem in the recipes; nothing was built',
      ].join('\n'),
    );
  });

  it('reports a missing "steps" when no key resembles it', async () => {
    expect(await headlines({ 'recipes/base.yaml': 'description: x\n' })).toEqual(['recipes/base.yaml:1:1: missing required key "steps"']);
  });

  it('suggests the key meant inside a step, listing the keys of that step kind', async () => {
    const { text } = await problems({ 'recipes/base.yaml': 'steps:\n  - run: a\n    netwrok: true\n' });
    expect(text).toBe(
      [
        'recipes/base.yaml:3:5: unknown key "netwrok" in "steps[0]" (did you mean "network"?)',
        '   3 |     netwrok: true',
        '     |     ^^^^^^^',
        '  hint: allowed keys: run, network, env',
        '',
        '1 problem in the recipes; nothing was built',
      ].join('\n'),
    );
  });

  it('offers no suggestion for a key unlike any allowed one', async () => {
    expect(await headlines({ 'recipes/base.yaml': `${RUN}frobnicate: 1\n` })).toEqual(['recipes/base.yaml:3:1: unknown key "frobnicate"']);
  });

  it('reports wrong types with what was expected and what was found', async () => {
    expect(
      await headlines({
        'recipes/a.yaml': 'steps: run\n',
        'recipes/b.yaml': 'steps:\n  - copy: f\n    replace: "yes"\n',
        'recipes/c.yaml': `${RUN}squashfs:\n  level: "x"\n`,
        'recipes/d.yaml': '- run: a\n',
        'recipes/e.yaml': 'steps:\n  - 3\n',
        'recipes/f.yaml': `${RUN}prune-identical: no\nchecks: nginx -t\n`,
        f: 'x',
      }),
    ).toEqual([
      'recipes/a.yaml:1:8: "steps" must be a list, found "run"',
      'recipes/b.yaml:3:14: "steps[0].replace" must be true or false, found "yes"',
      'recipes/c.yaml:4:10: "squashfs.level" must be an integer, found "x"',
      'recipes/d.yaml:1:1: the recipe must be a mapping, found a list',
      'recipes/e.yaml:2:5: a step must be a mapping such as "run: ...", found 3',
      'recipes/f.yaml:3:18: "prune-identical" must be true or false, found "no"',
      'recipes/f.yaml:4:9: "checks" must be a list, found "nginx -t"',
    ]);
  });

  it('hints at quoting an unquoted mode', async () => {
    const { text } = await problems({ 'recipes/base.yaml': 'steps:\n  - copy: f\n    mode: 0644\n', f: 'x' });
    expect(text).toBe(
      [
        'recipes/base.yaml:3:11: "steps[0].mode" must be a string, found 644',
        '   3 |     mode: 0644',
        '     |           ^^^^',
        '  hint: "steps[0].mode" must be an octal mode in quotes, e.g. "0644"',
        '',
        '1 problem in the recipes; nothing was built',
      ].join('\n'),
    );
  });

  it('reports empty steps, empty steps lists and empty scripts', async () => {
    expect(
      await headlines({
        'recipes/a.yaml': 'steps: []\n',
        'recipes/b.yaml': 'steps:\n  - {}\n',
        'recipes/c.yaml': 'steps:\n  - run: ""\n',
      }),
    ).toEqual([
      'recipes/a.yaml:1:8: "steps" must not be empty',
      'recipes/b.yaml:2:5: an empty step; a step is one of restore, untar, copy, run, host, remove',
      'recipes/c.yaml:2:10: "steps[0].run" must not be empty',
    ]);
  });

  it('suggests the step kind meant by an unknown one', async () => {
    const { text } = await problems({ 'recipes/base.yaml': 'steps:\n  - untr: a.tar\n    to: /opt\n' });
    expect(text).toBe(
      [
        'recipes/base.yaml:2:5: unknown step kind "untr" (did you mean "untar"?); a step is one of restore, untar, copy, run, host, remove',
        '   2 |   - untr: a.tar',
        '     |     ^^^^',
        '',
        '1 problem in the recipes; nothing was built',
      ].join('\n'),
    );
  });

  it('points at the misspelled kind even when another key comes first', async () => {
    expect(await headlines({ 'recipes/base.yaml': 'steps:\n  - to: /opt\n    untr: a.tar\n' })).toEqual([
      'recipes/base.yaml:3:5: unknown step kind "untr" (did you mean "untar"?); a step is one of restore, untar, copy, run, host, remove',
    ]);
  });

  it('refuses a step with two kinds, at the second one', async () => {
    expect(await headlines({ 'recipes/base.yaml': 'steps:\n  - run: a\n    copy: b\n' })).toEqual([
      'recipes/base.yaml:3:5: a step has exactly one kind, found "run" and "copy"; split it into separate steps',
    ]);
  });

  it('suggests the enum value meant', async () => {
    const { text } = await problems({ 'recipes/base.yaml': `${RUN}squashfs: { compression: zst }\n` });
    expect(text).toBe(
      [
        'recipes/base.yaml:3:26: "squashfs.compression" must be one of gzip, lzo, lz4, xz, zstd, found "zst" (did you mean "zstd"?)',
        '   3 | squashfs: { compression: zst }',
        '     |                          ^^^',
        '',
        '1 problem in the recipes; nothing was built',
      ].join('\n'),
    );
  });

  it('explains every pattern failure in words', async () => {
    expect(
      await headlines({
        'recipes/base.yaml': [
          'parent: Base',
          'steps:',
          '  - copy: f',
          '    owner: root',
          '    mode: "rw-r--r--"',
          '    to: etc',
          '  - untar: f',
          '    to: opt/app',
          '  - remove: etc/motd',
          '  - remove: [/etc/issue, var/log]',
          '  - run: a',
          '    env: { 1BAD: x, OK: [1] }',
          'exclude: [var/log]',
          'tmpfs-size: 2X',
          '',
        ].join('\n'),
        f: 'x',
      }),
    ).toEqual([
      'recipes/base.yaml:1:9: "parent" must be the name of another recipe (lowercase letters, digits, ".", "_", "-"), found "Base"',
      'recipes/base.yaml:4:12: "steps[0].owner" must be numeric "UID:GID", e.g. "0:0", found "root"',
      'recipes/base.yaml:5:11: "steps[0].mode" must be an octal mode in quotes, e.g. "0644", found "rw-r--r--"',
      'recipes/base.yaml:6:9: "steps[0].to" must be an absolute path inside the layer root, starting with "/", found "etc"',
      'recipes/base.yaml:8:9: "steps[1].to" must be an absolute path inside the layer root, starting with "/", found "opt/app"',
      'recipes/base.yaml:9:13: "steps[2].remove" must be an absolute path inside the layer root, starting with "/", found "etc/motd"',
      'recipes/base.yaml:10:26: "steps[3].remove[1]" must be an absolute path inside the layer root, starting with "/", found "var/log"',
      'recipes/base.yaml:12:12: "1BAD" in "steps[4].env" must be an environment variable name, found "1BAD"',
      'recipes/base.yaml:12:25: "steps[4].env.OK" must be a string or a number or true or false, found a list',
      'recipes/base.yaml:13:11: "exclude[0]" must be an absolute path inside the layer root, starting with "/", found "var/log"',
      'recipes/base.yaml:14:13: "tmpfs-size" must be a tmpfs size such as "50%", "2G", "512M" or a number of bytes, found "2X"',
    ]);
  });

  it('refuses to remove the whole layer root', async () => {
    expect(await headlines({ 'recipes/base.yaml': 'steps:\n  - remove: /\n  - remove: [/etc/motd, /var/..]\n' })).toEqual([
      'recipes/base.yaml:2:13: "steps[0].remove" would remove the whole layer root, found "/"',
      'recipes/base.yaml:3:25: "steps[1].remove[1]" would remove the whole layer root, found "/var/.."',
    ]);
  });

  it('describes both forms of remove when the value is neither', async () => {
    expect(await headlines({ 'recipes/base.yaml': 'steps:\n  - remove: 3\n  - remove: []\n' })).toEqual([
      'recipes/base.yaml:2:13: "steps[0].remove" must be an absolute path or a list of absolute paths, found 3',
      'recipes/base.yaml:3:13: "steps[1].remove" must not be empty',
    ]);
  });
});

describe('squashfs options', () => {
  it('wants a power-of-two block size from 4K to 1M', async () => {
    expect(
      await headlines({
        'recipes/a.yaml': `${RUN}squashfs: { block-size: 100K }\n`,
        'recipes/b.yaml': `${RUN}squashfs: { block-size: 2M }\n`,
        'recipes/c.yaml': `${RUN}squashfs: { block-size: 2048 }\n`,
        'recipes/d.yaml': `${RUN}squashfs: { block-size: 12X }\n`,
      }),
    ).toEqual([
      'recipes/a.yaml:3:25: "squashfs.block-size" must be a power of two from 4K to 1M, found "100K"',
      'recipes/b.yaml:3:25: "squashfs.block-size" must be a power of two from 4K to 1M, found "2M"',
      'recipes/c.yaml:3:25: "squashfs.block-size" must be a power of two from 4K to 1M, found "2048"',
      'recipes/d.yaml:3:25: "squashfs.block-size" must be a block size such as "128K" or "1M", found "12X"',
    ]);
  });

  it('checks the level against the compressor', async () => {
    const { text } = await problems({
      'recipes/a.yaml': `${RUN}squashfs: { compression: gzip, level: 12 }\n`,
      'recipes/b.yaml': `${RUN}squashfs: { compression: lz4, level: 3 }\n`,
      'recipes/c.yaml': `${RUN}squashfs: { level: 30 }\n`,
      'recipes/d.yaml': `${RUN}squashfs: { compression: xz, level: 0 }\n`,
    });
    expect(text).toBe(
      [
        'recipes/a.yaml:3:39: "squashfs.level" for gzip must be between 1 and 9, found 12',
        '   3 | squashfs: { compression: gzip, level: 12 }',
        '     |                                       ^^',
        '',
        'recipes/b.yaml:3:38: "squashfs.level" does not apply to lz4 compression',
        '   3 | squashfs: { compression: lz4, level: 3 }',
        '     |                                      ^',
        '  hint: remove "level" or choose gzip, lzo or zstd',
        '',
        'recipes/c.yaml:3:20: "squashfs.level" must be between 1 and 22, found 30',
        '   3 | squashfs: { level: 30 }',
        '     |                    ^^',
        '',
        'recipes/d.yaml:3:37: "squashfs.level" must be between 1 and 22, found 0',
        '   3 | squashfs: { compression: xz, level: 0 }',
        '     |                                     ^',
        '',
        '4 problems in the recipes; nothing was built',
      ].join('\n'),
    );
  });

  it('accepts the boundaries of each range', async () => {
    const dir = await project({
      'recipes/a.yaml': `${RUN}squashfs: { compression: gzip, level: 9, block-size: 4K }\n`,
      'recipes/b.yaml': `${RUN}squashfs: { compression: zstd, level: 22, block-size: 1M }\n`,
      'recipes/c.yaml': `${RUN}squashfs: { compression: lzo, level: 1, block-size: 65536 }\n`,
    });
    const { project: p, diagnostics } = await loadProject(dir, { checkInputs: true });
    expect(diagnostics).toEqual([]);
    expect(p!.recipes.get('a')!.squashfs).toEqual({ compression: 'gzip', level: 9, blockSize: 4096 });
    expect(p!.recipes.get('b')!.squashfs).toEqual({ compression: 'zstd', level: 22, blockSize: 1048576 });
    expect(p!.recipes.get('c')!.squashfs).toEqual({ compression: 'lzo', level: 1, blockSize: 65536 });
  });
});

describe('recipe files', () => {
  it('reports bad layer names for the file as a whole, without an excerpt', async () => {
    const long = 'a'.repeat(65);
    const { text } = await problems({
      'recipes/Base.yaml': RUN,
      [`recipes/${long}.yaml`]: RUN,
      'recipes/-x.yaml': RUN,
    });
    const why = 'a name is 1 to 64 characters of a-z, 0-9, ".", "_", "-", starting with a letter or digit';
    const hint = '  hint: the name goes into file names and into the colon-separated sqsh_layers= kernel parameter';
    expect(text).toBe(
      [
        `recipes/-x.yaml:1:1: bad layer name "-x": ${why}`,
        hint,
        '',
        `recipes/Base.yaml:1:1: bad layer name "Base": ${why}`,
        hint,
        '',
        `recipes/${long}.yaml:1:1: bad layer name "${long}": ${why}`,
        hint,
        '',
        '3 problems in the recipes; nothing was built',
      ].join('\n'),
    );
  });

  it('accepts a name of exactly 64 characters and names with ".", "_" and "-"', async () => {
    const name = `a${'b'.repeat(62)}9`;
    const dir = await project({ [`recipes/${name}.yaml`]: RUN, 'recipes/0.web_v-2.yaml': RUN });
    const { project: p, diagnostics } = await loadProject(dir, { checkInputs: true });
    expect(diagnostics).toEqual([]);
    expect([...p!.recipes.keys()]).toEqual(['0.web_v-2', name]);
  });

  it('still checks the content of a badly named file', async () => {
    expect(await headlines({ 'recipes/Base.yaml': 'stpes: []\n' })).toEqual([
      'recipes/Base.yaml:1:1: bad layer name "Base": a name is 1 to 64 characters of a-z, 0-9, ".", "_", "-", starting with a letter or digit',
      'recipes/Base.yaml:1:1: unknown key "stpes" (did you mean "steps"?)',
    ]);
  });

  it('asks for .yaml instead of .yml', async () => {
    const { text } = await problems({ 'recipes/base.yml': RUN });
    expect(text).toBe(
      [
        'recipes/base.yml:1:1: recipe files end in ".yaml"',
        '  hint: rename it to recipes/base.yaml',
        '',
        '1 problem in the recipes; nothing was built',
      ].join('\n'),
    );
  });

  it('reports an empty recipe file, and one holding only a comment', async () => {
    expect(await problems({ 'recipes/a.yaml': '', 'recipes/b.yaml': '# nothing yet\n' })).toMatchObject({
      text: [
        'recipes/a.yaml:1:1: the recipe is empty; it needs at least "steps"',
        '',
        'recipes/b.yaml:1:1: the recipe is empty; it needs at least "steps"',
        '',
        '2 problems in the recipes; nothing was built',
      ].join('\n'),
    });
  });

  it('reports a missing recipes directory with the project it looked in', async () => {
    const { text, dir } = await problems({ 'README.md': 'not a layer project\n' });
    expect(text).toBe(
      [
        'recipes/:1:1: the recipes directory does not exist',
        `  hint: a project holds one recipes/NAME.yaml per layer; run with -C DIR to point at another project (here: ${dir})`,
        '',
        '1 problem in the recipes; nothing was built',
      ].join('\n'),
    );
  });

  it('reports a directory or a dangling symlink named like a recipe instead of failing', async () => {
    const dir = await project({ 'recipes/base.yaml': RUN, 'recipes/dir.yaml/x': 'x' });
    await fs.symlink('nowhere.yaml', path.join(dir, 'recipes/link.yaml'));
    const err = await openProject(dir, { checkInputs: true }).catch((e: unknown) => e);
    const f = failureIn(err, 'recipe');
    expect(f).toBeDefined();
    expect(explainFailure(f!).message).toBe(
      [
        'recipes/dir.yaml:1:1: recipes/dir.yaml is a directory, not a recipe file',
        '',
        'recipes/link.yaml:1:1: recipes/link.yaml is a dangling symlink, not a recipe file',
        '',
        '2 problems in the recipes; nothing was built',
      ].join('\n'),
    );
  });

  it('shows excerpts of files with CRLF line ends without the CR', async () => {
    const { text } = await problems({ 'recipes/base.yaml': 'steps:\r\n  - copy: f\r\n    to: etc\r\n', f: 'x' });
    expect(text).toBe(
      [
        'recipes/base.yaml:3:9: "steps[0].to" must be an absolute path inside the layer root, starting with "/", found "etc"',
        '   3 |     to: etc',
        '     |         ^^^',
        '',
        '1 problem in the recipes; nothing was built',
      ].join('\n'),
    );
  });

  it('reports a recipes directory without recipes', async () => {
    expect(await headlines({ 'recipes/README.md': 'x\n', 'recipes/notes.txt': 'x\n' })).toEqual([
      'recipes/:1:1: no recipes: recipes/ holds no NAME.yaml file',
    ]);
  });
});

describe('inputs', () => {
  it('reports every missing input at its path', async () => {
    const { text } = await problems({
      'recipes/base.yaml': [
        'steps:',
        '  - restore: inputs/base.dump',
        '  - untar: inputs/app.tar.gz',
        '  - copy: files/nginx/',
        '  - host: hooks/manage.sh',
        '',
      ].join('\n'),
    });
    expect(text).toBe(
      [
        'recipes/base.yaml:2:14: missing input: inputs/base.dump does not exist',
        '   2 |   - restore: inputs/base.dump',
        '     |              ^^^^^^^^^^^^^^^^',
        '',
        'recipes/base.yaml:3:12: missing input: inputs/app.tar.gz does not exist',
        '   3 |   - untar: inputs/app.tar.gz',
        '     |            ^^^^^^^^^^^^^^^^^',
        '',
        'recipes/base.yaml:4:11: missing input: files/nginx/ does not exist',
        '   4 |   - copy: files/nginx/',
        '     |           ^^^^^^^^^^^^',
        '',
        'recipes/base.yaml:5:11: missing input: hooks/manage.sh does not exist',
        '   5 |   - host: hooks/manage.sh',
        '     |           ^^^^^^^^^^^^^^^',
        '',
        '4 problems in the recipes; nothing was built',
      ].join('\n'),
    );
  });

  it('wants host scripts executable and restore images to be files', async () => {
    const { text } = await problems({
      'recipes/base.yaml': 'steps:\n  - host: hooks/setup.sh\n  - restore: inputs/\n  - untar: inputs\n  - host: inputs\n',
      'hooks/setup.sh': '#!/bin/sh\n',
      'inputs/x': 'x',
    });
    expect(text).toBe(
      [
        'recipes/base.yaml:2:11: hooks/setup.sh is not executable',
        '   2 |   - host: hooks/setup.sh',
        '     |           ^^^^^^^^^^^^^^',
        '  hint: chmod +x hooks/setup.sh',
        '',
        'recipes/base.yaml:3:14: inputs/ must be a file, found a directory',
        '   3 |   - restore: inputs/',
        '     |              ^^^^^^^',
        '',
        'recipes/base.yaml:4:12: inputs must be a file, found a directory',
        '   4 |   - untar: inputs',
        '     |            ^^^^^^',
        '',
        'recipes/base.yaml:5:11: inputs must be an executable file',
        '   5 |   - host: inputs',
        '     |           ^^^^^^',
        '',
        '4 problems in the recipes; nothing was built',
      ].join('\n'),
    );
  });

  it('accepts existing inputs, relative and absolute, and resolves them against the project', async () => {
    const dir = await project({
      'recipes/base.yaml': 'steps:\n  - copy: files/\n  - host: hooks/setup.sh\n',
      'files/a': 'a',
      'hooks/setup.sh': { text: '#!/bin/sh\n', mode: 0o755 },
    });
    await writeFiles(dir, { 'recipes/abs.yaml': `steps:\n  - untar: ${path.join(dir, 'files/a')}\n` });
    const { project: p, diagnostics } = await loadProject(dir, { checkInputs: true });
    expect(diagnostics).toEqual([]);
    const base = p!.recipes.get('base')!;
    expect(base.steps.map((s) => ('input' in s ? s.input.abs : ''))).toEqual([path.join(dir, 'files'), path.join(dir, 'hooks/setup.sh')]);
    const abs = p!.recipes.get('abs')!.steps[0]!;
    expect('input' in abs && abs.input).toMatchObject({ path: path.join(dir, 'files/a'), abs: path.join(dir, 'files/a') });
  });

  it('does not look at inputs when not asked to (cmdline)', async () => {
    const dir = await project({ 'recipes/base.yaml': 'steps:\n  - restore: inputs/missing.dump\n' });
    const { project: p, diagnostics } = await loadProject(dir, { checkInputs: false });
    expect(diagnostics).toEqual([]);
    expect(p!.recipes.has('base')).toBe(true);
  });
});

describe('parents', () => {
  it('suggests the parent meant by an unknown one, and refuses a layer as its own parent', async () => {
    const { text } = await problems({
      'recipes/base.yaml': RUN,
      'recipes/server.yaml': `parent: bsae\n${RUN}`,
      'recipes/loop.yaml': `parent: loop\n${RUN}`,
      'recipes/zz.yaml': `parent: nothing-like-it\n${RUN}`,
    });
    expect(text).toBe(
      [
        'recipes/loop.yaml:1:9: layer "loop" cannot be its own parent',
        '   1 | parent: loop',
        '     |         ^^^^',
        '',
        'recipes/server.yaml:1:9: unknown parent "bsae": there is no recipes/bsae.yaml (did you mean "base"?)',
        '   1 | parent: bsae',
        '     |         ^^^^',
        '',
        'recipes/zz.yaml:1:9: unknown parent "nothing-like-it": there is no recipes/nothing-like-it.yaml',
        '   1 | parent: nothing-like-it',
        '     |         ^^^^^^^^^^^^^^^',
        '',
        '3 problems in the recipes; nothing was built',
      ].join('\n'),
    );
  });

  it('reports a two-layer cycle at each member', async () => {
    const { text } = await problems({ 'recipes/a.yaml': `parent: b\n${RUN}`, 'recipes/b.yaml': `parent: a\n${RUN}` });
    const hint = '  hint: one layer of the cycle must be a bottom layer (no parent) or take another parent';
    expect(text).toBe(
      [
        'recipes/a.yaml:1:9: parent cycle: a → b → a',
        '   1 | parent: b',
        '     |         ^',
        hint,
        '',
        'recipes/b.yaml:1:9: parent cycle: a → b → a',
        '   1 | parent: a',
        '     |         ^',
        hint,
        '',
        '2 problems in the recipes; nothing was built',
      ].join('\n'),
    );
  });

  it('reports a three-layer cycle once per member, not at layers that only hang below it', async () => {
    expect(
      await headlines({
        'recipes/a.yaml': `parent: c\n${RUN}`,
        'recipes/b.yaml': `parent: a\n${RUN}`,
        'recipes/c.yaml': `parent: b\n${RUN}`,
        'recipes/d.yaml': `parent: c\n${RUN}`,
        'recipes/base.yaml': RUN,
      }),
    ).toEqual([
      'recipes/a.yaml:1:9: parent cycle: a → c → b → a',
      'recipes/b.yaml:1:9: parent cycle: a → c → b → a',
      'recipes/c.yaml:1:9: parent cycle: a → c → b → a',
    ]);
  });

  it('does not call a parent unknown when its recipe exists but is broken', async () => {
    expect(await headlines({ 'recipes/base.yaml': 'stesp: []\n', 'recipes/server.yaml': `parent: base\n${RUN}` })).toEqual([
      'recipes/base.yaml:1:1: unknown key "stesp" (did you mean "steps"?)',
    ]);
  });
});

describe('all problems at once', () => {
  it('reports the problems of every file in one load, sorted by file and position', async () => {
    const files: Files = {
      'recipes/server.yaml': 'parent: bsae\nsteps:\n  - untr: x\n  - copy: files/missing\n    to: etc\n',
      'recipes/base.yaml': 'steps:\n  - run: a\n    netwrok: true\nsquashfs: { compression: zst, block-size: 3K }\n',
      'recipes/config.yaml': 'parent: server\nsteps:\n  - host: hooks/missing.sh\n',
      'recipes/extra.yaml': 'steps: [\n',
      'recipes/Bad.yaml': RUN,
      'recipes/old.yml': RUN,
      'sqsh-layers.yaml': 'tmpfs-size: 2G\n',
    };
    const expected = [
      'recipes/Bad.yaml:1:1: bad layer name "Bad": a name is 1 to 64 characters of a-z, 0-9, ".", "_", "-", starting with a letter or digit',
      'recipes/base.yaml:3:5: unknown key "netwrok" in "steps[0]" (did you mean "network"?)',
      'recipes/base.yaml:4:26: "squashfs.compression" must be one of gzip, lzo, lz4, xz, zstd, found "zst" (did you mean "zstd"?)',
      'recipes/config.yaml:3:11: missing input: hooks/missing.sh does not exist',
      'recipes/extra.yaml:1:8: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
      'recipes/old.yml:1:1: recipe files end in ".yaml"',
      'recipes/server.yaml:1:9: unknown parent "bsae": there is no recipes/bsae.yaml (did you mean "base"?)',
      'recipes/server.yaml:3:5: unknown step kind "untr" (did you mean "untar"?); a step is one of restore, untar, copy, run, host, remove',
      'recipes/server.yaml:5:9: "steps[1].to" must be an absolute path inside the layer root, starting with "/", found "etc"',
    ];
    expect(await headlines(files)).toEqual(expected);
    // The same set again, written in another order: the same report.
    expect(await headlines(Object.fromEntries(Object.entries(files).reverse()))).toEqual(expected);
  });

  it('reports graph problems together with file problems', async () => {
    expect(
      await headlines({
        'recipes/base.yaml': `${RUN}squashfs: { block-size: 3K }\n`,
        'recipes/server.yaml': `parent: bsae\n${RUN}`,
        'recipes/a.yaml': `parent: b\n${RUN}`,
        'recipes/b.yaml': `parent: a\n${RUN}`,
      }),
    ).toEqual([
      'recipes/a.yaml:1:9: parent cycle: a → b → a',
      'recipes/b.yaml:1:9: parent cycle: a → b → a',
      'recipes/base.yaml:3:25: "squashfs.block-size" must be a power of two from 4K to 1M, found "3K"',
      'recipes/server.yaml:1:9: unknown parent "bsae": there is no recipes/bsae.yaml (did you mean "base"?)',
    ]);
  });

  it('reports a cycle through a recipe that has other problems together with them', async () => {
    const { text } = await problems({
      'recipes/a.yaml': `parent: b\n${RUN}`,
      'recipes/b.yaml': 'parent: a\nsteps: []\n',
    });
    const hint = '  hint: one layer of the cycle must be a bottom layer (no parent) or take another parent';
    expect(text).toBe(
      [
        'recipes/a.yaml:1:9: parent cycle: a → b → a',
        '   1 | parent: b',
        '     |         ^',
        hint,
        '',
        'recipes/b.yaml:1:9: parent cycle: a → b → a',
        '   1 | parent: a',
        '     |         ^',
        hint,
        '',
        'recipes/b.yaml:2:8: "steps" must not be empty',
        '   2 | steps: []',
        '     |        ^^',
        '',
        '3 problems in the recipes; nothing was built',
      ].join('\n'),
    );
  });

  it('checks the parent named by a recipe that has problems of its own', async () => {
    expect(
      await headlines({
        'recipes/base.yaml': RUN,
        'recipes/server.yaml': 'parent: bsae\nsteps: []\n',
        'recipes/self.yaml': 'parent: self\nsteps: []\n',
        'recipes/child.yaml': `parent: server\n${RUN}`,
      }),
    ).toEqual([
      'recipes/self.yaml:1:9: layer "self" cannot be its own parent',
      'recipes/self.yaml:2:8: "steps" must not be empty',
      'recipes/server.yaml:1:9: unknown parent "bsae": there is no recipes/bsae.yaml (did you mean "base"?)',
      'recipes/server.yaml:2:8: "steps" must not be empty',
    ]);
  });
});

describe('sqsh-layers.yaml', () => {
  it('reports its problems with suggestions, and still the recipes\' own', async () => {
    const { text } = await problems({
      'sqsh-layers.yaml': 'squashfs: { compresion: xz }\ncache: 3\njbos: 2\nsource-date-epoch: -1\n',
      'recipes/base.yaml': 'stpes: []\n',
    });
    expect(text).toBe(
      [
        'recipes/base.yaml:1:1: unknown key "stpes" (did you mean "steps"?)',
        '   1 | stpes: []',
        '     | ^^^^^',
        '  hint: allowed keys: description, parent, steps, exclude, prune-identical, squashfs, tmpfs-size, checks',
        '',
        'sqsh-layers.yaml:1:13: unknown key "compresion" in "squashfs" (did you mean "compression"?)',
        '   1 | squashfs: { compresion: xz }',
        '     |             ^^^^^^^^^^',
        '  hint: allowed keys: compression, level, block-size',
        '',
        'sqsh-layers.yaml:2:8: "cache" must be a string, found 3',
        '   2 | cache: 3',
        '     |        ^',
        '',
        'sqsh-layers.yaml:3:1: unknown key "jbos" (did you mean "jobs"?)',
        '   3 | jbos: 2',
        '     | ^^^^',
        '  hint: allowed keys: squashfs, tmpfs-size, cache, cache-from, cache-to, source-date-epoch, jobs',
        '',
        'sqsh-layers.yaml:4:20: "source-date-epoch" must be at least 0, found -1',
        '   4 | source-date-epoch: -1',
        '     |                    ^^',
        '',
        '5 problems in the recipes; nothing was built',
      ].join('\n'),
    );
  });

  it('reports YAML problems and option checks of the project file', async () => {
    expect(await headlines({ 'sqsh-layers.yaml': 'jobs: 2\njobs: 3\n', 'recipes/base.yaml': RUN })).toEqual([
      'sqsh-layers.yaml:2:1: duplicate key "jobs": a key may appear only once in a mapping',
    ]);
    expect(await headlines({ 'sqsh-layers.yaml': 'squashfs: { level: 1, "level": 2 }\n', 'recipes/base.yaml': RUN })).toEqual([
      'sqsh-layers.yaml:1:23: duplicate key "level": a key may appear only once in a mapping',
    ]);
    expect(await headlines({ 'sqsh-layers.yaml': '- jobs: 2\n', 'recipes/base.yaml': RUN })).toEqual([
      'sqsh-layers.yaml:1:1: sqsh-layers.yaml must be a mapping, found a list',
    ]);
    expect(
      await headlines({ 'sqsh-layers.yaml': 'squashfs: { compression: lz4, level: 3, block-size: 3K }\n', 'recipes/base.yaml': RUN }),
    ).toEqual([
      'sqsh-layers.yaml:1:38: "squashfs.level" does not apply to lz4 compression',
      'sqsh-layers.yaml:1:53: "squashfs.block-size" must be a power of two from 4K to 1M, found "3K"',
    ]);
    expect(await headlines({ 'sqsh-layers.yaml': 'jobs: 0\ntmpfs-size: lots\n', 'recipes/base.yaml': RUN })).toEqual([
      'sqsh-layers.yaml:1:7: "jobs" must be at least 1, found 0',
      'sqsh-layers.yaml:2:13: "tmpfs-size" must be a tmpfs size such as "50%", "2G", "512M" or a number of bytes, found "lots"',
    ]);
  });

  it('takes cache-from/cache-to as registry repositories, and refuses a tagged one with the other problems', async () => {
    const ok = await project({ 'sqsh-layers.yaml': 'cache-from: ghcr.io/acme/layers-cache\ncache-to: localhost:5000/cache\n', 'recipes/base.yaml': RUN });
    const { project: p } = await loadProject(ok, { checkInputs: true });
    expect(p!.config).toMatchObject({ cacheFrom: 'ghcr.io/acme/layers-cache', cacheTo: 'localhost:5000/cache' });
    const { text } = await problems({ 'sqsh-layers.yaml': 'cache-from: ghcr.io/acme/cache:latest\n', 'recipes/base.yaml': 'steps: []\n' });
    expect(text.split('\n').filter((l) => /^\S+:\d+:\d+: /.test(l))).toEqual([
      'recipes/base.yaml:1:8: "steps" must not be empty',
      'sqsh-layers.yaml:1:13: "cache-from" must be a registry repository such as "ghcr.io/OWNER/layers-cache" (no :TAG: each entry is tagged with its key), found "ghcr.io/acme/cache:latest"',
    ]);
  });

  it('gives the defaults when there is no project file', async () => {
    const dir = await project({ 'recipes/base.yaml': RUN });
    const { project: p } = await loadProject(dir, { checkInputs: true });
    expect(p!.config).toEqual({
      dir,
      file: undefined,
      squashfs: { compression: 'zstd', level: undefined, blockSize: 131072 },
      tmpfsSize: '50%',
      cacheDir: path.join(dir, '.sqsh-cache'),
      sourceDateEpoch: undefined,
      jobs: undefined,
    });
    expect(p!.recipes.get('base')!.squashfs).toEqual({ compression: 'zstd', level: undefined, blockSize: 131072 });
    expect(p!.recipes.get('base')!.tmpfsSize).toBe('50%');
  });

  it('takes an empty project file as all defaults', async () => {
    const dir = await project({ 'sqsh-layers.yaml': '# defaults\n', 'recipes/base.yaml': RUN });
    const { project: p, diagnostics } = await loadProject(dir, { checkInputs: true });
    expect(diagnostics).toEqual([]);
    expect(p!.config.file).toBe('sqsh-layers.yaml');
    expect(p!.config.squashfs).toEqual({ compression: 'zstd', level: undefined, blockSize: 131072 });
  });

  it('merges its squashfs defaults into each recipe field by field', async () => {
    const dir = await project({
      'sqsh-layers.yaml': [
        'squashfs: { compression: gzip, level: 6, block-size: 256K }',
        'tmpfs-size: 4G',
        'cache: ../shared-cache',
        'source-date-epoch: 1700000000',
        'jobs: 3',
        '',
      ].join('\n'),
      'recipes/plain.yaml': RUN,
      'recipes/level.yaml': `${RUN}squashfs: { level: 9 }\n`,
      'recipes/block.yaml': `${RUN}squashfs: { block-size: 1M }\ntmpfs-size: 75%\n`,
      'recipes/other.yaml': `${RUN}squashfs: { compression: xz }\n`,
      'recipes/same.yaml': `${RUN}squashfs: { compression: gzip }\n`,
      'recipes/zstd.yaml': `${RUN}squashfs: { compression: zstd, level: 19 }\ntmpfs-size: 1073741824\n`,
    });
    const { project: p, diagnostics } = await loadProject(dir, { checkInputs: true });
    expect(diagnostics).toEqual([]);
    expect(p!.config).toEqual({
      dir,
      file: 'sqsh-layers.yaml',
      squashfs: { compression: 'gzip', level: 6, blockSize: 262144 },
      tmpfsSize: '4G',
      cacheDir: path.resolve(dir, '../shared-cache'),
      sourceDateEpoch: 1700000000,
      jobs: 3,
    });
    const sq = (n: string) => p!.recipes.get(n)!.squashfs;
    expect(sq('plain')).toEqual({ compression: 'gzip', level: 6, blockSize: 262144 });
    expect(sq('level')).toEqual({ compression: 'gzip', level: 9, blockSize: 262144 });
    expect(sq('block')).toEqual({ compression: 'gzip', level: 6, blockSize: 1048576 });
    // A level chosen for gzip does not carry over to another compressor...
    expect(sq('other')).toEqual({ compression: 'xz', level: undefined, blockSize: 262144 });
    // ...but naming the same compressor again keeps it.
    expect(sq('same')).toEqual({ compression: 'gzip', level: 6, blockSize: 262144 });
    expect(sq('zstd')).toEqual({ compression: 'zstd', level: 19, blockSize: 262144 });
    expect(p!.recipes.get('plain')!.tmpfsSize).toBe('4G');
    expect(p!.recipes.get('block')!.tmpfsSize).toBe('75%');
    expect(p!.recipes.get('zstd')!.tmpfsSize).toBe('1073741824');
  });

  it('does not apply a project level to a recipe compressor that has no levels', async () => {
    const dir = await project({ 'sqsh-layers.yaml': 'squashfs: { compression: zstd, level: 19 }\n', 'recipes/fast.yaml': `${RUN}squashfs: { compression: lz4 }\n` });
    const { project: p, diagnostics } = await loadProject(dir, { checkInputs: true });
    expect(diagnostics).toEqual([]);
    expect(p!.recipes.get('fast')!.squashfs).toEqual({ compression: 'lz4', level: undefined, blockSize: 131072 });
  });

  it('lets --cache override the cache directory of the project file', async () => {
    const dir = await project({ 'sqsh-layers.yaml': 'cache: from-file\n', 'recipes/base.yaml': RUN });
    const { project: p } = await loadProject(dir, { checkInputs: true, cacheDir: '/var/cache/sqsh' });
    expect(p!.config.cacheDir).toBe('/var/cache/sqsh');
    const { project: q } = await loadProject(dir, { checkInputs: true });
    expect(q!.config.cacheDir).toBe(path.join(dir, 'from-file'));
  });
});

describe('recipes as loaded before (recipes.json in the cache dir)', () => {
  const recipe = (text: string) => ({ 'recipes/base.yaml': text, 'recipes/app.yaml': 'parent: base\nsteps:\n  - run: "echo app"\n' });

  it('gives what a fresh parse gives, picks up any change of the text or the settings, and creates no cache dir', async () => {
    const dir = await project(recipe('steps:\n  - run: "echo one"\n'));
    const cacheFile = path.join(dir, '.sqsh-cache', 'recipes.json');
    const fresh = await loadProject(dir, { checkInputs: true, remember: true });
    expect(fresh.diagnostics).toEqual([]);
    // A project that never built has no cache dir: loading makes none.
    await expect(fs.stat(path.join(dir, '.sqsh-cache'))).rejects.toMatchObject({ code: 'ENOENT' });

    await fs.mkdir(path.join(dir, '.sqsh-cache'));
    // Read-only loads (plan, --dry-run) write nothing.
    await loadProject(dir, { checkInputs: true });
    await expect(fs.stat(cacheFile)).rejects.toMatchObject({ code: 'ENOENT' });
    await loadProject(dir, { checkInputs: true, remember: true });
    expect(Object.keys((JSON.parse(await fs.readFile(cacheFile, 'utf8')) as { entries: object }).entries).sort()).toEqual(['recipes/app.yaml', 'recipes/base.yaml']);
    const again = await loadProject(dir, { checkInputs: true, remember: true });
    expect(again.project?.recipes).toEqual(fresh.project?.recipes);
    expect(again.parents).toEqual(fresh.parents);

    // The same size, a new text: parsed again.
    await writeFiles(dir, recipe('steps:\n  - run: "echo two"\n'));
    const changed = await loadProject(dir, { checkInputs: true, remember: true });
    expect(changed.project?.recipes.get('base')?.steps[0]).toMatchObject({ kind: 'run', script: 'echo two' });

    // New settings (a default that recipes inherit): every recipe parsed again.
    await writeFiles(dir, { 'sqsh-layers.yaml': 'squashfs:\n  compression: xz\n' });
    const settings = await loadProject(dir, { checkInputs: true, remember: true });
    expect(settings.project?.recipes.get('base')?.squashfs.compression).toBe('xz');

    // A recipe broken since: its problem is reported (only recipes that loaded are kept).
    await writeFiles(dir, recipe('steps:\n  - bogus: 1\n'));
    expect((await loadProject(dir, { checkInputs: true, remember: true })).diagnostics.length).toBeGreaterThan(0);

    // An unreadable cache file is no cache.
    await fs.writeFile(cacheFile, '{"format":1,');
    await fs.rm(path.join(dir, 'sqsh-layers.yaml'));
    await writeFiles(dir, recipe('steps:\n  - run: "echo one"\n'));
    expect((await loadProject(dir, { checkInputs: true })).project?.recipes).toEqual(fresh.project?.recipes);
  });

  it('keeps the settings too, for the very same text, project dir and --cache only', async () => {
    const settings = 'squashfs:\n  compression: lz4\njobs: 3\n';
    const dir = await project({ ...recipe('steps:\n  - run: "echo one"\n'), 'sqsh-layers.yaml': settings });
    await fs.mkdir(path.join(dir, '.sqsh-cache'));
    const cacheFile = path.join(dir, '.sqsh-cache', 'recipes.json');
    const fresh = await loadProject(dir, { checkInputs: true, remember: true });
    const stored = JSON.parse(await fs.readFile(cacheFile, 'utf8')) as { config: Record<string, unknown> };
    expect(stored.config).toEqual(JSON.parse(JSON.stringify(fresh.project!.config)));

    // Kept: what the file holds is what loads (a marker shows it was not parsed again).
    await fs.writeFile(cacheFile, JSON.stringify({ ...stored, config: { ...stored.config, jobs: 7 } }));
    const again = await loadProject(dir, { checkInputs: true, remember: true });
    expect(again.project!.config.jobs).toBe(7);
    // Its text is still there for excerpts.
    expect(again.sources.get('sqsh-layers.yaml')).toBe(settings);

    // Another --cache: parsed (the marker is gone), and the project's own cache file stays as it was.
    const other = path.join(dir, 'other-cache');
    await fs.mkdir(other);
    const before = await fs.readFile(cacheFile, 'utf8');
    expect((await loadProject(dir, { checkInputs: true, cacheDir: other, remember: true })).project!.config).toMatchObject({ jobs: 3, cacheDir: other });
    expect(await fs.readFile(cacheFile, 'utf8')).toBe(before);
    // ...and kept there, under that --cache.
    expect(JSON.parse(await fs.readFile(path.join(other, 'recipes.json'), 'utf8'))).toMatchObject({ config: { jobs: 3, cacheDir: other } });

    // The same files in another dir (a copied project): parsed there, with its own dir.
    const copy = await project({});
    await fs.cp(dir, copy, { recursive: true });
    const copied = await loadProject(copy, { checkInputs: true });
    expect(copied.project!.config).toMatchObject({ dir: copy, cacheDir: path.join(copy, '.sqsh-cache'), jobs: 3 });
    expect(copied.project!.recipes.get('app')!.squashfs.compression).toBe('lz4');

    // A changed text: parsed again, and its problems reported.
    await fs.writeFile(path.join(dir, 'sqsh-layers.yaml'), 'jobs: 3\n');
    expect((await loadProject(dir, { checkInputs: true, remember: true })).project!.config).toMatchObject({ jobs: 3, squashfs: { compression: 'zstd' } });
    await fs.writeFile(path.join(dir, 'sqsh-layers.yaml'), 'jobs: 0\n');
    expect((await loadProject(dir, { checkInputs: true, remember: true })).diagnostics.map((d) => d.loc.file)).toEqual(['sqsh-layers.yaml']);
    // No settings file at all: the defaults, not the last settings kept.
    await fs.rm(path.join(dir, 'sqsh-layers.yaml'));
    expect((await loadProject(dir, { checkInputs: true, remember: true })).project!.config).toMatchObject({ file: undefined, jobs: undefined });
  });
});

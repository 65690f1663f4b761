import { existsSync, promises as fs, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { layerKey } from '../../src/engine/status.js';
import { CacheRun } from '../../src/cache/cache-run.js';
import { LocalStore } from '../../src/cache/local-store.js';
import { StatCache } from '../../src/cache/stat-cache.js';
import { mksquashfsVersion } from '../../src/cache/tool-version.js';
import { openProject } from '../../src/cli/project.js';
import { manifestEntry } from '../../src/layer/manifest.js';
import { Runner } from '../../src/process/run.js';
import { sha256 } from '../support/leftovers.js';
import { REPO, runCli, tempDir, writeFiles } from '../support/project.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

type Files = Parameters<typeof writeFiles>[1];

/** base ← server ← extra ← config, each copying a small file. */
const CHAIN: Files = {
  'recipes/base.yaml': 'description: the bottom layer\nsteps:\n  - copy: files/base.txt\n    to: /etc/base.txt\n',
  'recipes/server.yaml': 'parent: base\nsteps:\n  - copy: files/server.txt\n    to: /etc/\n',
  'recipes/extra.yaml': 'parent: server\nsteps:\n  - copy: files/extra.txt\n    mode: "0600"\n',
  'recipes/config.yaml': 'parent: extra\nsteps:\n  - copy: files/config/\n    to: /etc/app/\n    owner: 0:0\n',
  'files/base.txt': 'base\n',
  'files/server.txt': 'server\n',
  'files/extra.txt': 'extra\n',
  'files/config/app.conf': 'x=1\n',
};

async function project(files: Files = CHAIN): Promise<string> {
  const dir = tempDir('cli');
  dirs.push(dir);
  await writeFiles(dir, files);
  return dir;
}

/**
 * The mksquashfs version in the keys of runCli's CLI (same PATH): "mksquashfs not installed"
 * without one, so these tests do not need squashfs-tools.
 */
function mksquashfsAsTheCliSeesIt(cacheDir: string): Promise<string> {
  const runner = new Runner({ log: { verbose: () => {}, info: () => {} }, dryRun: true, signal: new AbortController().signal, env: { PATH: process.env.PATH ?? '' } });
  return mksquashfsVersion(runner, cacheDir);
}

const FRESH_PLAN = `4 layers in build order, 4 to build:
  base    build   never built
  server  build   parent base will be rebuilt
  extra   build   parent server will be rebuilt
  config  build   parent extra will be rebuilt
stacks (top to bottom):
  sqsh_layers=config:extra:server:base
`;

describe('plan', () => {
  it('shows a fresh chain: the build order, why each layer builds, and the stack', async () => {
    const dir = await project();
    expect(await runCli(['plan'], { cwd: dir })).toEqual({ code: 0, stdout: FRESH_PLAN, stderr: '' });
    // Planning builds nothing.
    expect(existsSync(path.join(dir, 'layers'))).toBe(false);
  });

  it('plans the named layers with their ancestors only', async () => {
    const dir = await project();
    expect(await runCli(['plan', 'server'], { cwd: dir })).toEqual({
      code: 0,
      stdout: `2 layers in build order, 2 to build:
  base    build   never built
  server  build   parent base will be rebuilt
stacks (top to bottom):
  sqsh_layers=server:base
`,
      stderr: '',
    });
  });

  it('shows one stack per named layer, once', async () => {
    const dir = await project();
    expect((await runCli(['plan', 'extra', 'base', 'extra'], { cwd: dir })).stdout).toBe(`3 layers in build order, 3 to build:
  base    build   never built
  server  build   parent base will be rebuilt
  extra   build   parent server will be rebuilt
stacks (top to bottom):
  sqsh_layers=extra:server:base
  sqsh_layers=base
`);
  });

  it('shows independent branches of a forest', async () => {
    const dir = await project({ ...CHAIN, 'recipes/tools.yaml': 'steps:\n  - copy: files/base.txt\n' });
    expect((await runCli(['plan'], { cwd: dir })).stdout).toBe(`5 layers in build order, 5 to build:
  base    build   never built
  tools   build   never built
  server  build   parent base will be rebuilt
  extra   build   parent server will be rebuilt
  config  build   parent extra will be rebuilt
independent branches (built at the same time): base → server → extra → config | tools
stacks (top to bottom):
  sqsh_layers=tools
  sqsh_layers=config:extra:server:base
`);
  });

  it('says --force for the layers forced', async () => {
    const dir = await project();
    expect((await runCli(['--force', 'plan', 'base'], { cwd: dir })).stdout).toBe(`1 layer in build order, 1 to build:
  base  build   --force
stacks (top to bottom):
  sqsh_layers=base
`);
  });

  it('shows a cached layer and names the recipe field that changed since the last build', async () => {
    const dir = await project();
    // Fake a cache entry for base and a previous build of server with another destination.
    const { project: p, graph } = await openProject(dir, { checkInputs: true });
    const stats = await StatCache.open(path.join(dir, 'scratch-stats.json'));
    const mksquashfs = await mksquashfsAsTheCliSeesIt(p.config.cacheDir);
    const kc = { stats, mksquashfs, sourceDateEpoch: undefined, signal: new AbortController().signal };
    const run = new CacheRun(p.config.cacheDir, `20261126T000000-${process.pid}-abcdef`);
    const store = new LocalStore(p.config.cacheDir, stats, () => {}, run);
    const baseKey = await layerKey(kc, graph.recipes.get('base')!, null);
    const blob = path.join(dir, 'base.sqsh.tmp');
    await fs.writeFile(blob, 'not really squashfs');
    const hit = await store.put(baseKey.key, baseKey.digest, blob, 'base');
    await store.close();
    const serverKey = await layerKey(kc, graph.recipes.get('server')!, { name: 'base', digest: hit.record.digest });
    const oldKey = structuredClone(serverKey.key);
    oldKey.recipe.steps[0]!.to = '/etc/old/';
    const server = manifestEntry('server', { ...hit.record, key: oldKey, keyDigest: serverKey.digest, layer: 'server' });
    await writeFiles(dir, { 'layers/manifest.json': JSON.stringify({ version: 1, layers: { server } }) });

    expect(await runCli(['plan'], { cwd: dir })).toEqual({
      code: 0,
      stdout: `4 layers in build order, 3 to build:
  base    cached  sha256:${hit.record.digest.slice(0, 12)}  19 B
  server  build   recipe field steps[0].to changed
  extra   build   parent server will be rebuilt
  config  build   parent extra will be rebuilt
stacks (top to bottom):
  sqsh_layers=config:extra:server:base
`,
      stderr: '',
    });
    const json = JSON.parse((await runCli(['--json', 'plan', 'server'], { cwd: dir })).stdout) as { layers: unknown[] };
    expect(json.layers).toEqual([
      { name: 'base', parent: null, stack: ['base'], state: 'cached', sha256: hit.record.digest, size: 19 },
      {
        name: 'server',
        parent: 'base',
        stack: ['server', 'base'],
        state: 'stale',
        reasons: [{ reason: 'recipe', field: 'steps[0].to', text: 'recipe field steps[0].to changed' }],
      },
    ]);

    // An input changed too: both are named.
    await writeFiles(dir, { 'files/server.txt': 'server, changed\n' });
    expect((await runCli(['plan', 'server'], { cwd: dir })).stdout).toContain(
      '  server  build   recipe field steps[0].to changed; input files/server.txt changed (content)\n',
    );
    // SOURCE_DATE_EPOCH from the environment is part of every key.
    expect((await runCli(['plan', 'base'], { cwd: dir, env: { SOURCE_DATE_EPOCH: '1700000000' } })).stdout).toBe(`1 layer in build order, 1 to build:
  base  build   never built
stacks (top to bottom):
  sqsh_layers=base
`);
  });

  it('says a layer whose cached blob changed on disk must be rebuilt (same size with the mtime put back, or another size), and changes nothing', async () => {
    const dir = await project();
    const { project: p, graph } = await openProject(dir, { checkInputs: true });
    // The cache's own stat cache, as a build leaves it: the blob's digest sealed.
    const stats = await StatCache.open(path.join(p.config.cacheDir, 'stat-cache.json'));
    const mksquashfs = await mksquashfsAsTheCliSeesIt(p.config.cacheDir);
    const kc = { stats, mksquashfs, sourceDateEpoch: undefined, signal: new AbortController().signal };
    const store = new LocalStore(p.config.cacheDir, stats, () => {}, new CacheRun(p.config.cacheDir, `20261126T000000-${process.pid}-abcdef`));
    const baseKey = await layerKey(kc, graph.recipes.get('base')!, null);
    const tmp = path.join(dir, 'base.sqsh.tmp');
    await fs.writeFile(tmp, 'not really squashfs');
    const t = new Date('2024-01-02T03:04:05.000Z');
    await fs.utimes(tmp, t, t);
    const hit = await store.put(baseKey.key, baseKey.digest, tmp, 'base');
    await store.close();
    await stats.save();
    const d = hit.record.digest;
    expect((await runCli(['plan', 'server'], { cwd: dir })).stdout).toContain(`  base    cached  sha256:${d.slice(0, 12)}  19 B\n`);

    const fh = await fs.open(hit.blobPath, 'r+');
    await fh.write(Buffer.from('REALLY!!'), 0, 8, 4);
    await fh.close();
    await fs.utimes(hit.blobPath, t, t);
    const now = sha256(hit.blobPath);
    expect(await runCli(['plan', 'server'], { cwd: dir })).toEqual({
      code: 0,
      stdout: `2 layers in build order, 2 to build:
  base    build   cached blob changed on disk (sha256 ${now.slice(0, 12)}, stored as ${d.slice(0, 12)})
  server  build   parent base will be rebuilt
stacks (top to bottom):
  sqsh_layers=server:base
`,
      stderr: '',
    });
    await fs.appendFile(hit.blobPath, 'x');
    expect((await runCli(['--json', 'plan', 'base'], { cwd: dir })).stdout).toContain(
      '"text": "cached blob changed on disk (20 bytes, stored as 19)"',
    );
    // Planning evicts nothing: the build does, with a warning.
    expect(existsSync(hit.blobPath) && existsSync(path.join(p.config.cacheDir, 'keys', `${baseKey.digest}.json`))).toBe(true);
    expect(existsSync(path.join(dir, 'layers'))).toBe(false);
  });

  it('prints the plan as JSON with --json', async () => {
    const dir = await project();
    const ok = await runCli(['plan', '--json'], { cwd: dir });
    expect(ok.code).toBe(0);
    // A global option may come before the command as well.
    expect(await runCli(['--json', 'plan'], { cwd: dir })).toEqual(ok);
    expect(ok.stderr).toBe('');
    expect(JSON.parse(ok.stdout)).toEqual({
      order: ['base', 'server', 'extra', 'config'],
      branches: [['base', 'server', 'extra', 'config']],
      layers: [
        { name: 'base', parent: null, stack: ['base'], state: 'stale', reasons: [{ reason: 'not-built', text: 'never built' }] },
        {
          name: 'server',
          parent: 'base',
          stack: ['server', 'base'],
          state: 'stale',
          reasons: [{ reason: 'parent', name: 'base', what: 'stale', text: 'parent base will be rebuilt' }],
        },
        {
          name: 'extra',
          parent: 'server',
          stack: ['extra', 'server', 'base'],
          state: 'stale',
          reasons: [{ reason: 'parent', name: 'server', what: 'stale', text: 'parent server will be rebuilt' }],
        },
        {
          name: 'config',
          parent: 'extra',
          stack: ['config', 'extra', 'server', 'base'],
          state: 'stale',
          reasons: [{ reason: 'parent', name: 'extra', what: 'stale', text: 'parent extra will be rebuilt' }],
        },
      ],
    });
  });

  it('refuses an unknown layer with a suggestion (exit 2)', async () => {
    const dir = await project();
    expect(await runCli(['plan', 'confgi'], { cwd: dir })).toEqual({
      code: 2,
      stdout: '',
      stderr: 'sqsh-layers: error: unknown layer "confgi" (did you mean "config"?); layers of this project: base, config, extra, server\n',
    });
  });

  it('refuses a malformed SOURCE_DATE_EPOCH (exit 2)', async () => {
    const dir = await project();
    expect(await runCli(['plan'], { cwd: dir, env: { SOURCE_DATE_EPOCH: 'yesterday' } })).toEqual({
      code: 2,
      stdout: '',
      stderr: 'sqsh-layers: error: SOURCE_DATE_EPOCH must be a number of seconds since 1970, found "yesterday"\n',
    });
  });
});

describe('cmdline', () => {
  it('prints the stack of a layer, top to bottom', async () => {
    const dir = await project();
    expect(await runCli(['cmdline', 'config'], { cwd: dir })).toEqual({ code: 0, stdout: 'sqsh_layers=config:extra:server:base\n', stderr: '' });
    expect((await runCli(['cmdline', 'base'], { cwd: dir })).stdout).toBe('sqsh_layers=base\n');
  });

  it('adds the boot parameters asked for', async () => {
    const dir = await project();
    const args = ['--root', '/dev/sda1', '--layerdev', '/dev/sdb1', '--layerdir', 'layers', '--sqshfstype', 'ext4', '--ram-layer', '2G', '--overlayflags', 'xino=off'];
    expect(await runCli(['cmdline', 'config', ...args], { cwd: dir })).toEqual({
      code: 0,
      stdout:
        'root=/dev/sda1 sqsh_layerdev=/dev/sdb1 sqshfstype=ext4 sqsh_layerdir=layers sqsh_layers=config:extra:server:base ram_layer=2G overlayflags=xino=off\n',
      stderr: '',
    });
    expect((await runCli(['cmdline', 'server', '--ram-layer', '50%', '--to-ram'], { cwd: dir })).stdout).toBe(
      'sqsh_layers=server:base ram_layer=50% to_ram\n',
    );
  });

  it('prints JSON with --json', async () => {
    const dir = await project();
    const r = await runCli(['--json', 'cmdline', 'extra', '--root', '/dev/vda'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ cmdline: 'root=/dev/vda sqsh_layers=extra:server:base', stack: ['extra', 'server', 'base'] });
  });

  it('warns when the initramfs could not mount the stack (its overlay options past one page)', async () => {
    // 53 layers with 64-character names: 4147 bytes of root overlay options at boot.
    const names = Array.from({ length: 53 }, (_, i) => `l${String(i).padStart(2, '0')}-`.padEnd(64, 'x'));
    const files: Files = {};
    names.forEach((n, i) => (files[`recipes/${n}.yaml`] = `${i > 0 ? `parent: ${names[i - 1]}\n` : ''}steps:\n  - remove: [/nothing]\n`));
    const dir = await project(files);
    const top = names[52]!;
    const warning =
      `the stack ${top}..${names[0]} (53 layers) will not boot with RuckusRD: the options of its root overlay mount take 4147 bytes, ` +
      `and mount(2) takes at most 4095 (one page); at most 52 of its layers (${names[51]}..${names[0]}) fit. ` +
      'Squash layers with "sqsh-layers merge NEW TOP..BOTTOM"';
    // 53 names of 65 bytes are past the kernel's command line too (2047 bytes).
    const long =
      'the kernel parameters take 3456 bytes, and the kernel keeps at most 2047 of its command line (COMMAND_LINE_SIZE of x86 and arm64; ' +
      "the bootloader's own parameters count too): the rest would be cut off. Use shorter layer names, or squash layers with \"sqsh-layers merge\"";
    expect(await runCli(['cmdline', top], { cwd: dir })).toEqual({
      code: 0,
      stdout: `sqsh_layers=${[...names].reverse().join(':')}\n`,
      stderr: `sqsh-layers: warning: ${warning}\nsqsh-layers: warning: ${long}\n`,
    });
    expect((await runCli(['cmdline', names[30]!], { cwd: dir })).stderr).toBe('');
    const json = await runCli(['--json', 'cmdline', top], { cwd: dir });
    expect(JSON.parse(json.stdout)).toMatchObject({ warnings: [warning, long] });
  });

  it('refuses bad boot options (exit 2)', async () => {
    const dir = await project();
    expect(await runCli(['cmdline', 'config', '--to-ram'], { cwd: dir })).toEqual({
      code: 2,
      stdout: '',
      stderr: 'sqsh-layers: error: --to-ram needs --ram-layer: with to_ram the root device may go away, so the upper must be in RAM\n',
    });
    expect((await runCli(['cmdline', 'config', '--layerdir', '/layers'], { cwd: dir })).stderr).toBe(
      'sqsh-layers: error: --layerdir is relative to the root of each device, found "/layers"\n',
    );
  });

  it('refuses an unknown layer and a missing one (exit 2)', async () => {
    const dir = await project();
    expect(await runCli(['cmdline', 'sever'], { cwd: dir })).toEqual({
      code: 2,
      stdout: '',
      stderr: 'sqsh-layers: error: unknown layer "sever" (did you mean "server"?); layers of this project: base, config, extra, server\n',
    });
    expect(await runCli(['cmdline'], { cwd: dir })).toEqual({
      code: 2,
      stdout: '',
      stderr: "sqsh-layers: error: missing required argument 'layer'\n(run with --help for usage)\n",
    });
  });

  it('does not need the inputs to exist', async () => {
    const dir = await project({ 'recipes/base.yaml': 'steps:\n  - restore: inputs/base.dump\n' });
    expect(await runCli(['cmdline', 'base'], { cwd: dir })).toEqual({ code: 0, stdout: 'sqsh_layers=base\n', stderr: '' });
  });
});

describe('-C DIR', () => {
  it('works on a project from another directory, absolute or relative', async () => {
    const dir = await project();
    const elsewhere = await project({ 'unrelated.txt': 'x' });
    expect(await runCli(['-C', dir, 'cmdline', 'config'], { cwd: elsewhere })).toEqual({
      code: 0,
      stdout: 'sqsh_layers=config:extra:server:base\n',
      stderr: '',
    });
    expect((await runCli(['-C', path.relative(elsewhere, dir), 'plan'], { cwd: elsewhere })).stdout).toBe(FRESH_PLAN);
  });

  it('names the directory it looked in when there is no project there', async () => {
    const elsewhere = await project({ 'unrelated.txt': 'x' });
    expect(await runCli(['-C', 'nowhere', 'plan'], { cwd: elsewhere })).toEqual({
      code: 2,
      stdout: '',
      stderr: `recipes/:1:1: the recipes directory does not exist
  hint: a project holds one recipes/NAME.yaml per layer; run with -C DIR to point at another project (here: ${path.join(elsewhere, 'nowhere')})

1 problem in the recipes; nothing was built
`,
    });
  });
});

describe('a broken recipe set', () => {
  const BROKEN: Files = {
    'recipes/base.yaml': 'stpes:\n  - copy: files/base.txt\n',
    'recipes/server.yaml': 'parent: bsae\nsteps:\n  - copy: files/missing.txt\n    to: etc\n',
    'recipes/extra.yaml': 'parent: server\nsteps:\n  - untr: x.tar\n',
    'files/base.txt': 'base\n',
  };
  const REPORT = `recipes/base.yaml:1:1: unknown key "stpes" (did you mean "steps"?)
   1 | stpes:
     | ^^^^^
  hint: allowed keys: description, parent, steps, exclude, prune-identical, squashfs, tmpfs-size, checks

recipes/extra.yaml:3:5: unknown step kind "untr" (did you mean "untar"?); a step is one of restore, untar, copy, run, host, remove
   3 |   - untr: x.tar
     |     ^^^^

recipes/server.yaml:1:9: unknown parent "bsae": there is no recipes/bsae.yaml (did you mean "base"?)
   1 | parent: bsae
     |         ^^^^

recipes/server.yaml:4:9: "steps[0].to" must be an absolute path inside the layer root, starting with "/", found "etc"
   4 |     to: etc
     |         ^^^

4 problems in the recipes; nothing was built
`;

  it.each([['plan'], ['plan', 'extra'], ['cmdline', 'extra'], ['build'], ['gc']])('%s reports every problem at once (exit 2)', async (...args) => {
    const dir = await project(BROKEN);
    expect(await runCli(args, { cwd: dir })).toEqual({ code: 2, stdout: '', stderr: REPORT });
    expect(existsSync(path.join(dir, 'layers'))).toBe(false);
  });

  it.each([['plan'], ['build']])('%s refuses a YAML alias bomb as a recipe error at the alias (exit 2)', async (cmd) => {
    const lol = (n: string, of: string) => `x-${n}: &${n} [${Array(9).fill(of).join(', ')}]`;
    const bomb = [lol('a', 'lol'), lol('b', '*a'), lol('c', '*b'), lol('d', '*c'), lol('e', '*d'), 'steps: *e', ''].join('\n');
    const dir = await project({ ...CHAIN, 'recipes/server.yaml': bomb });
    expect(await runCli([cmd], { cwd: dir })).toEqual({
      code: 2,
      stdout: '',
      stderr: `recipes/server.yaml:4:10: YAML resource limit: the aliases of this file repeat more than 1000 values; alias *c goes over (an alias bomb?)
   4 | x-d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
     |          ^^
  hint: an alias repeats the whole value of its anchor, and aliases inside it multiply; write the values out or use fewer aliases

1 problem in the recipes; nothing was built
`,
    });
    expect(existsSync(path.join(dir, 'layers'))).toBe(false);
  });

  it.each([['plan'], ['build']])('%s reports a parent cycle through a broken recipe with its problem, in one run (exit 2)', async (cmd) => {
    const dir = await project({
      ...CHAIN,
      'recipes/base.yaml': 'parent: config\nsteps: []\n',
    });
    const result = await runCli([cmd], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n').filter((l) => /^recipes\//.test(l))).toEqual([
      'recipes/base.yaml:1:9: parent cycle: base → config → extra → server → base',
      'recipes/base.yaml:2:8: "steps" must not be empty',
      'recipes/config.yaml:1:9: parent cycle: base → config → extra → server → base',
      'recipes/extra.yaml:1:9: parent cycle: base → config → extra → server → base',
      'recipes/server.yaml:1:9: parent cycle: base → config → extra → server → base',
    ]);
    expect(result.stderr).toContain(`recipes/base.yaml:1:9: parent cycle: base → config → extra → server → base
   1 | parent: config
     |         ^^^^^^
  hint: one layer of the cycle must be a bottom layer (no parent) or take another parent
`);
    expect(result.stderr).toMatch(/\n5 problems in the recipes; nothing was built\n$/);
    expect(existsSync(path.join(dir, 'layers'))).toBe(false);
  });

  it('reports missing inputs for plan, not for cmdline', async () => {
    const dir = await project({ ...CHAIN, 'recipes/server.yaml': 'parent: base\nsteps:\n  - copy: files/missing.txt\n' });
    expect(await runCli(['plan'], { cwd: dir })).toEqual({
      code: 2,
      stdout: '',
      stderr: `recipes/server.yaml:3:11: missing input: files/missing.txt does not exist
   3 |   - copy: files/missing.txt
     |           ^^^^^^^^^^^^^^^^^

1 problem in the recipes; nothing was built
`,
    });
    expect((await runCli(['cmdline', 'config'], { cwd: dir })).code).toBe(0);
  });
});

describe('usage', () => {
  it.each([[[]], [['plan']], [['cmdline']], [['build']], [['gc']], [['inspect']], [['diff']], [['verify']], [['shell']], [['init']]])('--help of %j shows examples', async (cmd) => {
    const r = await runCli([...cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^Usage: sqsh-layers /);
    expect(r.stdout).toMatch(new RegExp(`\\nExamples:\\n  sqsh-layers ${cmd.length > 0 ? `${cmd[0]}\\b` : ''}`));
  });

  it('prints the version of package.json', async () => {
    const { version } = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
    expect(await runCli(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it.each([
    [['--bogus'], "error: unknown option '--bogus'"],
    [['plan', '--bogus'], "error: unknown option '--bogus'"],
    [['cmdline', 'config', '--ramlayer', '2G'], "error: unknown option '--ramlayer'\n(Did you mean --ram-layer?)"],
    [['frob'], "error: unknown command 'frob'"],
    [['plna'], "error: unknown command 'plna'\n(Did you mean plan?)"],
  ])('refuses %j (exit 2)', async (args, message) => {
    const dir = await project();
    expect(await runCli(args, { cwd: dir })).toEqual({ code: 2, stdout: '', stderr: `sqsh-layers: ${message}\n(run with --help for usage)\n` });
  });

  it('refuses a bad --jobs (exit 2)', async () => {
    const dir = await project();
    expect(await runCli(['--jobs', '0', 'plan'], { cwd: dir })).toEqual({
      code: 2,
      stdout: '',
      stderr: 'sqsh-layers: error: --jobs must be a positive integer, found "0"\n',
    });
  });
});

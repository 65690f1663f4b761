'use strict';
// Makes dist/bundle/cli.cjs.<id>.v8-cache, the code cache dist/cli.cjs compiles the command from
// (scripts/cli-loader.cjs). Run by scripts/bundle.mjs with the #! line's node options:
//   node [options] scripts/train-code-cache.cjs dist/cli.cjs
//
// A V8 code cache holds the code of the functions compiled when it is made. It is made here
// after the command ran the runs that must start fast, on a small project made for it, with
// its recipes already parsed, as a project is after its first run: `plan` and a build with
// everything cached. That build needs a layer built first, which only root can do (mounts).
// Run as another user, or where that fails (no mksquashfs yet, no mounts in a container),
// `--dry-run build` stands in for it: it runs much of the same code, and more that a no-op
// build does not need (~10% slower no-op builds, measured). Everything else (parsing changed
// recipes, building, the other commands) compiles as it runs. Each function in the cache costs
// its share of every start, used or not, so the cache holds no more.
//
// Then a node started the same way must take the cache, or the build fails: a cache V8 rejects
// would only cost time, silently.

const { spawnSync } = require('node:child_process');
const { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const path = require('node:path');
const { Writable } = require('node:stream');
const { setFlagsFromString } = require('node:v8');

const command = path.resolve(process.argv[2]);
const mode = process.argv[3];
const { load } = require(command);

/** Output kept in memory, as a file would take it (not a TTY: no colors, no progress). */
function collector() {
  const chunks = [];
  const stream = new Writable({ write: (chunk, _enc, done) => (chunks.push(chunk), done()) });
  return { stream, text: () => Buffer.concat(chunks).toString() };
}

/** The command's main() on a command line, quietly: its output; fails on an exit code other than 0. */
async function runCommand(main, argv, env) {
  const stdout = collector();
  const stderr = collector();
  const code = await main(argv, { stdout: stdout.stream, stderr: stderr.stream, env, cwd: process.cwd() });
  if (code !== 0) throw new Error(`sqsh-layers ${argv.join(' ')} exited with ${code}:\n${stderr.text()}`);
  return stdout.text();
}

/** A project of a four-layer stack, one of each kind of step, with stand-in inputs, and a layer of its own. */
function writeProject(dir) {
  const write = (rel, text, mode = 0o644) => {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text, { mode });
  };
  write('inputs/base.dump', 'a stand-in: only hashed\n');
  write('inputs/extra.tar.gz', 'a stand-in: only hashed\n');
  write('hooks/manage.sh', '#!/bin/sh\necho configured > "$SQSH_LAYERS_ROOT/etc/configured"\n', 0o755);
  write('files/etc/motd', 'hello\n');
  write('sqsh-layers.yaml', 'squashfs:\n  compression: zstd\n  level: 3\n  block-size: 128K\nsource-date-epoch: 1735689600\n');
  write('recipes/base.yaml', 'steps:\n  - restore: inputs/base.dump\n  - remove: [/lost+found]\nexclude:\n  - /var/log/**/*.log\n');
  write('recipes/server.yaml', 'parent: base\nsteps:\n  - run: echo server > /etc/role\n    network: true\n');
  write('recipes/extra.yaml', 'parent: server\nsteps:\n  - untar: inputs/extra.tar.gz\n  - copy: files/\n    to: /\n');
  write('recipes/config.yaml', 'parent: extra\nsteps:\n  - host: hooks/manage.sh\n    env: { SITE: example }\nchecks:\n  - test -f /etc/configured\n');
  // The one layer really built (copied files only: no sandbox, no dump image needed).
  write('recipes/site.yaml', 'steps:\n  - copy: files/\n    to: /\n');
  // A cache dir, as a project that built has: loading keeps the parsed recipes only there.
  mkdirSync(path.join(dir, '.sqsh-cache'));
}

async function train() {
  const { exports, script, codeCacheFile } = load({ cache: false });
  if (codeCacheFile === undefined) throw new Error('the bundle has no id on its last line (scripts/bundle.mjs)');
  const dir = mkdtempSync(path.join(tmpdir(), 'sqsh-layers-code-cache-'));
  try {
    writeProject(dir);
    const env = { PATH: process.env.PATH, SQSH_LAYERS_RUN_DIR: path.join(dir, 'run', 'sqsh-layers') };
    // The project's first runs parse its recipes and build a layer: in a process of their own,
    // so that the cache holds neither the parser (a later run reads the recipes from
    // .sqsh-cache/recipes.json) nor the building.
    const first = spawnSync(process.execPath, [...process.execArgv, __filename, command, '--first', dir], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (first.status !== 0) throw new Error(`the project's first run failed (${first.signal ?? `exit ${first.status}`})`);
    const built = first.stdout === 'built';

    for (let i = 0; i < 2; i++) {
      await runCommand(exports.main, ['-C', dir, 'plan'], env);
      const out = await runCommand(exports.main, built ? ['-C', dir, 'build', 'site'] : ['-C', dir, '--dry-run', 'build'], env);
      if (built && !/\(0 built, 1 cached/.test(out)) process.stderr.write(`code cache: the no-op build of its project built something:\n${out}`);
    }
    // A layer that builds sets V8 flags (process/memory.ts), and V8 takes a cache only with the
    // flags it was made with: back to node's defaults, as a build that built nothing leaves them.
    setFlagsFromString('--heap-growing-percent=0');
    setFlagsFromString('--no-expose-gc');
    const data = script.createCachedData();
    writeFileSync(`${codeCacheFile}.tmp`, data);
    renameSync(`${codeCacheFile}.tmp`, codeCacheFile);

    // Checked as it will be used: a new node, started the same way.
    const check = spawnSync(process.execPath, [...process.execArgv, '-e', `process.stdout.write(require(${JSON.stringify(command)}).load().codeCache)`], { encoding: 'utf8' });
    if (check.stdout !== 'accepted') {
      rmSync(codeCacheFile, { force: true });
      throw new Error(`node ${process.execArgv.join(' ')} does not take the code cache it made (${check.stdout || check.stderr})`);
    }
    const how = built ? 'plan and a no-op build' : `plan and --dry-run build (${first.stdout})`;
    process.stderr.write(`code cache: ${path.relative(process.cwd(), codeCacheFile)}, ${(data.length / 1024).toFixed(0)} KiB, made on ${how}\n`);
  } finally {
    // The command unmounts what it mounted; should anything be left, the project is not removed.
    const left = await exports.mountsUnder(dir);
    if (left.length === 0) rmSync(dir, { recursive: true, force: true });
    else {
      process.stderr.write(`train-code-cache: mounts left under ${dir} (not removed): ${left.map((m) => m.target).join(', ')}\n`);
      process.exitCode = 1;
    }
  }
}

/** Parses the recipes, then builds the site layer if it can: prints "built", or why not. */
async function first(dir) {
  const { exports } = load({ cache: false });
  const env = { PATH: process.env.PATH, SQSH_LAYERS_RUN_DIR: process.env.SQSH_LAYERS_RUN_DIR };
  await runCommand(exports.main, ['-C', dir, 'plan'], env);
  if (process.getuid() !== 0) return process.stdout.write('not root: no layer built');
  try {
    await runCommand(exports.main, ['-C', dir, 'build', 'site'], env);
    process.stdout.write('built');
  } catch (err) {
    process.stdout.write(`building a layer failed: ${String(err.message).split('\n').filter(Boolean).slice(-1)[0]}`);
  }
}

(mode === '--first' ? first(process.argv[4]) : train()).catch((err) => {
  process.stderr.write(`train-code-cache: ${err.stack ?? err}\n`);
  process.exitCode = 1;
});

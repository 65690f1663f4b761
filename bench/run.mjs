#!/usr/bin/env node
// `npm run bench`: measures sqsh-layers against PRODUCT.md section 7, in one run.
//
//  1. corpus (built once, reused): bench/work/corpus/{base,server,extra}.dump + manage.sh
//  2. cold builds, alternating: the seed's hand-made sh workflow vs `sqsh-layers build` on a
//     fresh project and cache (same steps, same mksquashfs options, SOURCE_DATE_EPOCH set)
//  3. no-op rebuild, plan, mtime-only touch and content change of the top layer's hook
//  4. layer sizes (tool vs hand vs the real difference), stacked-tree equivalence
//  5. peak RSS of the tool process (small vs large input), independent layers --jobs 2 vs 1,
//     a SOURCE_DATE_EPOCH older than the images, a CPU profile of a cold build
//  6. the same cold builds at fast compression (BENCH_COMPRESSIONS, default zstd:3,lz4)
//  7. scale (scale.mjs): a big real tree with a full-image replace layer, a fleet of 1,000
//     small layers over one base; each against a hand-made script, no SOURCE_DATE_EPOCH
//  8. bench/results.md (+ a summary on stdout)
// Every mount, loop device and temp tree it makes lives under bench/work/run-ID (and the
// tool's state dir /run/sqsh-layers-bench-ID) and is removed on success, failure and
// interrupt. Environment knobs: BENCH_REPEATS (3), BENCH_NOOP_RUNS (5), BENCH_COMPRESSION
// (zstd), BENCH_LEVEL (15; empty: the compressor's default), BENCH_QUICK=1 (skip the
// concurrency, old-SOURCE_DATE_EPOCH and profile runs), BENCH_KEEP=1 (keep bench/work/run-ID),
// BENCH_ONLY (seed,compressions,big,fleet: the parts to run), BENCH_COMPRESSIONS (zstd:3,lz4),
// BENCH_BIG_SRC (/usr), BENCH_BIG_REPEATS (1), BENCH_FLEET (1000 layers), BENCH_RESULTS (the
// markdown file to write, default bench/results.md; the raw results go to bench/work/results-ID.json).

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureCorpus, hookScript } from './corpus.mjs';
import { handPhases, handScript } from './hand.mjs';
import { writeResults } from './report.mjs';
import { toolTimeline } from './timeline.mjs';
import { writeScaleResults } from './report-scale.mjs';
import { bigTreeScenario, fleetScenario } from './scale.mjs';
import { cleanupDir, exists, killChildren, log, mountsUnder, run, sh, unmountUnder } from './sys.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(HERE);
const WORK = path.join(HERE, 'work');
const RUN_ID = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${process.pid}`;
const RUN = path.join(WORK, `run-${RUN_ID}`);
const STATE = `/run/sqsh-layers-bench-${RUN_ID}`;
const PROBE = path.join(HERE, 'rss-probe.cjs');
const LAYERS = ['base', 'server', 'extra', 'config'];

const envInt = (k, d) => (process.env[k] !== undefined && process.env[k] !== '' ? Number(process.env[k]) : d);
const CFG = {
  repeats: envInt('BENCH_REPEATS', 3),
  noopRuns: envInt('BENCH_NOOP_RUNS', 5),
  squashfs: {
    compression: process.env.BENCH_COMPRESSION || 'zstd',
    level: process.env.BENCH_LEVEL === '' ? undefined : envInt('BENCH_LEVEL', 15),
    blockSize: 128 * 1024,
  },
  quick: process.env.BENCH_QUICK === '1',
  only: new Set((process.env.BENCH_ONLY || 'seed,compressions,big,fleet').split(',')),
  compressions: (process.env.BENCH_COMPRESSIONS ?? 'zstd:3,lz4')
    .split(',')
    .filter(Boolean)
    .map((c) => {
      const [compression, level] = c.split(':');
      return { compression, level: level ? Number(level) : undefined, blockSize: 128 * 1024 };
    }),
  big: { src: process.env.BENCH_BIG_SRC || '/usr', repeats: envInt('BENCH_BIG_REPEATS', 1), squashfs: { compression: 'zstd', level: 3, blockSize: 128 * 1024 } },
  fleet: { count: envInt('BENCH_FLEET', 1000), squashfs: { compression: 'zstd', level: 3, blockSize: 128 * 1024 } },
  keep: process.env.BENCH_KEEP === '1',
  oldSourceDateEpoch: 1700000000,
};

let aborted;
const checkAborted = () => {
  if (aborted) throw new Error(`interrupted by ${aborted}`);
};

// ---------------------------------------------------------------- the tool, snapshotted

const TOOL = path.join(RUN, 'tool');
const CLI = path.join(TOOL, 'dist', 'cli.cjs');
/** What the command's `#!/usr/bin/env -S ...` line passes env (read once snapshotted). */
let cliEnvLine;

/** A copy of dist/ for this run: other work recompiling dist/ cannot change the tool mid-run. */
async function snapshotTool() {
  if (!(await exists(path.join(ROOT, 'dist', 'cli.cjs')))) throw new Error('dist/cli.cjs is missing: run `npm run build` first');
  await fs.mkdir(TOOL, { recursive: true });
  await fs.cp(path.join(ROOT, 'dist'), path.join(TOOL, 'dist'), { recursive: true });
  await fs.copyFile(path.join(ROOT, 'package.json'), path.join(TOOL, 'package.json'));
  const version = await sh(`node '${CLI}' --version`);
  let mksquashfsArgs;
  try {
    ({ mksquashfsArgs } = await import(pathToFileURL(path.join(TOOL, 'dist', 'layer', 'pack.js')).href));
  } catch {
    mksquashfsArgs = undefined;
  }
  return { version, mksquashfsArgs };
}

/** The options the tool passes to mksquashfs for CFG.squashfs (from its own code when possible). */
function squashfsArgs(tool, o = CFG.squashfs) {
  if (tool.mksquashfsArgs) return tool.mksquashfsArgs(o);
  const args = ['-noappend', '-no-recovery', '-xattrs', '-comp', o.compression, '-b', String(o.blockSize)];
  if (o.level !== undefined) args.push('-Xcompression-level', String(o.level));
  return args;
}

let probeSeq = 0;

/** Runs `sqsh-layers -C project ARGS`; adds the wall time, stderr timeline and the probe's RSS/CPU. */
async function tool(project, args, o = {}) {
  checkAborted();
  const probeOut = path.join(RUN, `probe-${++probeSeq}.json`);
  const nodeArgs = o.nodeArgs ?? [];
  // Through the command's #! line, as running the installed command does (its environment
  // and node's options), with the probe and any node options of this run added.
  if (cliEnvLine === undefined) {
    const line = (await fs.readFile(CLI, 'utf8')).split('\n', 1)[0];
    const m = /^#!\/usr\/bin\/env -S (.*\bnode\b.*)$/.exec(line);
    if (!m) throw new Error(`the command's #! line is not "#!/usr/bin/env -S ... node ...": ${line}`);
    cliEnvLine = m[1];
  }
  const quoted = [...nodeArgs, '--require', PROBE].map((a) => `'${a.replace(/'/g, `'"'"'`)}'`).join(' ');
  const res = await run(['/usr/bin/env', '-S', `${cliEnvLine} ${quoted}`, CLI, '-C', project, ...args], {
    env: {
      // null: none (the scale scenarios build deterministic-by-default layers).
      SOURCE_DATE_EPOCH: o.sourceDateEpoch === null ? undefined : String(o.sourceDateEpoch ?? corpus.sourceDateEpoch),
      SQSH_LAYERS_RUN_DIR: STATE,
      BENCH_PROBE_OUT: probeOut,
    },
    keepLines: true,
    captureStdout: true,
    logFile: path.join(RUN, 'logs', `${path.basename(project)}.log`),
    allowFail: o.allowFail,
  });
  res.probe = await fs.readFile(probeOut, 'utf8').then(JSON.parse, () => undefined);
  res.built = /\((\d+) built, (\d+) cached/.exec(res.stdout)?.slice(1).map(Number);
  const leftover = await mountsUnder(STATE);
  if (leftover.length > 0) {
    results.findings.push(`the tool left ${leftover.length} mount(s) under its state dir after \`${args.join(' ')}\`: ${leftover.join(', ')}`);
    await unmountUnder(STATE);
  }
  return res;
}

// ---------------------------------------------------------------- projects

function recipeText(r, sq = CFG.squashfs) {
  const lines = [`description: ${r.description}`];
  if (r.parent) lines.push(`parent: ${r.parent}`);
  lines.push('steps:', ...r.steps.map((s) => `  - ${s}`));
  lines.push('squashfs:', `  compression: ${sq.compression}`);
  if (sq.level !== undefined) lines.push(`  level: ${sq.level}`);
  lines.push(`  block-size: ${sq.blockSize / 1024}K`);
  return lines.join('\n') + '\n';
}

/** The seed's four layers as recipes: the same steps as the hand-made script. */
function seedRecipes() {
  const f = corpus.files;
  return [
    { name: 'base', description: 'Debian bookworm minbase + tools, restored from a full dump', steps: [`restore: ${JSON.stringify(f.base.path)}`] },
    { name: 'server', parent: 'base', description: 'the full server image (base + nginx-light) restored over base', steps: [`restore: ${JSON.stringify(f.server.path)}`] },
    { name: 'extra', parent: 'server', description: 'a few MB of extra files', steps: [`restore: ${JSON.stringify(f.extra.path)}`] },
    { name: 'config', parent: 'extra', description: 'site configuration by the manager hook', steps: ['host: hooks/manage.sh'] },
  ];
}

async function writeProject(dir, recipes, squashfs = CFG.squashfs) {
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(path.join(dir, 'recipes'), { recursive: true });
  await fs.mkdir(path.join(dir, 'hooks'), { recursive: true });
  await fs.writeFile(path.join(dir, 'hooks', 'manage.sh'), hookScript(1), { mode: 0o755 });
  for (const r of recipes) await fs.writeFile(path.join(dir, 'recipes', `${r.name}.yaml`), recipeText(r, squashfs));
  return dir;
}

async function layerFiles(dir, names, suffix = '.sqsh') {
  const out = {};
  for (const n of names) out[n] = (await fs.stat(path.join(dir, `${n}${suffix}`)).catch(() => undefined))?.size;
  return out;
}

async function logDir(name) {
  const d = path.join(RUN, 'logs', name);
  await fs.mkdir(d, { recursive: true });
  return d;
}

async function loadavg() {
  return (await fs.readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
}

// ---------------------------------------------------------------- the measurements

async function handRun(i, tool, keep) {
  checkAborted();
  const dir = path.join(RUN, `hand-${i}`);
  await fs.mkdir(dir, { recursive: true });
  const script = path.join(dir, 'hand.sh');
  await fs.writeFile(
    script,
    handScript({
      dir,
      logDir: await logDir(`hand-${i}`),
      inputs: { base: corpus.files.base.path, server: corpus.files.server.path, extra: corpus.files.extra.path, hook: corpus.files.hook.path },
      mksquashfsArgs: squashfsArgs(tool),
      sourceDateEpoch: corpus.sourceDateEpoch,
    }),
    { mode: 0o755 },
  );
  const load = await loadavg();
  const res = await run(['sh', script], { cwd: dir, keepLines: true, logFile: path.join(RUN, 'logs', `hand-${i}.log`) });
  const out = { seconds: res.seconds, phases: handPhases(res.lines), sizes: await layerFiles(dir, LAYERS), loadBefore: load };
  const left = await mountsUnder(dir);
  if (left.length > 0) results.findings.push(`bench: the hand-made script left ${left.length} mount(s)`);
  if (!keep) await cleanupDir(dir);
  return { ...out, dir };
}

async function coldToolRun(i) {
  const project = await writeProject(path.join(RUN, `tool-${i}`), seedRecipes());
  const load = await loadavg();
  const res = await tool(project, ['--verbose', 'build']);
  const manifest = JSON.parse(await fs.readFile(path.join(project, 'layers', 'manifest.json'), 'utf8'));
  return {
    seconds: res.seconds,
    built: res.built,
    probe: res.probe,
    timeline: toolTimeline(res.lines),
    sizes: await layerFiles(path.join(project, 'layers'), LAYERS),
    digests: Object.fromEntries(LAYERS.map((n) => [n, manifest.layers[n]?.sha256])),
    loadBefore: load,
    project,
  };
}

/** Mounts two layer sets as read-only stacks and lists what differs (rsync dry run, by checksum). */
async function compareStacks(handDir, toolLayers) {
  const dir = path.join(RUN, 'compare');
  const stack = async (name, files) => {
    const lowers = [];
    for (const [i, f] of files.entries()) {
      const d = path.join(dir, name, `l${i}`);
      await fs.mkdir(d, { recursive: true });
      await run(['mount', '-t', 'squashfs', '-o', 'ro,loop', f, d]);
      lowers.push(d);
    }
    const root = path.join(dir, name, 'root');
    await fs.mkdir(root, { recursive: true });
    await run(['mount', '-t', 'overlay', '-o', `lowerdir=${lowers.join(':')}`, 'bench', root]);
    return root;
  };
  try {
    const top = [...LAYERS].reverse();
    const a = await stack('hand', top.map((n) => path.join(handDir, `${n}.sqsh`)));
    const b = await stack('tool', top.map((n) => path.join(toolLayers, `${n}.sqsh`)));
    const res = await run(['rsync', '-naiHAX', '--numeric-ids', '--checksum', '--delete', `${a}/`, `${b}/`], { captureStdout: true, allowFail: true });
    const lines = res.stdout.split('\n').filter((l) => l.trim() !== '');
    // rsync -i: YXcstpoguax; "t" = modification time, "+++++++++" = only in the hand-made stack,
    // "*deleting" = only in the tool's stack.
    const kinds = {};
    for (const l of lines) {
      const m = /^(\S+) (.*)$/.exec(l);
      const [flags, name] = m ? [m[1], m[2]] : ['?', l];
      let kind;
      if (flags === '*deleting') kind = 'only in the tool stack';
      else if (flags.endsWith('+++++++++')) kind = name === 'restoresymtable' ? 'restoresymtable (only in the hand-made stack)' : 'only in the hand-made stack';
      else if (/^\.d\.\.t\.+$/.test(flags)) kind = 'directories differing only in mtime';
      else if (/^[.>]f/.test(flags) && flags[2] === 'c') kind = 'files differing in content';
      else kind = 'other attribute differences';
      kinds[kind] = (kinds[kind] ?? 0) + 1;
    }
    return { differences: lines.length, kinds, lines: lines.slice(0, 40), rsyncExit: res.code };
  } finally {
    await cleanupDir(dir);
  }
}

async function entryCount(sqsh) {
  const out = await sh(`unsquashfs -l '${sqsh}' | grep -c '^squashfs-root/'`).catch(() => 'NaN');
  return Number(out);
}

async function squashfsSizeOf(dir) {
  const out = path.join(RUN, `ref-${path.basename(dir)}.sqsh`);
  await run(['mksquashfs', dir, out, ...squashfsArgs(toolInfo)], { env: { SOURCE_DATE_EPOCH: String(corpus.sourceDateEpoch) } });
  const size = (await fs.stat(out)).size;
  await fs.rm(out, { force: true });
  return size;
}

/** Self time per function of a .cpuprofile (ms), top N, plus the idle share. */
async function summarizeProfile(dir) {
  const files = (await fs.readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) return undefined;
  const prof = JSON.parse(await fs.readFile(path.join(dir, files[0]), 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const n = byId.get(prof.samples[i]);
    const dt = (prof.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const cf = n.callFrame;
    const url = cf.url.replace(/^file:\/\//, '').replace(`${TOOL}/`, '').replace(`${ROOT}/`, '');
    const key = cf.url ? `${cf.functionName || '(anonymous)'}  ${url}:${cf.lineNumber + 1}` : cf.functionName;
    self.set(key, (self.get(key) ?? 0) + dt);
  }
  const byFile = new Map();
  for (const [k, v] of self) {
    const file = k.includes('  ') ? k.split('  ')[1].replace(/:\d+$/, '') : k;
    byFile.set(file, (byFile.get(file) ?? 0) + v);
  }
  const top = (m, n) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => ({ what: k, ms: Math.round(v) }));
  return { totalMs: Math.round(total), idleMs: Math.round(self.get('(idle)') ?? 0), functions: top(self, 20), files: top(byFile, 12) };
}

// ---------------------------------------------------------------- main

let corpus;
let toolInfo;
const results = { findings: [], notes: [] };

async function machineInfo() {
  const cpuinfo = await fs.readFile('/proc/cpuinfo', 'utf8');
  const meminfo = await fs.readFile('/proc/meminfo', 'utf8');
  return {
    date: new Date().toISOString(),
    cpu: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? 'unknown',
    cores: Number(await sh('nproc')),
    ramGiB: Number(/MemTotal:\s*(\d+)/.exec(meminfo)?.[1] ?? 0) / 1048576,
    kernel: await sh('uname -r'),
    os: await sh('. /etc/os-release && echo "$PRETTY_NAME"').catch(() => 'unknown'),
    mksquashfs: (await sh('mksquashfs -version 2>&1 | head -n 1')).trim(),
    dump: await sh("dpkg-query -W -f='${Version}' dump").catch(() => 'unknown'),
    node: process.version,
    loadStart: await loadavg(),
  };
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('the bench mounts filesystems: run it as root');
  await fs.mkdir(path.join(RUN, 'logs'), { recursive: true });
  log(`run ${RUN_ID}: work dir ${RUN}`);
  toolInfo = await snapshotTool();
  results.machine = await machineInfo();
  results.machine.tool = toolInfo.version;
  results.cfg = { ...CFG, only: [...CFG.only], mksquashfsArgs: squashfsArgs(toolInfo) };
  if (CFG.only.has('seed')) await seedScenarios();
  if (CFG.only.has('compressions')) await compressionScenarios();
  results.scale = await scaleScenarios();
  results.machine.loadEnd = await loadavg();
  return results;
}

/** Issue 13's scenarios; each in its own try, so one failing still reports the others. */
async function scaleScenarios() {
  const ctx = {
    run: RUN,
    tool: (project, args) => tool(project, args, { sourceDateEpoch: null }),
    writeProject,
    squashfsArgs: (o) => squashfsArgs(toolInfo, o),
    checkAborted,
    findings: results.findings,
    big: CFG.big,
    fleet: CFG.fleet,
    noopRuns: CFG.noopRuns,
  };
  const out = { loadStart: await loadavg() };
  for (const [name, fn] of [
    ['big', bigTreeScenario],
    ['fleet', fleetScenario],
  ]) {
    if (!CFG.only.has(name)) continue;
    try {
      out[name] = await fn(ctx);
    } catch (err) {
      checkAborted();
      out[name] = { error: String(err.stack ?? err) };
      log(`${name}: failed: ${err.stack ?? err}`);
    }
  }
  out.loadEnd = await loadavg();
  return out;
}

/** The seed corpus's cold builds at fast compression, where the tool's own overhead shows. */
async function compressionScenarios() {
  if (!corpus) {
    corpus = await ensureCorpus(path.join(WORK, 'corpus'));
    results.corpus = corpus;
    await run(['sh', '-c', `cat ${Object.values(corpus.files).map((f) => `'${f.path}'`).join(' ')} > /dev/null`]);
  }
  checkAborted();
  results.compressions = [];
  const primary = CFG.squashfs;
  for (const squashfs of CFG.compressions) {
    CFG.squashfs = squashfs;
    const label = `${squashfs.compression}${squashfs.level !== undefined ? ` ${squashfs.level}` : ''}`;
    const v = { squashfs, label, hand: [], tool: [] };
    for (let i = 0; i < CFG.repeats; i++) {
      log(`cold at ${label} ${i + 1}/${CFG.repeats}: hand-made script`);
      const h = await handRun(`${label.replace(' ', '')}-${i}`, toolInfo, false);
      v.hand.push({ seconds: h.seconds, phases: h.phases, sizes: h.sizes });
      log(`  hand: ${h.seconds.toFixed(1)} s`);
      log(`cold at ${label} ${i + 1}/${CFG.repeats}: sqsh-layers build`);
      const t = await coldToolRun(`${label.replace(' ', '')}-${i}`);
      v.tool.push({ seconds: t.seconds, rssKiB: t.probe?.maxRssKiB, timeline: t.timeline, sizes: t.sizes });
      log(`  tool: ${t.seconds.toFixed(1)} s, peak RSS ${(t.probe?.maxRssKiB / 1024).toFixed(0)} MiB`);
      await fs.rm(t.project, { recursive: true, force: true });
    }
    results.compressions.push(v);
  }
  CFG.squashfs = primary;
}

/** The seed corpus scenarios (sections 1-5 and 9 of results.md). */
async function seedScenarios() {
  corpus = await ensureCorpus(path.join(WORK, 'corpus'));
  checkAborted();
  results.corpus = corpus;
  // The dumps are read from the page cache by every run, hand and tool alike.
  await run(['sh', '-c', `cat ${Object.values(corpus.files).map((f) => `'${f.path}'`).join(' ')} > /dev/null`]);

  // 1. Cold builds, alternating.
  results.cold = { hand: [], tool: [] };
  let lastTool;
  let lastHand;
  for (let i = 0; i < CFG.repeats; i++) {
    const last = i === CFG.repeats - 1;
    log(`cold ${i + 1}/${CFG.repeats}: hand-made script`);
    const h = await handRun(i, toolInfo, last);
    results.cold.hand.push(h);
    log(`  hand: ${h.seconds.toFixed(1)} s`);
    log(`cold ${i + 1}/${CFG.repeats}: sqsh-layers build`);
    const t = await coldToolRun(i);
    results.cold.tool.push(t);
    log(`  tool: ${t.seconds.toFixed(1)} s, peak RSS ${(t.probe?.maxRssKiB / 1024).toFixed(0)} MiB`);
    if (lastTool) await fs.rm(lastTool.project, { recursive: true, force: true });
    lastTool = t;
    lastHand = h;
  }
  const project = lastTool.project;
  const layersDir = path.join(project, 'layers');

  // 2. Same tree? The hand-made stack and the tool's stack, compared by checksum.
  log('comparing the hand-made and the tool stacks');
  results.equivalence = await compareStacks(lastHand.dir, layersDir);
  await cleanupDir(lastHand.dir);

  // 3. Sizes: tool vs hand vs the real difference.
  results.refServerDeltaSqsh = await squashfsSizeOf(corpus.refDelta.path);
  results.entries = {};
  for (const n of LAYERS) results.entries[n] = await entryCount(path.join(layersDir, `${n}.sqsh`));

  // 4. No-op rebuilds, plan.
  log(`no-op rebuild x${CFG.noopRuns}, plan x${CFG.noopRuns}`);
  results.noop = [];
  for (let i = 0; i < CFG.noopRuns; i++) {
    const r = await tool(project, ['build']);
    results.noop.push({ seconds: r.seconds, built: r.built, rssKiB: r.probe?.maxRssKiB });
  }
  results.plan = [];
  for (let i = 0; i < CFG.noopRuns; i++) {
    const r = await tool(project, ['plan']);
    results.plan.push({ seconds: r.seconds });
    if (i === 0) results.planOutput = r.stdout;
  }
  // plan with an empty stat cache: every input hashed again (streamed): time and memory.
  const statCache = path.join(project, '.sqsh-cache', 'stat-cache.json');
  await fs.copyFile(statCache, `${statCache}.bench`);
  await fs.rm(statCache);
  const pc = await tool(project, ['plan']);
  results.planColdStat = { seconds: pc.seconds, rssKiB: pc.probe?.maxRssKiB };
  await fs.rename(`${statCache}.bench`, statCache);

  // 5. The top layer's input: mtime only (must stay cached), then its content.
  log('touching the config hook: mtime only, then content');
  const hook = path.join(project, 'hooks', 'manage.sh');
  await sh(`touch '${hook}'`);
  const tm = await tool(project, ['build']);
  results.touchMtime = { seconds: tm.seconds, built: tm.built };
  await fs.writeFile(hook, hookScript(2), { mode: 0o755 });
  const tp = await tool(project, ['plan']);
  results.touchContentPlan = tp.stdout;
  const tc = await tool(project, ['--verbose', 'build']);
  results.touchContent = { seconds: tc.seconds, built: tc.built, timeline: toolTimeline(tc.lines), rssKiB: tc.probe?.maxRssKiB };

  // 6. Memory: a small input, with the same machinery.
  log('memory: a small single-layer project');
  const small = await writeProject(path.join(RUN, 'small'), [
    { name: 'small', description: 'the extra image alone', steps: [`restore: ${JSON.stringify(corpus.files.extra.path)}`] },
  ]);
  const sb = await tool(small, ['build']);
  await fs.rm(path.join(small, '.sqsh-cache', 'stat-cache.json'), { force: true });
  const sp = await tool(small, ['plan']);
  // A middle point for hashing: base.dump alone (plan with an empty stat cache).
  const medium = await writeProject(path.join(RUN, 'medium'), seedRecipes().slice(0, 1));
  const mp = await tool(medium, ['plan']);
  await fs.rm(medium, { recursive: true, force: true });
  results.memory = {
    smallInputBytes: corpus.files.extra.size,
    largeInputBytes: corpus.files.base.size + corpus.files.server.size + corpus.files.extra.size,
    smallBuildKiB: sb.probe?.maxRssKiB,
    largeBuildKiB: Math.max(...results.cold.tool.map((t) => t.probe?.maxRssKiB ?? 0)),
    smallPlanColdKiB: sp.probe?.maxRssKiB,
    mediumInputBytes: corpus.files.base.size,
    mediumPlanColdKiB: mp.probe?.maxRssKiB,
    largePlanColdKiB: results.planColdStat.rssKiB,
  };
  await fs.rm(small, { recursive: true, force: true });

  if (!CFG.quick) {
    // 7. Independent bottom layers: --jobs 1 vs --jobs 2, fresh cache each.
    log('concurrency: two independent bottom layers, --jobs 1 then --jobs 2');
    const conc = (dir) =>
      writeProject(path.join(RUN, dir), [
        { name: 'a', description: 'base image', steps: [`restore: ${JSON.stringify(corpus.files.base.path)}`] },
        { name: 'b', description: 'server image', steps: [`restore: ${JSON.stringify(corpus.files.server.path)}`] },
      ]);
    const perLayer = (r) =>
      Object.fromEntries(r.lines.map(({ line }) => /^\[([ab])\] built in ([0-9.]+)s/.exec(line)).filter(Boolean).map((m) => [m[1], Number(m[2])]));
    const p1 = await conc('conc-j1');
    const j1 = await tool(p1, ['--jobs', '1', 'build']);
    await fs.rm(p1, { recursive: true, force: true });
    const p2 = await conc('conc-j2');
    const j2 = await tool(p2, ['--jobs', '2', 'build']);
    await fs.rm(p2, { recursive: true, force: true });
    const l1 = perLayer(j1);
    const overhead = j1.seconds - (l1.a ?? 0) - (l1.b ?? 0);
    results.concurrency = {
      jobs1: j1.seconds,
      jobs2: j2.seconds,
      rssKiB: { jobs1: j1.probe?.maxRssKiB, jobs2: j2.probe?.maxRssKiB },
      // CPU seconds (node + the commands it waited for): divided by the cores, the floor
      // that no scheduling can beat when the layers are CPU-bound.
      cpuJobs1: j1.probe ? j1.probe.userCpu + j1.probe.sysCpu + (j1.probe.childCpu ?? 0) : undefined,
      cores: results.machine.cores,
      layersJobs1: l1,
      layersJobs2: perLayer(j2),
      overhead,
      criticalPath: Math.max(l1.a ?? 0, l1.b ?? 0) + overhead,
    };

    // 8. SOURCE_DATE_EPOCH older than the images: does prune-identical still see the server's
    //    unchanged files (mksquashfs clamps the lower's mtimes, not the new upper's)?
    log(`base+server with SOURCE_DATE_EPOCH=${CFG.oldSourceDateEpoch} (older than the images)`);
    const ps = await writeProject(path.join(RUN, 'sde-old'), seedRecipes().slice(0, 2));
    const so = await tool(ps, ['build'], { sourceDateEpoch: CFG.oldSourceDateEpoch });
    const soLayers = path.join(ps, 'layers');
    results.oldSde = {
      sourceDateEpoch: CFG.oldSourceDateEpoch,
      seconds: so.seconds,
      rssKiB: so.probe?.maxRssKiB,
      sizes: await layerFiles(soLayers, ['base', 'server']),
      entries: { server: await entryCount(path.join(soLayers, 'server.sqsh')) },
    };
    await fs.rm(ps, { recursive: true, force: true });

    // 9. Where the tool's own CPU goes: a cold build under --cpu-prof.
    log('profile: a cold build under node --cpu-prof');
    const pp = await writeProject(path.join(RUN, 'profile'), seedRecipes());
    const profDir = path.join(RUN, 'cpu-profile');
    const pr = await tool(pp, ['build'], { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] });
    results.profile = { seconds: pr.seconds, ...(await summarizeProfile(profDir)) };
    await fs.rm(pp, { recursive: true, force: true });
  }
}

function onSignal(sig) {
  if (aborted) {
    killChildren('SIGKILL');
    return;
  }
  aborted = sig;
  log(`${sig}: stopping what the bench started, then cleaning up`);
  killChildren('SIGTERM');
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

let exitCode = 0;
try {
  await main();
  // The raw results too, so the scale section can be written again from several runs (report-scale.mjs).
  await fs.writeFile(path.join(WORK, `results-${RUN_ID}.json`), JSON.stringify(results, null, 1));
  const file = process.env.BENCH_RESULTS || path.join(HERE, 'results.md');
  const summary = results.cold ? await writeResults(file, results) : '';
  process.stdout.write(summary + (await writeScaleResults(file, results)));
} catch (err) {
  exitCode = aborted === 'SIGTERM' ? 143 : aborted ? 130 : 1;
  log(`failed: ${err.stack ?? err}`);
} finally {
  const a = await cleanupDir(STATE);
  if (CFG.keep && exitCode === 0) {
    await unmountUnder(RUN);
    log(`kept ${RUN}`);
  } else {
    if (exitCode !== 0) {
      const kept = path.join(WORK, `failed-${RUN_ID}-logs`);
      await unmountUnder(RUN);
      await fs.rename(path.join(RUN, 'logs'), kept).then(() => log(`logs kept in ${kept}`), () => {});
    }
    const b = await cleanupDir(RUN);
    if (a.mounts + b.mounts + a.loops + b.loops > 0) log(`cleanup: ${a.mounts + b.mounts} mount(s), ${a.loops + b.loops} loop device(s) removed`);
  }
}
process.exitCode = exitCode;

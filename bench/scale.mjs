// The bench's scale scenarios (issue 13), each against a hand-made sh script with the same
// mksquashfs options, side by side in one run:
//  - big tree: a real directory tree of the machine (default /usr, its biggest subtrees left
//    out until it is about 3-3.5 GiB) as a base tarball, and the same tree with 200 directories
//    deleted and 500 files changed as a full-image `untar ... replace: true` layer over it;
//  - fleet: one base and 1,000 small per-machine layers over it (a copy step each): cold build
//    per layer, no-op build, plan.
// Everything lives under the run dir (ctx.run) and is removed by run.mjs's cleanup.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { cleanupDir, log, median, mountsUnder, run, sh } from './sys.mjs';

const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

// ---------------------------------------------------------------- big tree

/**
 * The subtrees of `src` (two levels deep) to leave out, biggest first, so that what stays is
 * at most `maxBytes` while keeping at least `minBytes` and `minEntries`.
 */
export async function pickBigTree(src, { minBytes, maxBytes, minEntries }) {
  const sizes = await duMap(['du', '-x', '-b', '-s'], src);
  const inodes = await duMap(['du', '-x', '--inodes', '-s'], src);
  const total = { bytes: sizes.get('.') ?? 0, entries: inodes.get('.') ?? 0 };
  const depth2 = [...sizes].filter(([rel]) => rel.split('/').length === 2).sort((a, b) => b[1] - a[1]);
  const excluded = [];
  let bytes = total.bytes;
  let entries = total.entries;
  for (const [rel, size] of depth2) {
    if (bytes <= maxBytes) break;
    const n = inodes.get(rel) ?? 0;
    if (bytes - size < minBytes || entries - n < minEntries) continue;
    excluded.push(rel);
    bytes -= size;
    entries -= n;
  }
  return { src, excluded, bytes, entries };
}

async function duMap(argv, src) {
  // du counts a directory once per call: the whole tree and its depth-2 subtrees are asked apart.
  const m = new Map();
  for (const args of ['.', './*/*']) {
    const out = await sh(`cd ${q(src)} && ${argv.join(' ')} ${args} 2>/dev/null || true`, { maxBuffer: 1 << 26 });
    for (const line of out.split('\n')) {
      const [n, p] = line.split('\t');
      if (p === undefined) continue;
      m.set(p.replace(/^\.\/?/, '') || '.', Number(n));
    }
  }
  return m;
}

/** base.tar and image.tar (200 dirs gone, 500 files changed) from the picked tree. */
export async function makeBigInputs(dir, pick) {
  await fs.mkdir(dir, { recursive: true });
  const excludes = pick.excluded.map((e) => `--exclude=./${e}`);
  const base = path.join(dir, 'base.tar');
  await run(['tar', '-C', pick.src, '--one-file-system', ...excludes, '-cf', base, '.']);
  // What is in it, as tar lists it: directories end in '/'.
  const listing = (await sh(`tar -tvf ${q(base)}`, { maxBuffer: 1 << 30 })).split('\n').filter(Boolean);
  const files = [];
  const dirs = [];
  for (const l of listing) {
    const m = /^(\S)\S+\s+\S+\s+(\d+)\s+\S+\s+\S+\s+(\.\/.*)$/.exec(l);
    if (!m) continue;
    if (m[1] === 'd' && m[3].split('/').length >= 4) dirs.push(m[3].replace(/\/$/, ''));
    else if (m[1] === '-' && Number(m[2]) > 0 && !m[3].includes(' -> ') && !m[3].includes(' link to ')) files.push(m[3]);
  }
  // Every 1/N-th, so the changes spread over the tree; deleted dirs are not parents of each other.
  const deleted = [];
  for (let i = 0; i < dirs.length && deleted.length < 200; i += Math.max(1, Math.floor(dirs.length / 200))) {
    if (!deleted.some((d) => dirs[i].startsWith(`${d}/`) || d.startsWith(`${dirs[i]}/`))) deleted.push(dirs[i]);
  }
  const changed = [];
  for (let i = 0; i < files.length && changed.length < 500; i += Math.max(1, Math.floor(files.length / 500))) {
    if (!deleted.some((d) => files[i].startsWith(`${d}/`))) changed.push(files[i]);
  }
  const stage = path.join(dir, 'changed');
  for (const f of changed) {
    const to = path.join(stage, f);
    await fs.mkdir(path.dirname(to), { recursive: true });
    await run(['cp', '-a', path.join(pick.src, f), to]);
    await fs.appendFile(to, '\n# changed by the bench\n');
  }
  await fs.writeFile(path.join(dir, 'exclude.list'), [...deleted, ...changed].map((p) => `${p}\n`).join(''));
  const image = path.join(dir, 'image.tar');
  await run(['tar', '-C', pick.src, '--one-file-system', ...excludes, `--exclude-from=${path.join(dir, 'exclude.list')}`, '-cf', image, '.']);
  await run(['tar', '-C', stage, '-rf', image, ...changed]);
  await fs.rm(stage, { recursive: true, force: true });
  const size = async (p) => (await fs.stat(p)).size;
  return { base, image, baseBytes: await size(base), imageBytes: await size(image), deleted: deleted.length, changed: changed.length, entries: listing.length };
}

/** The start of a hand-made script: work in `dir`, unmount whatever it mounted there on any exit. */
function scriptStart(dir) {
  return `set -eu
W=${q(dir)}
cd "$W"
cleanup() {
  cd "$W"
  for m in $(awk '{ print $5 }' /proc/self/mountinfo | grep "^$W/" | tac); do umount "$m" 2>/dev/null || umount -l "$m"; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
`;
}

/** The hand-made way: untar the base into a tmpfs and pack it; untar the image over it in an overlay, pack the upper. */
function bigHandScript({ dir, base, image, args }) {
  const tar = 'tar -x --numeric-owner --same-owner --same-permissions --xattrs --xattrs-include=* --acls';
  return `#!/bin/sh
${scriptStart(dir)}mkdir -p merged
mount -t tmpfs none merged
${tar} -C merged -f ${q(base)}
mksquashfs merged base.sqsh ${args} >/dev/null
umount merged
mkdir base upper
mount -o loop,ro base.sqsh base
mount -t tmpfs none upper
mkdir -p upper/upper upper/work
mount -t overlay -o lowerdir=base,upperdir=upper/upper,workdir=upper/work none merged
${tar} -C merged -f ${q(image)}
umount merged
mksquashfs upper/upper server.sqsh ${args} >/dev/null
`;
}

export async function bigTreeScenario(ctx) {
  const { squashfs, repeats } = ctx.big;
  const dir = path.join(ctx.run, 'big');
  log(`big tree: picking a tree under ${ctx.big.src}`);
  const pick = await pickBigTree(ctx.big.src, { minBytes: 3 * 2 ** 30, maxBytes: 3.5 * 2 ** 30, minEntries: 100_000 });
  log(`big tree: ${pick.entries} entries, ${(pick.bytes / 2 ** 30).toFixed(2)} GiB (left out: ${pick.excluded.join(', ') || 'nothing'}); making the tarballs`);
  const inputs = await makeBigInputs(path.join(dir, 'inputs'), pick);
  await run(['sh', '-c', `cat ${q(inputs.base)} ${q(inputs.image)} > /dev/null`]);
  const args = ctx.squashfsArgs(squashfs).map(q).join(' ');
  const out = { pick, inputs: { ...inputs, base: undefined, image: undefined }, squashfs, hand: [], tool: [] };
  for (let i = 0; i < repeats; i++) {
    ctx.checkAborted();
    const hdir = path.join(dir, `hand-${i}`);
    await fs.mkdir(hdir, { recursive: true });
    await fs.writeFile(path.join(hdir, 'hand.sh'), bigHandScript({ dir: hdir, base: inputs.base, image: inputs.image, args }), { mode: 0o755 });
    log(`big tree ${i + 1}/${repeats}: hand-made script`);
    const h = await run(['sh', path.join(hdir, 'hand.sh')], { cwd: hdir, logFile: path.join(ctx.run, 'logs', `big-hand-${i}.log`) });
    const hsizes = { base: (await fs.stat(path.join(hdir, 'base.sqsh'))).size, server: (await fs.stat(path.join(hdir, 'server.sqsh'))).size };
    if ((await mountsUnder(hdir)).length > 0) ctx.findings.push('bench: the big-tree hand script left mounts');
    await cleanupDir(hdir);
    out.hand.push({ seconds: h.seconds, sizes: hsizes });
    log(`  hand: ${h.seconds.toFixed(1)} s`);

    log(`big tree ${i + 1}/${repeats}: sqsh-layers build`);
    const project = await ctx.writeProject(path.join(dir, `tool-${i}`), [
      { name: 'base', description: 'a real tree as a tarball', steps: [`untar: ${JSON.stringify(inputs.base)}`] },
      { name: 'server', parent: 'base', description: 'the full image over it', steps: [`untar: ${JSON.stringify(inputs.image)}\n    replace: true`] },
    ], squashfs);
    const t = await ctx.tool(project, ['build']);
    const layers = path.join(project, 'layers');
    out.tool.push({
      seconds: t.seconds,
      rssKiB: t.probe?.maxRssKiB,
      sizes: { base: (await fs.stat(path.join(layers, 'base.sqsh'))).size, server: (await fs.stat(path.join(layers, 'server.sqsh'))).size },
    });
    log(`  tool: ${t.seconds.toFixed(1)} s, peak RSS ${((t.probe?.maxRssKiB ?? 0) / 1024).toFixed(0)} MiB`);
    await fs.rm(project, { recursive: true, force: true });
  }
  await fs.rm(path.join(dir, 'inputs'), { recursive: true, force: true });
  out.handMedian = median(out.hand.map((h) => h.seconds));
  out.toolMedian = median(out.tool.map((t) => t.seconds));
  return out;
}

// ---------------------------------------------------------------- fleet

/** A hand-made fleet: each machine layer on a tmpfs upper over the base, copied in, packed. */
function fleetHandScript({ dir, baseTree, machines, count, args }) {
  return `#!/bin/sh
${scriptStart(dir)}mkdir -p merged base upper
mount -t tmpfs none merged
cp -a ${q(baseTree)}/. merged/
mksquashfs merged base.sqsh ${args} >/dev/null
umount merged
mount -o loop,ro base.sqsh base
i=0
while [ $i -lt ${count} ]; do
  m=$(printf 'm%04d' $i)
  mount -t tmpfs none upper
  mkdir upper/upper upper/work
  mount -t overlay -o lowerdir=base,upperdir=upper/upper,workdir=upper/work none merged
  cp -a ${q(machines)}/$m/. merged/etc/
  umount merged
  mksquashfs upper/upper $m.sqsh ${args} >/dev/null
  umount upper
  i=$((i + 1))
done
`;
}

export async function fleetScenario(ctx) {
  const { count, squashfs } = ctx.fleet;
  const dir = path.join(ctx.run, 'fleet');
  const baseTree = path.join(dir, 'base-tree');
  const machines = path.join(dir, 'machines');
  log(`fleet: one base (a copy of /etc) and ${count} machine layers`);
  await fs.mkdir(baseTree, { recursive: true });
  await run(['cp', '-a', '/etc/.', baseTree]);
  for (let i = 0; i < count; i++) {
    const m = path.join(machines, `m${String(i).padStart(4, '0')}`);
    await fs.mkdir(m, { recursive: true });
    await fs.writeFile(path.join(m, 'hostname'), `machine-${i}\n`);
    await fs.writeFile(path.join(m, 'machine.conf'), `id=${i}\nrole=${i % 3 === 0 ? 'web' : 'worker'}\n`);
  }
  const args = ctx.squashfsArgs(squashfs).map(q).join(' ');

  const hdir = path.join(dir, 'hand');
  await fs.mkdir(hdir, { recursive: true });
  await fs.writeFile(path.join(hdir, 'hand.sh'), fleetHandScript({ dir: hdir, baseTree, machines, count, args }), { mode: 0o755 });
  log('fleet: hand-made script');
  const h = await run(['sh', path.join(hdir, 'hand.sh')], { cwd: hdir, logFile: path.join(ctx.run, 'logs', 'fleet-hand.log') });
  await cleanupDir(hdir);
  log(`  hand: ${h.seconds.toFixed(1)} s`);

  const recipes = [{ name: 'base', description: 'a copy of /etc', steps: [`copy: ${JSON.stringify(baseTree + '/')}`] }];
  for (let i = 0; i < count; i++) {
    const m = `m${String(i).padStart(4, '0')}`;
    recipes.push({ name: m, parent: 'base', description: `machine ${i}`, steps: [`copy: ${JSON.stringify(path.join(machines, m) + '/')}\n    to: /etc/`] });
  }
  const project = await ctx.writeProject(path.join(dir, 'tool'), recipes, squashfs);
  log('fleet: sqsh-layers build (cold)');
  const cold = await ctx.tool(project, ['build']);
  const baseSeconds = Number(/^\[base\] built in ([0-9.]+)s/m.exec(cold.lines.map((l) => l.line).join('\n'))?.[1] ?? NaN);
  log(`  tool: ${cold.seconds.toFixed(1)} s (${cold.built?.join(' built, ')} cached)`);
  const noop = [];
  const plan = [];
  for (let i = 0; i < ctx.noopRuns; i++) {
    const r = await ctx.tool(project, ['build']);
    noop.push({ seconds: r.seconds, built: r.built?.[0], rssKiB: r.probe?.maxRssKiB });
    plan.push((await ctx.tool(project, ['plan'])).seconds);
  }
  const manifestBytes = (await fs.stat(path.join(project, 'layers', 'manifest.json'))).size;
  await fs.rm(project, { recursive: true, force: true });
  await fs.rm(dir, { recursive: true, force: true });
  return {
    count,
    squashfs,
    hand: { seconds: h.seconds },
    cold: { seconds: cold.seconds, built: cold.built, rssKiB: cold.probe?.maxRssKiB, baseSeconds },
    perLayerMs: ((cold.seconds - (Number.isNaN(baseSeconds) ? 0 : baseSeconds)) / count) * 1000,
    handPerLayerMs: (h.seconds / count) * 1000,
    noop,
    plan,
    manifestBytes,
  };
}

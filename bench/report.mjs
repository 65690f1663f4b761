// bench/results.md from the bench's results, and the summary printed on stdout.

import { promises as fs } from 'node:fs';
import { fmtBytes, fmtS, median } from './sys.mjs';

const LAYERS = ['base', 'server', 'extra', 'config'];
const verdict = (ok) => (ok === undefined ? 'n/a' : ok ? '**met**' : '**not met**');
const mib = (kib) => (kib ? `${(kib / 1024).toFixed(0)} MiB` : 'n/a');
const r2 = (x) => (x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(2));

function table(head, rows) {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export async function writeResults(file, R) {
  const m = R.machine;
  const c = R.corpus;
  const handMed = median(R.cold.hand.map((h) => h.seconds));
  const toolMed = median(R.cold.tool.map((t) => t.seconds));
  const ratio = toolMed / handMed;
  // PRODUCT.md section 7: 0.7x at zstd 15 (mksquashfs dominates), 0.9x at fast compression.
  const coldTarget = R.cfg.squashfs.compression === 'zstd' && (R.cfg.squashfs.level ?? 15) >= 15 ? 0.7 : 0.9;
  // mksquashfs dominates and is what a loaded machine slows down most; the rest of the time
  // (restore, mounts, finalize, hashing) is what the tool adds or saves.
  const handPack = (h) => Object.values(h.phases).reduce((s, p) => s + (typeof p === 'object' ? p.mksquashfs : 0), 0);
  const toolPack = (t) => Object.values(t.timeline).reduce((s, l) => s + (l.phases?.mksquashfs ?? 0), 0);
  const handRest = median(R.cold.hand.map((h) => h.seconds - handPack(h)));
  const toolRest = median(R.cold.tool.map((t) => t.seconds - toolPack(t)));
  const baseSame = (x) => median(x);
  const handBase = baseSame(R.cold.hand.map((h) => h.phases.base.total - h.phases.base.mksquashfs));
  const toolBase = baseSame(R.cold.tool.map((t) => t.timeline.base.phases.total - t.timeline.base.phases.mksquashfs));
  const noopMed = median(R.noop.map((n) => n.seconds));
  const noopLater = median(R.noop.slice(1).map((n) => n.seconds));
  const planMed = median(R.plan.map((p) => p.seconds));
  const lastTool = R.cold.tool[R.cold.tool.length - 1];
  const lastHand = R.cold.hand[R.cold.hand.length - 1];
  const inputBytes = c.files.base.size + c.files.server.size + c.files.extra.size;
  const serverTool = lastTool.sizes.server;
  const serverRef = R.refServerDeltaSqsh;
  const mem = R.memory;
  const memRatio = mem.largeBuildKiB / mem.smallBuildKiB;
  const conc = R.concurrency;
  const concRatio = conc ? conc.jobs2 / conc.criticalPath : undefined;
  // The wall time no scheduler can beat: the critical path, or all the CPU work spread over
  // every core when that is longer (mksquashfs keeps every core busy).
  const concFloor = conc ? Math.max(conc.criticalPath, conc.cpuJobs1 ? conc.cpuJobs1 / conc.cores : 0) : undefined;
  const concFloorRatio = conc ? conc.jobs2 / concFloor : undefined;
  const digestsStable = LAYERS.every((n) => new Set(R.cold.tool.map((t) => t.digests[n])).size === 1);

  const targets = [
    [
      'No-op rebuild, 4 layers, ~600 MB dump inputs: ≤ 0.2 s',
      `median ${fmtS(noopMed)} of ${R.noop.length} (${R.noop.map((n) => n.seconds.toFixed(3)).join(', ')}); the first one right after the build ${fmtS(R.noop[0]?.seconds)}, later ones median ${fmtS(noopLater)}; ${fmtBytes(inputBytes)} of dumps; layers built per run: ${R.noop.map((n) => (n.built ? n.built[0] : '?')).join('/')}`,
      verdict(noopMed <= 0.2 && R.noop.every((n) => n.built && n.built[0] === 0)),
    ],
    [
      `Cold build: at most ${coldTarget}x the hand-made script (same mksquashfs settings: ${R.cfg.squashfs.compression} ${R.cfg.squashfs.level ?? ''})`,
      `tool median ${fmtS(toolMed)}, hand median ${fmtS(handMed)}: **${r2(ratio)}x**. Without the time inside mksquashfs: tool ${fmtS(toolRest)}, hand ${fmtS(handRest)} (${r2(toolRest / handRest)}x); the base layer alone (the same work on both sides) without mksquashfs: tool ${fmtS(toolBase)}, hand ${fmtS(handBase)} (the tool builds a child ahead while its parent is packed, so a layer's time outside mksquashfs includes waiting for that child: these splits overstate it)`,
      verdict(ratio <= coldTarget),
    ],
    [
      'Independent layers overlap: wall time close to the critical path (criterion used: --jobs 2 within 1.25x of the critical path, or of the CPU floor when the CPUs are the limit)',
      conc
        ? `--jobs 2: ${fmtS(conc.jobs2)}; critical path ${fmtS(conc.criticalPath)} (longest layer ${fmtS(Math.max(conc.layersJobs1.a ?? 0, conc.layersJobs1.b ?? 0))} + ${fmtS(conc.overhead)} fixed); --jobs 1: ${fmtS(conc.jobs1)}; ratio to the critical path ${r2(concRatio)}x${conc.cpuJobs1 ? `; CPU floor (CPU seconds of the --jobs 1 build / ${conc.cores} cores): ${fmtS(conc.cpuJobs1 / conc.cores)}; ratio to max(critical path, CPU floor) **${r2(concFloorRatio)}x**` : ''}`
        : 'skipped (BENCH_QUICK=1)',
      conc ? verdict(concFloorRatio <= 1.25) + (concRatio > 1.25 && concFloorRatio <= 1.25 ? ' (CPU-bound: the critical path itself is out of reach on this machine)' : '') : 'n/a',
    ],
    [
      'Full-image restore over its parent yields a layer of about the size of the real difference (criterion used: within 1.5x of an ideal delta packed with the same options)',
      `tool server.sqsh ${fmtBytes(serverTool)}; ideal delta ${fmtBytes(serverRef)} (${c.refDelta.entries} entries, ${fmtBytes(c.refDelta.bytes)} uncompressed); hand-made server.sqsh ${fmtBytes(lastHand.sizes.server)}${
        R.oldSde ? `. With a SOURCE_DATE_EPOCH older than the images (${R.oldSde.sourceDateEpoch}): tool server.sqsh **${fmtBytes(R.oldSde.sizes.server)}**, ${R.oldSde.entries.server} entries` : ''
      }`,
      verdict(serverTool <= 1.5 * serverRef && (!R.oldSde || R.oldSde.sizes.server <= 1.5 * serverRef)),
    ],
    [
      "The tool's own memory stays flat as inputs grow (criterion used: peak RSS for ~600 MB of input within 1.5x of that for a few MB)",
      `peak RSS of the node process, build: ${mib(mem.smallBuildKiB)} (${fmtBytes(mem.smallInputBytes)} input) vs ${mib(mem.largeBuildKiB)} (the 4 layers, ${fmtBytes(mem.largeInputBytes)})${conc ? `, ${mib(conc.rssKiB?.jobs1)} for two bottom layers restoring base and server (no prune)` : ''}; plan with an empty stat cache (hashes every input): ${mib(mem.smallPlanColdKiB)} (${fmtBytes(mem.smallInputBytes)}), ${mib(mem.mediumPlanColdKiB)} (${fmtBytes(mem.mediumInputBytes)}), ${mib(mem.largePlanColdKiB)} (${fmtBytes(mem.largeInputBytes)})`,
      verdict(memRatio <= 1.5 && mem.largePlanColdKiB <= 1.5 * mem.smallPlanColdKiB),
    ],
  ];

  const section3 = [
    ['`plan` (all cached, warm stat cache)', `median ${fmtS(planMed)} (${R.plan.map((p) => p.seconds.toFixed(3)).join(', ')})`, ''],
    ['`plan` with an empty stat cache (every input re-hashed)', fmtS(R.planColdStat.seconds), ''],
    [
      'Top layer input: mtime changed, content not (`touch hooks/manage.sh`): nothing rebuilt',
      `${fmtS(R.touchMtime.seconds)}, built ${R.touchMtime.built?.[0] ?? '?'}`,
      verdict(R.touchMtime.built?.[0] === 0),
    ],
    [
      'Top layer input: content changed: only config rebuilt, `plan` names the input',
      `${fmtS(R.touchContent.seconds)}, built ${R.touchContent.built?.[0] ?? '?'}, cached ${R.touchContent.built?.[1] ?? '?'}`,
      verdict(R.touchContent.built?.[0] === 1 && /manage\.sh/.test(R.touchContentPlan)),
    ],
    ['Bit-identical layers across the cold runs (SOURCE_DATE_EPOCH set)', digestsStable ? 'yes' : 'NO: digests differ', verdict(digestsStable)],
    [
      'Stacked result equals the hand-made stack (rsync --checksum dry run over both stacks; the hand-made base keeps restore\'s restoresymtable)',
      `${R.equivalence.differences} differing path(s): ${Object.entries(R.equivalence.kinds)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ') || 'none'}`,
      verdict(Object.keys(R.equivalence.kinds).every((k) => k.startsWith('restoresymtable'))),
    ],
  ];

  // Per-layer phases: medians over the cold runs.
  const toolPhase = (layer, p) => median(R.cold.tool.map((t) => t.timeline[layer]?.phases[p]).filter((x) => x !== undefined));
  const handPhase = (layer, p) => median(R.cold.hand.map((h) => h.phases[layer]?.[p]).filter((x) => x !== undefined));
  const phaseRows = LAYERS.map((n) => [
    n,
    fmtS(handPhase(n, 'steps')),
    fmtS(handPhase(n, 'mksquashfs')),
    fmtS(handPhase(n, 'after')),
    fmtS(handPhase(n, 'total')),
    fmtS(toolPhase(n, 'setup')),
    fmtS(toolPhase(n, 'steps')),
    fmtS(toolPhase(n, 'finalize')),
    fmtS(toolPhase(n, 'mksquashfs')),
    fmtS(toolPhase(n, 'after')),
    fmtS(toolPhase(n, 'total')),
  ]);
  const toolLayerSum = LAYERS.reduce((s, n) => s + (toolPhase(n, 'total') || 0), 0);

  const detailRows = [];
  for (const n of LAYERS) {
    const keys = new Set(R.cold.tool.flatMap((t) => Object.keys(t.timeline[n]?.detail ?? {})));
    for (const k of keys) {
      const v = median(R.cold.tool.map((t) => t.timeline[n]?.detail[k] ?? 0));
      if (v >= 0.05) detailRows.push([n, k, fmtS(v)]);
    }
  }

  const sizeRows = LAYERS.map((n) => [
    n,
    fmtBytes(lastHand.sizes[n]),
    fmtBytes(lastTool.sizes[n]),
    r2(lastTool.sizes[n] / lastHand.sizes[n]),
    String(R.entries[n]),
  ]);

  const cpuRows = R.cold.tool.map((t, i) => [
    String(i + 1),
    fmtS(t.seconds),
    fmtS(t.probe?.userCpu),
    fmtS(t.probe?.sysCpu),
    fmtS(t.probe?.childCpu),
    mib(t.probe?.maxRssKiB),
  ]);

  const rawRows = [];
  for (let i = 0; i < R.cold.hand.length; i++) {
    rawRows.push([`cold ${i + 1}`, 'hand', R.cold.hand[i].seconds.toFixed(2), R.cold.hand[i].loadBefore]);
    rawRows.push([`cold ${i + 1}`, 'tool', R.cold.tool[i].seconds.toFixed(2), R.cold.tool[i].loadBefore]);
  }

  const prof = R.profile;
  const md = `# sqsh-layers benchmark results

Generated by \`npm run bench\` (bench/run.mjs) on ${m.date}. Figures are wall-clock seconds
measured from the bench process; medians over the repeats. The machine may have been shared
with other work while this ran (load average at start: ${m.loadStart}, at end: ${m.loadEnd});
re-run on a quiet machine for final numbers.

## Machine

${table(
  ['', ''],
  [
    ['CPU', `${m.cpu}, ${m.cores} cores`],
    ['RAM', `${m.ramGiB.toFixed(1)} GiB`],
    ['OS / kernel', `${m.os} / ${m.kernel}`],
    ['mksquashfs', m.mksquashfs],
    ['dump/restore', m.dump],
    ['node', m.node],
    ['sqsh-layers', `${m.tool} (dist/ snapshot taken at the start of the run)`],
  ],
)}

## Corpus (bench/work/corpus, built once in ${Math.round(c.buildSeconds ?? 0)} s on ${c.created}, reused later)

- **base.dump** ${fmtBytes(c.files.base.size)}: Debian ${c.suite} \`debootstrap --variant=minbase\` plus
  ${c.basePackages.join(', ')} (${c.packageCount.base} packages; apt lists and caches removed);
  tree ${fmtBytes(c.trees.base.bytes)} in ${c.trees.base.entries} entries.
  Made with \`mkfs.ext4 -q -d TREE base.img SIZE\`, \`losetup -f --show -r\`, \`dump -0 -q -f\`.
- **server.dump** ${fmtBytes(c.files.server.size)}: the FULL server image, base + ${c.serverPackages.join(', ')}
  installed with apt-get in a chroot of a copy of the base tree (${c.packageCount.server} packages);
  tree ${fmtBytes(c.trees.server.bytes)} in ${c.trees.server.entries} entries.
  Real difference to base: ${c.realDifference.files} files (${fmtBytes(c.realDifference.bytes)}), ${c.realDifference.symlinks} symlinks,
  ${c.realDifference.dirs} directories with changed metadata, ${c.realDifference.deleted} deleted entries.
  Ideal delta (rsync --compare-dest, packed with the same options): ${fmtBytes(R.refServerDeltaSqsh)}.
- **extra.dump** ${fmtBytes(c.files.extra.size)}: ${c.trees.extra.entries} entries, ${fmtBytes(c.trees.extra.bytes)} (random and text data, configs).
- **manage.sh**: the config "manager" hook (hostname, an nginx site, a user, a deleted file).
- Total dump input: **${fmtBytes(inputBytes)}** (the package set on top of minbase is what brings
  the two full images to this size; a cleaned minbase alone is about 115 MB of files).
- SOURCE_DATE_EPOCH for all builds: ${c.sourceDateEpoch} (the corpus's creation time, newer than every input file).

Recipes (one per layer, same steps as the hand-made script): base \`restore: base.dump\`;
server (parent base) \`restore: server.dump\` (plain restore, no \`replace\`; prune-identical
on, the default); extra (parent server) \`restore: extra.dump\`; config (parent extra)
\`host: hooks/manage.sh\`. mksquashfs options, hand and tool alike:
\`${R.cfg.mksquashfsArgs.join(' ')}\` (no \`-processors\`: both use every CPU).

## PRODUCT.md section 7 targets

${table(['target', 'measured', 'verdict'], targets)}

## Section 3 (caching) and other figures

${table(['what', 'measured', 'verdict'], section3)}

\`plan\` after the content change:

\`\`\`
${R.touchContentPlan.trim()}
\`\`\`

Top-layer rebuild after the content change, per phase: ${Object.entries(R.touchContent.timeline.config?.phases ?? {})
    .map(([k, v]) => `${k} ${fmtS(v)}`)
    .join(', ')}.

${
  R.oldSde
    ? `With SOURCE_DATE_EPOCH=${R.oldSde.sourceDateEpoch} (older than the images' files), the server layer is
**${fmtBytes(R.oldSde.sizes.server)}** with ${R.oldSde.entries.server} entries, against ${fmtBytes(lastTool.sizes.server)} and
${R.entries.server} entries when SOURCE_DATE_EPOCH is newer than every input (base: ${fmtBytes(R.oldSde.sizes.base)}).`
    : ''
}

## Layer sizes (last cold run)

${table(['layer', 'hand-made', 'sqsh-layers', 'tool/hand', 'entries in the tool layer'], sizeRows)}

## Where the time goes (cold build, medians per layer)

Hand-made: restore (steps), mksquashfs, then unmount + loop-mount of the new layer (after).
The tool's layers overlap: a child whose steps only bring in inputs is built ahead, on its
parent's finalized upper, while the parent is packed (its steps and finalize show while the
parent's mksquashfs runs, and the parent's "after" waits for them).
Tool: setup (loop/tmpfs/overlay mounts), steps, finalize (xattrs, exclude, prune-identical,
including unmounting the read-only lower view), mksquashfs, after (unmounts, hashing the blob
into the cache, layers/NAME.sqsh, manifest). Before the first layer the tool also hashes
every input (stat cache empty) and probes overlay options: tool wall ${fmtS(toolMed)} vs sum
of its layers ${fmtS(toolLayerSum)}.

${table(['layer', 'hand steps', 'hand mksquashfs', 'hand after', 'hand total', 'tool setup', 'tool steps', 'tool finalize', 'tool mksquashfs', 'tool after', 'tool total'], phaseRows)}

Finer split of the tool's time (from the \`--verbose\` command lines; an interval is charged to
the command that started it, so "+ node work after it" includes what node did next):

${table(['layer', 'segment', 'median'], detailRows)}

CPU of the tool's cold builds (the node process itself vs the commands it waited for):

${table(['run', 'wall', 'node user CPU', 'node system CPU (includes squashfs decompression of what node reads)', 'children CPU', 'node peak RSS'], cpuRows)}

${
  prof
    ? `CPU profile of one more cold build (\`node --cpu-prof\`, wall ${fmtS(prof.seconds)}): ${(prof.totalMs / 1000).toFixed(1)} s sampled,
${(prof.idleMs / 1000).toFixed(1)} s of it idle (waiting for commands). Self time by file:

${table(['file', 'self ms'], prof.files.map((f) => [f.what, String(f.ms)]))}

Top functions by self time:

${table(['function', 'self ms'], prof.functions.map((f) => [f.what, String(f.ms)]))}`
    : ''
}

## Findings of the bench itself

${R.findings.length ? R.findings.map((f) => `- ${f}`).join('\n') : '- none (no leftover mounts after any tool or hand-made run)'}

Stack comparison (hand vs tool), first lines of \`rsync -naiHAX --checksum --delete hand/ tool/\`:

\`\`\`
${R.equivalence.lines.join('\n') || '(no differences)'}
\`\`\`

## Raw timings

${table(['run', 'who', 'seconds', 'load avg before'], rawRows)}

- no-op rebuilds: ${R.noop.map((n) => n.seconds.toFixed(3)).join(', ')} s
- plan: ${R.plan.map((p) => p.seconds.toFixed(3)).join(', ')} s; with an empty stat cache ${R.planColdStat.seconds.toFixed(3)} s
- touch (mtime only) rebuild: ${R.touchMtime.seconds.toFixed(3)} s; content change rebuild: ${R.touchContent.seconds.toFixed(3)} s
${conc ? `- concurrency: --jobs 1 ${conc.jobs1.toFixed(2)} s (a ${conc.layersJobs1.a} s, b ${conc.layersJobs1.b} s), --jobs 2 ${conc.jobs2.toFixed(2)} s (a ${conc.layersJobs2.a} s, b ${conc.layersJobs2.b} s)` : ''}
${R.oldSde ? `- base+server with old SOURCE_DATE_EPOCH: ${R.oldSde.seconds.toFixed(2)} s` : ''}

<details><summary>all results as JSON</summary>

\`\`\`json
${JSON.stringify(R, (k, v) => (k === 'lines' && Array.isArray(v) && v.length > 40 ? `${v.length} lines` : v), 2)}
\`\`\`

</details>
`;
  await fs.writeFile(file, md);

  const summary = [
    '',
    `sqsh-layers bench (${m.cpu}, ${m.cores} cores; load ${m.loadStart} -> ${m.loadEnd})`,
    `corpus: ${fmtBytes(inputBytes)} of dumps (base ${fmtBytes(c.files.base.size)}, server ${fmtBytes(c.files.server.size)}, extra ${fmtBytes(c.files.extra.size)})`,
    ...targets.map(([t, v, ok]) => `  ${ok.replace(/\*/g, '').padEnd(8)} ${t.replace(/ \(criterion.*$/, '')}\n           ${v.replace(/\*/g, '')}`),
    ...section3.map(([t, v, ok]) => `  ${(ok || '').replace(/\*/g, '').padEnd(8)} ${t}: ${v}`),
    `  sizes tool/hand: ${LAYERS.map((n) => `${n} ${fmtBytes(lastTool.sizes[n])}/${fmtBytes(lastHand.sizes[n])}`).join(', ')}`,
    `full report: bench/results.md`,
    '',
  ].join('\n');
  return summary;
}

// `node bench/report.mjs`: renders bench/results.md again from the JSON embedded in it.
if (import.meta.url === `file://${process.argv[1]}`) {
  const file = new URL('./results.md', import.meta.url);
  const text = await fs.readFile(file, 'utf8');
  const json = text.slice(text.indexOf('```json\n') + 8, text.lastIndexOf('\n```'));
  process.stdout.write(await writeResults(file, JSON.parse(json)));
}

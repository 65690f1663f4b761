// One plan per layer: what --dry-run describes is what the build applies. The build runs
// here for real except for the commands that change the system (a dry-run Runner prints
// them, exactly as it would log them), so the test needs no root and mounts nothing.

import { promises as fs, rmSync } from 'node:fs';
import path from 'node:path';
import PQueue from 'p-queue';
import { afterEach, describe, expect, it } from 'vitest';
import { openProject } from '../../src/cli/project.js';
import { buildLayer, type LayerBuildSession } from '../../src/engine/layer-build.js';
import { describeLayerPlan, planLayer } from '../../src/engine/layer-plan.js';
import type { BuildEvent } from '../../src/engine/report.js';
import { LowerDirs, SharedLowers } from '../../src/engine/shared-lowers.js';
import type { HostTools } from '../../src/mount/host-tools.js';
import { PORTABLE_OPTIONS } from '../../src/mount/features.js';
import { buildOrder, lowersOf } from '../../src/plan/graph.js';
import { Runner } from '../../src/process/run.js';
import { tempDir, writeFiles } from '../support/project.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** base ← mid ← top: top has two lowers, so its plan has every kind of mount. */
async function project() {
  const dir = tempDir('layer-plan');
  dirs.push(dir);
  await writeFiles(dir, {
    'recipes/base.yaml': 'steps:\n  - remove: [/nothing]\n',
    'recipes/mid.yaml': 'parent: base\nsteps:\n  - remove: [/nothing]\n',
    'recipes/top.yaml': 'parent: mid\nsteps:\n  - remove: [/a, /b]\nexclude: [/tmp/**]\nsquashfs: { compression: xz, block-size: 65536 }\n',
  });
  return { dir, ...(await openProject(dir, { checkInputs: true })) };
}

describe('a layer plan', () => {
  it('describes the very commands the build runs with it, in order', async () => {
    const { dir, project: p, graph } = await project();
    const runDir = path.join(dir, 'run-sqsh-layers', 'RUN');
    const order = buildOrder(graph, []);
    const lowerDirs = new LowerDirs(path.join(runDir, 'lowers'), order);
    const lowers = lowersOf(graph, 'top').map((name) => ({ name, blob: path.join(dir, `${name}.blob`) }));
    const plan = planLayer({ runDir, lowerDirs, overlayOptions: [...PORTABLE_OPTIONS], sourceDateEpoch: undefined }, graph.recipes.get('top')!, lowers);
    const out = path.join(dir, 'top.tmp');

    // The build, with the commands that would change the system printed instead of run.
    const commands: string[] = [];
    const events: BuildEvent[] = [];
    const runner = new Runner({ log: { verbose: () => {}, info: (line) => commands.push(line) }, dryRun: true, signal: new AbortController().signal, env: { PATH: process.env.PATH ?? '' } });
    const s: LayerBuildSession = {
      project: p,
      report: { emit: (e) => events.push(e) },
      signal: runner.signal,
      runner,
      cleanupRunner: runner,
      packs: new PQueue({ concurrency: 1 }),
      hostTools: () => Promise.resolve({} as HostTools),
      policyRcD: () => Promise.resolve('/nonexistent/policy-rc.d'),
    };
    const warnings: string[] = [];
    const shared = new SharedLowers(lowerDirs, order, (n) => lowersOf(graph, n), runner, runner, (m) => warnings.push(m));
    const stats = await buildLayer(s, plan, shared, out);
    expect(await shared.close()).toEqual([]);
    expect(warnings).toEqual([]);
    // A remove-only layer without source-date-epoch takes its times from its content.
    expect(plan.timesFromContent).toBe(true);
    const { contentEpoch, unsettled, ...rest } = stats;
    expect(rest).toEqual({ strippedXattrs: 0, excluded: 0, pruned: { files: 0, dirs: 0, bytes: 0 } });
    // The only entry with a time of the build's clock: the upper dir itself (settled if built on).
    expect(unsettled).toEqual([plan.upper]);
    expect(typeof contentEpoch).toBe('number');
    expect(events.filter((e) => e.type === 'step-start').map((e) => e.type === 'step-start' && e.text)).toEqual(['remove /a /b']);

    // Nothing was mounted, so nothing was unmounted: the description's umounts are left out.
    const described = describeLayerPlan(plan, { mounted: new Set(), out })
      .filter((l) => l.startsWith('+ ') && !l.startsWith('+ umount '))
      .map((l) => l.replace(/ {3}\(shared by the run's builds\)$/, ''));
    expect(commands).toEqual(described);

    const lowerMount = (i: number, name: string) =>
      `+ mount -t squashfs -o ro,loop ${path.join(dir, `${name}.blob`)} ${path.join(runDir, 'lowers', String(i))}`;
    const options = 'index=off,metacopy=off,redirect_dir=nofollow,xino=off';
    const top = path.join(runDir, 'layers/top');
    const inLowers = `   (in ${path.join(runDir, 'lowers')})`;
    expect(commands).toEqual([
      lowerMount(1, 'mid'),
      lowerMount(0, 'base'),
      `+ mount -t tmpfs -o size=50%,mode=0755 sqsh-layers ${top}/tmpfs`,
      `+ mount -t overlay -o lowerdir=1:0,upperdir=../layers/top/tmpfs/upper,workdir=../layers/top/tmpfs/work,${options} sqsh-layers ${top}/root${inLowers}`,
      `+ mount -t overlay -o lowerdir=1:0,ro,${options} sqsh-layers ${top}/lowerview${inLowers}`,
      `+ mksquashfs ${top}/tmpfs/upper ${out} -noappend -no-recovery -xattrs -comp xz -b 65536`,
    ]);
    // Every mount op of the plan is one of them.
    const ops = [...plan.lowers.map((l) => l.mount), plan.tmpfs, plan.root!, plan.lowerView!];
    expect(ops.map((op) => `+ ${op.describe()}`)).toEqual(commands.slice(0, 5));
    await fs.rm(path.join(dir, 'run-sqsh-layers'), { recursive: true });
  });

  it('of a bottom layer has no overlay: its steps work on the upper dir', async () => {
    const { dir, graph } = await project();
    const runDir = path.join(dir, 'run-sqsh-layers', 'RUN');
    const lowerDirs = new LowerDirs(path.join(runDir, 'lowers'), buildOrder(graph, []));
    const plan = planLayer({ runDir, lowerDirs, overlayOptions: [], sourceDateEpoch: 1700000000 }, graph.recipes.get('base')!, []);
    expect(plan.root).toBeUndefined();
    expect(plan.lowerView).toBeUndefined();
    expect(describeLayerPlan(plan, { mounted: new Set(), out: '<new base.sqsh>' })).toEqual([
      `+ mount -t tmpfs -o size=50%,mode=0755 sqsh-layers ${runDir}/layers/base/tmpfs`,
      '  (a bottom layer: the steps work on the tmpfs upper dir itself)',
      '  step 1: remove /nothing',
      '  finalize: nothing to do (no lowers to prune against, no step that can set overlay xattrs)',
      `+ mksquashfs ${runDir}/layers/base/tmpfs/upper '<new base.sqsh>' -noappend -no-recovery -xattrs -comp zstd -b 131072   (SOURCE_DATE_EPOCH=1700000000)`,
    ]);
  });
});

// `commit`: the upper dir of a live overlay root made into a portable layer. The upper is
// read, never written: rsync copies it to a tmpfs snapshot (files being written may be caught
// mid-change; the CLI warns). Redirect and metacopy entries are resolved against the stack
// (layer/resolve-upper.ts), the non-portable overlay xattrs stripped as a build strips them
// (layer/finalize.ts), and the snapshot is packed, or merged into the top N lowers first.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { finalizeUpper } from '../layer/finalize.js';
import { rsyncArgv } from '../layer/merge.js';
import { applyResolved, copyFromView, missingRedirectTargets, scanUpper } from '../layer/resolve-upper.js';
import { FailureError } from '../failure.js';
import { overlayMount } from '../mount/ops.js';
import type { LayerOutput, OpSession, WrittenLayer } from './layer-op.js';
import { describePack, type LayerRef, mergeAndWrite, mountRaw, packInto, type PackSettings, startTask } from './merge-op.js';

export interface CommitPlan {
  upper: string;
  /** The stack the upper was over, top first (empty when unknown). */
  lowers: LayerRef[];
  /** Fold the new layer into this many of the top lowers. */
  merge: number;
  out: LayerOutput;
  pack: PackSettings;
}

export interface CommitStats {
  redirectDirs: number;
  metacopyFiles: number;
  strippedXattrs: number;
}

/** rsync's exit code when files vanished while it copied: a live upper changes under it. */
const VANISHED = 24;

export async function commitUpper(s: OpSession, p: CommitPlan): Promise<{ written?: WrittenLayer; stats?: CommitStats }> {
  const phase = (text: string) => s.report.emit({ type: 'phase', layer: p.out.name, text });
  startTask(s, p.out.name);
  const staging = await s.stagingTmpfs('commit', p.pack.tmpfsSize);
  const snap = path.join(staging, 'snap');
  if (s.dryRun) {
    s.report.emit({ type: 'info', text: `+ ${rsyncArgv(p.upper, snap).join(' ')}` });
    s.report.emit({ type: 'info', text: '  (redirect and metacopy entries resolved through a read-only overlay of the snapshot over the lowers; overlay xattrs other than opaque stripped)' });
    if (p.merge > 0) {
      await mountRaw(s, p.lowers.slice(0, p.merge), 'lowers');
      s.report.emit({ type: 'info', text: `  (then merged into ${p.lowers.slice(0, p.merge).map((l) => l.name).join(', ')})` });
    }
    describePack(s, snap, p.out, p.pack);
    return {};
  }
  await fs.mkdir(snap, { mode: 0o755 });
  phase(`copying the upper dir ${p.upper}`);
  const copied = await s.runner.run(rsyncArgv(p.upper, snap), { okCodes: [0, VANISHED], tailLines: 5 });
  if (copied.code === VANISHED) s.warn(`files of ${p.upper} vanished while it was copied: they are not in the layer`);

  const scan = await scanUpper(s.runner, snap);
  const stats: CommitStats = { redirectDirs: scan.redirectDirs.length, metacopyFiles: scan.metacopyFiles.length, strippedXattrs: 0 };
  let raw: Awaited<ReturnType<typeof mountRaw>> | undefined;
  if (scan.redirectDirs.length + scan.metacopyFiles.length > 0) {
    if (p.lowers.length === 0) {
      throw new FailureError({
        reason: 'layer-op',
        message: `the upper dir holds ${scan.redirectDirs.length} redirected dir(s) and ${scan.metacopyFiles.length} metacopy file(s) (redirect_dir=on / metacopy=on), which only its lowers can resolve, and the stack is not known`,
        hint: 'give the stack: --stack TOP:...:BASE (or --parent in a project), with --layers-dir where the .sqsh files are',
      });
    }
    phase(`resolving ${stats.redirectDirs} redirected dir(s) and ${stats.metacopyFiles} metacopy file(s) against the lowers`);
    raw = await mountRaw(s, p.lowers, 'lowers');
    const missing = await missingRedirectTargets(scan, snap, raw.map((l) => l.dir));
    if (missing.length > 0) {
      throw new FailureError({
        reason: 'layer-op',
        message: `renamed directories of the upper whose lower directory is in none of the lowers ${p.lowers.map((l) => l.name).join(':')}: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`,
        hint: 'give the stack the live root was mounted with (--stack TOP:...:BASE, the same .sqsh files)',
      });
    }
    const view = path.join(s.runDir, 'view');
    await s.scope.mount(overlayMount({ lowers: [snap, ...raw.map((l) => l.dir)], options: ['metacopy=on'], cwd: s.runDir }, view));
    const data = path.join(staging, 'data');
    await fs.mkdir(data);
    const staged = await copyFromView(s.runner, s.signal, scan, view, data);
    await s.scope.releaseMount(view);
    await applyResolved(s.runner, snap, scan, staged);
  }
  phase('stripping non-portable overlay xattrs');
  const fin = await finalizeUpper({
    upper: snap,
    lowerView: undefined,
    exclude: [],
    pruneIdentical: false,
    stripXattrs: true,
    touchedDirs: new Set(),
    sourceDateEpoch: p.pack.sourceDateEpoch,
    signal: s.signal,
  });
  stats.strippedXattrs = fin.strippedXattrs;
  if (p.merge > 0) {
    raw ??= await mountRaw(s, p.lowers.slice(0, p.merge), 'lowers');
    const bottomFirst = [...raw.slice(0, p.merge)].reverse();
    const merged = await mergeAndWrite(s, [...bottomFirst, { name: p.out.name, dir: snap }], p.out, p.pack);
    return { written: merged.written, stats };
  }
  const written = await packInto(s, snap, p.out, p.pack);
  return { written, stats };
}

// What merge, commit and capture share with build's reliability contract: the run's state
// directory (where every mount of theirs lives, cleaned up by the next run after a SIGKILL),
// the project lock when they write into a project, a Scope that undoes their mounts on
// success, failure and interrupt, and the one way their .sqsh reaches its place (temp name,
// then rename; in a project, a manifest entry after it).

import { sha256OfFile } from '../cache/digest.js';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { replaceAtomically } from '../cache/atomic-write.js';
import { type ManifestEntry, ManifestWriter, readManifestFile } from '../layer/manifest.js';
import { Scope, tmpfsMount } from '../mount/ops.js';
import { ProjectLock } from '../mount/project-lock.js';
import { checkStateRoot, cleanLeftovers, RunState } from '../mount/run-state.js';
import { type Log, Runner } from '../process/run.js';
import type { SquashfsOptions } from '../recipe/types.js';
import type { Reporter } from './report.js';
import { LOCK_FILE } from './session.js';

export interface OpSessionOptions {
  report: Reporter;
  signal: AbortSignal;
  verbose: boolean;
  dryRun: boolean;
  stateRoot: string;
  env: NodeJS.ProcessEnv;
  /** The project written to (its lock is taken), or undefined for bare files (--out). */
  projectDir: string | undefined;
  /** What the run works for, recorded in its state dir: the project or the output dir. */
  owner: string;
  /** Where the new layer goes: temp files of killed runs are removed from it. */
  outDir: string;
}

export interface OpSession {
  report: Reporter;
  signal: AbortSignal;
  dryRun: boolean;
  runner: Runner;
  cleanupRunner: Runner;
  /** The run's state dir (a placeholder in --dry-run, where nothing is created). */
  runDir: string;
  runId: string;
  /** When the run started (Date.now()). */
  started: number;
  scope: Scope;
  warn(text: string): void;
  /** A tmpfs under the run dir for a staging tree (trusted xattrs and whiteouts work there). */
  stagingTmpfs(name: string, size: string): Promise<string>;
  close(): Promise<void>;
}

export async function openOpSession(o: OpSessionOptions): Promise<OpSession> {
  checkStateRoot(o.stateRoot);
  const warn = (text: string) => o.report.emit({ type: 'warning', text });
  const log: Log = {
    verbose: (line) => {
      if (o.verbose) o.report.emit({ type: 'info', text: line });
    },
    info: (line) => o.report.emit({ type: 'info', text: line }),
  };
  const cleanupRunner = new Runner({ log, dryRun: o.dryRun, signal: new AbortController().signal, env: o.env });
  if (o.dryRun) {
    const runner = new Runner({ log, dryRun: true, signal: o.signal, env: o.env });
    const runDir = path.join(o.stateRoot, 'RUN-ID');
    const scope = new Scope(runner, cleanupRunner, warn);
    return {
      report: o.report,
      signal: o.signal,
      dryRun: true,
      runner,
      cleanupRunner,
      runDir,
      runId: 'RUN-ID',
      started: Date.now(),
      scope,
      warn,
      stagingTmpfs: (name, size) => {
        const target = path.join(runDir, name);
        log.info(`+ ${tmpfsMount(target, size).describe()}`);
        return Promise.resolve(target);
      },
      close: () => Promise.resolve(),
    };
  }
  for (const r of await cleanLeftovers(o.stateRoot, cleanupRunner, warn)) {
    warn(`cleaned up after a run that was killed (${r.runId}${r.project ? `, ${r.project}` : ''}): ${r.mounts} mount(s), ${r.killed} process group(s)`);
  }
  const state = await RunState.create(o.stateRoot, o.owner);
  let lock: ProjectLock | undefined;
  try {
    if (o.projectDir !== undefined) lock = await ProjectLock.acquire(path.join(o.projectDir, LOCK_FILE), state.id);
    // Under the project's lock: no other run of the project writes there now.
    await removeKilledTemps(o.outDir, o.stateRoot);
  } catch (err) {
    await lock?.release().catch(() => {});
    await state.dispose().catch(() => {});
    throw err;
  }
  const runner = new Runner({ log, dryRun: false, signal: o.signal, env: o.env, onSpawn: (pid) => state.recordChild(pid) });
  const scope = new Scope(runner, cleanupRunner, warn);
  return {
    report: o.report,
    signal: o.signal,
    dryRun: false,
    runner,
    cleanupRunner,
    runDir: state.dir,
    runId: state.id,
    started: Date.now(),
    scope,
    warn,
    stagingTmpfs: (name, size) => scope.mount(tmpfsMount(path.join(state.dir, name), size)),
    async close() {
      for (const e of await scope.close()) warn(e.message);
      await state.dispose().catch((e: Error) => warn(e.message));
      await lock?.release();
    },
  };
}

/** Where a new layer goes: a project's layers/ (with a manifest entry) or a bare directory. */
export interface LayerOutput {
  dir: string;
  name: string;
  /** In a project: the manifest entry's parent (null for a bottom layer). */
  manifest?: { parent: string | null; madeBy: ManifestEntry['madeBy']; squashfs: SquashfsOptions };
}

export interface WrittenLayer {
  file: string;
  sha256: string;
  size: number;
}

/** Runs `fill` on a temp name in the output dir, renames it into place, then records it in the manifest. */
export async function writeLayer(s: OpSession, out: LayerOutput, fill: (tmp: string) => Promise<void>): Promise<WrittenLayer> {
  const file = path.join(out.dir, `${out.name}.sqsh`);
  let sha256 = '';
  let size = 0;
  await replaceAtomically(
    file,
    async (tmp) => {
      await fill(tmp);
      sha256 = await sha256OfFile(tmp);
      size = (await fs.stat(tmp)).size;
    },
    path.join(out.dir, `.${out.name}.sqsh.${s.runId}.tmp`),
  );
  if (out.manifest) {
    const onDisk = await readManifestFile(out.dir);
    const writer = new ManifestWriter(out.dir, onDisk ?? { version: 1, layers: {} }, onDisk !== undefined);
    const q = out.manifest.squashfs;
    await writer.update(out.name, {
      file: `${out.name}.sqsh`,
      parent: out.manifest.parent,
      sha256,
      size,
      squashfs: { compression: q.compression, level: q.level ?? null, 'block-size': q.blockSize },
      builtAt: new Date().toISOString(),
      madeBy: out.manifest.madeBy,
    });
    await writer.flush();
  }
  return { file, sha256, size };
}

/**
 * Temp files `.NAME.sqsh.RUN-ID.tmp` of runs that are gone: their run dir no longer exists,
 * since cleanLeftovers has just removed those of dead runs (a live run keeps its own).
 */
async function removeKilledTemps(outDir: string, stateRoot: string): Promise<void> {
  for (const name of await fs.readdir(outDir).catch(() => [] as string[])) {
    const m = /^\..+\.sqsh\.([0-9T]+-[0-9]+-[0-9a-f]+)\.tmp$/.exec(name);
    if (m && !existsSync(path.join(stateRoot, m[1]!))) await fs.rm(path.join(outDir, name), { force: true });
  }
}


// What inspect, diff, verify and shell share: resolving LAYER arguments, and running the work
// in a stack session whose mounts are undone however it ends (success, failure, SIGINT,
// SIGTERM, SIGHUP), the exit code saying which.

import { type LayerRef, projectStack, resolveLayer } from '../engine/layer-ref.js';
import { StackSession } from '../engine/stack-session.js';
import { FailureError } from '../failure.js';
import { classify, trapInterrupts } from '../process/interrupt.js';
import { buildOrder } from '../plan/graph.js';
import { stateRootFromEnv } from './env.js';
import type { GlobalOptions, Io } from './kit.js';
import { openProject } from './project.js';

/** Resolves a LAYER argument; the project's recipes are loaded only for a layer name. */
export function layerArgument(arg: string, g: GlobalOptions, io: Io): Promise<LayerRef> {
  return resolveLayer(arg, io.cwd, async () => {
    const { project, graph } = await openProject(g.dir, { checkInputs: false, cacheDir: g.cache });
    buildOrder(graph, [arg]); // an unknown layer: a usage error with suggestions
    return { dir: project.config.dir, stack: projectStack(graph) };
  });
}

/** A tmpfs size option (`--tmpfs-size`), as tmpfs takes it. */
export function tmpfsSizeOption(value: string): string {
  if (!/^[0-9]+[kKmMgG%]?$/.test(value)) {
    throw new FailureError({ reason: 'usage', message: `--tmpfs-size must be a tmpfs size such as "50%", "2G" or "512M", found "${value}"` });
  }
  return value;
}

/**
 * Runs `work` in a stack session (SIGHUP counts as an interrupt too: a closed terminal). A failure is thrown (main.ts reports it) only once every
 * mount is undone; after an interrupt, whatever happened counts as the interrupt.
 */
export async function inStackSession<T>(g: GlobalOptions, io: Io, work: (s: StackSession) => Promise<T>): Promise<T> {
  const warn = (text: string) => io.stderr.write(`sqsh-layers: warning: ${text}\n`);
  const interrupts = trapInterrupts(io);
  let result: T | undefined;
  let failed: unknown;
  let threw = false;
  try {
    const session = await StackSession.open({
      stateRoot: stateRootFromEnv(io.env),
      project: g.dir,
      signal: interrupts.signal,
      env: io.env,
      log: {
        verbose: (line) => {
          if (g.verbose) io.stderr.write(`${line}\n`);
        },
        info: (line) => io.stderr.write(`${line}\n`),
      },
      warn,
    });
    try {
      result = await work(session);
    } finally {
      await session.close();
    }
  } catch (err) {
    threw = true;
    failed = err;
  } finally {
    interrupts.dispose();
  }
  const failure = threw ? classify(interrupts.signal, failed) : classify(interrupts.signal);
  if (failure) throw new FailureError(failure);
  return result as T;
}

// The remote cache a command uses: --cache-from/--cache-to, else cache-from/cache-to of
// sqsh-layers.yaml. References are checked here (exit 2 for a malformed one).

import type { RemoteCacheOptions, SessionOptions } from '../engine/session.js';
import type { ProjectConfig } from '../recipe/types.js';
import { stateRootFromEnv } from './env.js';

export interface RemoteCacheFlags {
  cacheFrom?: string;
  cacheTo?: string;
  insecure?: boolean;
}

/**
 * The options of the session a command builds or plans in: the CLI's environment and state
 * root, and the remote cache of `flags` (else of sqsh-layers.yaml).
 */
export async function sessionOptionsOf(
  c: Pick<SessionOptions, 'project' | 'graph' | 'report' | 'signal' | 'verbose' | 'env' | 'envSourceDateEpoch'>,
  flags: RemoteCacheFlags,
): Promise<SessionOptions> {
  return { ...c, stateRoot: stateRootFromEnv(c.env), remote: await remoteCacheOf(flags, c.project.config) };
}

/** The registry client is loaded only when a remote cache is asked for. */
async function remoteCacheOf(o: RemoteCacheFlags, config: ProjectConfig): Promise<RemoteCacheOptions | undefined> {
  const from = o.cacheFrom ?? config.cacheFrom;
  const to = o.cacheTo ?? config.cacheTo;
  if (from === undefined && to === undefined) return undefined;
  const { parseCacheReference } = await import('../registry/open.js');
  if (from !== undefined) parseCacheReference(from, '--cache-from');
  if (to !== undefined) parseCacheReference(to, '--cache-to');
  return { from, to, insecure: o.insecure === true };
}

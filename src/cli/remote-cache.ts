// The remote cache a command uses: --cache-from/--cache-to, else cache-from/cache-to of
// sqsh-layers.yaml. References are checked here (exit 2 for a malformed one).

import type { RemoteCacheOptions } from '../engine/session.js';
import type { ProjectConfig } from '../recipe/types.js';

export interface RemoteCacheFlags {
  cacheFrom?: string;
  cacheTo?: string;
  insecure?: boolean;
}

/** The registry client is loaded only when a remote cache is asked for. */
export async function remoteCacheOf(o: RemoteCacheFlags, config: ProjectConfig): Promise<RemoteCacheOptions | undefined> {
  const from = o.cacheFrom ?? config.cacheFrom;
  const to = o.cacheTo ?? config.cacheTo;
  if (from === undefined && to === undefined) return undefined;
  const { parseCacheReference } = await import('../registry/open.js');
  if (from !== undefined) parseCacheReference(from, '--cache-from');
  if (to !== undefined) parseCacheReference(to, '--cache-to');
  return { from, to, insecure: o.insecure === true };
}

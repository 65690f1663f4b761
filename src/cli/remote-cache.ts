// The remote cache a command uses: --cache-from/--cache-to, else cache-from/cache-to of
// sqsh-layers.yaml. References are checked here (exit 2 for a malformed one).

import type { RemoteCacheOptions } from '../engine/session.js';
import { parseCacheReference } from '../registry/open.js';
import type { ProjectConfig } from '../recipe/types.js';

export interface RemoteCacheFlags {
  cacheFrom?: string;
  cacheTo?: string;
  insecure?: boolean;
}

export function remoteCacheOf(o: RemoteCacheFlags, config: ProjectConfig): RemoteCacheOptions | undefined {
  const from = o.cacheFrom ?? config.cacheFrom;
  const to = o.cacheTo ?? config.cacheTo;
  if (from !== undefined) parseCacheReference(from, '--cache-from');
  if (to !== undefined) parseCacheReference(to, '--cache-to');
  if (from === undefined && to === undefined) return undefined;
  return { from, to, insecure: o.insecure === true };
}

// A repository of a registry from a reference and the run's settings.

import { FailureError } from '../failure.js';
import type { Runner } from '../process/run.js';
import { RegistryHttp } from './http.js';
import { parseReference, type Reference } from './reference.js';
import { type Progress, Repository } from './repository.js';

export interface RegistrySettings {
  env: NodeJS.ProcessEnv;
  runner: Runner;
  signal: AbortSignal;
  insecure: boolean;
  progress?: Progress;
  idleTimeoutMs?: number;
  retries?: number;
}

/** Hosts share one HTTP client (and its tokens) per run. */
export class Registries {
  private readonly clients = new Map<string, RegistryHttp>();

  constructor(private readonly s: RegistrySettings) {}

  repository(ref: Reference): Repository {
    let http = this.clients.get(ref.registry);
    if (!http) {
      http = new RegistryHttp(ref.registry, this.s);
      this.clients.set(ref.registry, http);
    }
    return new Repository(http, ref.repository, this.s.progress);
  }
}

/** A cache reference names a repository: tags are the cache's own (one per key). */
export function parseCacheReference(text: string, what: string): Reference {
  const ref = parseReference(text, what);
  if (ref.tag !== undefined || ref.digest !== undefined) {
    throw new FailureError({
      reason: 'usage',
      message: `${what} "${text}" names a repository, without :TAG or @DIGEST (the cache tags each entry itself, k-KEY)`,
    });
  }
  return ref;
}

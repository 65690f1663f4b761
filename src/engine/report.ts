// What the build tells its user, as events; the CLI renders them (a live task list on a
// terminal, plain prefixed lines otherwise, nothing but the result with --json).

import type { StaleReason } from '../cache/explain.js';
import type { FinalizeStats } from '../layer/finalize.js';

export type BuildEvent =
  | { type: 'layer-start'; layer: string; reasons: StaleReason[] }
  | { type: 'step-start'; layer: string; index: number; count: number; text: string }
  | { type: 'output'; layer: string; line: string }
  | { type: 'phase'; layer: string; text: string }
  | { type: 'pack-progress'; layer: string; percent: number }
  /** `finalized`: what finalizing the upper did, for a layer that was built. */
  | { type: 'layer-done'; layer: string; status: 'built' | 'cached'; digest: string; size: number; seconds: number; finalized?: FinalizeStats }
  | { type: 'layer-failed'; layer: string; message: string }
  | { type: 'warning'; text: string }
  | { type: 'info'; text: string };

export interface Reporter {
  emit(e: BuildEvent): void;
}

// What a step gets to do its work: the merged root, the layer's upper dir, scratch space in
// the same tmpfs, the command runner and the sandboxes. Steps ask for work through these
// instead of mounting or spawning on their own.

import { failureIn, FailureError, howItEnded } from '../failure.js';
import type { Runner } from '../process/run.js';
import type { HostTools } from '../mount/host-tools.js';
import type { Recipe, Step } from '../recipe/types.js';

export interface StepContext {
  recipe: Recipe;
  /** The merged overlay root the step works on. */
  root: string;
  /** The overlay upper dir (read-only for steps: only the finalizer changes it directly). */
  upper: string;
  /** A directory in the layer's tmpfs, outside the overlay, for staging; emptied after each step. */
  scratch: string;
  /** Host file with `exit 101` for Debian's policy-rc.d. */
  policyRcD: string;
  projectDir: string;
  /** Mount paths of the lowers, nearest first. */
  lowers: string[];
  sourceDateEpoch: number | undefined;
  runner: Runner;
  tools: HostTools;
  /** Output lines of the step's commands (for progress and --verbose). */
  onLine: (line: string) => void;
  /** In-root directories whose entries sandbox machinery touched; the finalizer prunes them. */
  touchedDirs: Set<string>;
}

/** Steps only run for real: --dry-run prints their descriptions instead (build/layer-build.ts). */
export interface StepKindImpl<S extends Step> {
  /** One line for progress, logs and --dry-run. */
  describe(step: S): string;
  /** Host tools the step needs (checked before anything is mounted). */
  tools(step: S): string[];
  run(step: S, ctx: StepContext): Promise<void>;
}

/** A step failed in a way the user must fix; the builder adds the layer and step. */
export function stepFailure(message: string, tail: readonly string[] = []): FailureError {
  return new FailureError({ reason: 'step', message, tail });
}

/**
 * A step's command failure told as `what` ended (the user's script, hook or tool), not the
 * sandbox or `unshare` around it, its output tail without the `noise` lines; other errors as
 * they are.
 */
export function asStepFailure(err: unknown, what: string, noise?: RegExp): unknown {
  const failed = failureIn(err, 'command');
  return failed ? stepFailure(`${what} ${howItEnded(failed)}`, failed.tail.filter((l) => !noise?.test(l))) : err;
}

// The table of step kinds: the one place that maps a recipe's step to its implementation.

import type { Step, StepKind } from '../recipe/types.js';
import type { StepContext, StepKindImpl } from './context.js';
import { copyStep } from './copy.js';
import { hostStep } from './host.js';
import { removeStep } from './remove.js';
import { restoreStep } from './restore.js';
import { runStep } from './run.js';
import { untarStep } from './untar.js';

type Table = { [K in StepKind]: StepKindImpl<Extract<Step, { kind: K }>> };

const table: Table = {
  restore: restoreStep,
  untar: untarStep,
  copy: copyStep,
  run: runStep,
  host: hostStep,
  remove: removeStep,
};

function impl<S extends Step>(step: S): StepKindImpl<S> {
  return table[step.kind] as unknown as StepKindImpl<S>;
}

export function describeStep(step: Step): string {
  return impl(step).describe(step);
}

export function toolsOf(step: Step): string[] {
  return impl(step).tools(step);
}

export function runStepOf(step: Step, ctx: StepContext): Promise<void> {
  return impl(step).run(step, ctx);
}

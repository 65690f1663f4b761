// host: an executable of the project run on the host, with the merged root as its working
// directory (the seed's "manager" hook). It is trusted like the recipe itself.

import type { HostStep } from '../recipe/types.js';
import { CommandError } from '../process/run.js';
import { StepError, type StepKindImpl } from './context.js';

export const hostStep: StepKindImpl<HostStep> = {
  describe: (s) => `host ${s.input.path}`,
  tools: () => [],
  async run(s, ctx) {
    const env: Record<string, string> = {
      ...s.env,
      SQSH_ROOT: ctx.root,
      SQSH_UPPER: ctx.upper,
      SQSH_LAYER: ctx.recipe.name,
      SQSH_PARENT: ctx.recipe.parent ?? '',
      SQSH_LOWERS: ctx.lowers.join(':'),
      SQSH_PROJECT: ctx.projectDir,
    };
    if (ctx.sourceDateEpoch !== undefined) env.SOURCE_DATE_EPOCH = String(ctx.sourceDateEpoch);
    try {
      await ctx.runner.run([s.input.abs], { cwd: ctx.root, env, onLine: ctx.onLine, tailLines: 30 });
    } catch (err) {
      if (err instanceof CommandError) {
        throw new StepError(`${s.input.path} ${err.signal ? `was killed by ${err.signal}` : `exited with code ${err.code}`}`, err.tail, err.code ?? undefined);
      }
      throw err;
    }
  },
};

// host: an executable of the project run on the host, with the merged root as its working
// directory (the seed's "manager" hook). It is trusted like the recipe itself, and sees the
// host as it is, but it runs as the first process of its own pid namespace: when it exits,
// the kernel kills whatever it left running (daemons, `setsid` children), so nothing of the
// step outlives it or keeps the layer's mounts busy.
import { asStepFailure } from './context.js';
export const hostStep = {
    describe: (s) => `host ${s.input.path}`,
    tools: () => ['unshare'],
    async run(s, ctx) {
        const env = {
            ...s.env,
            SQSH_ROOT: ctx.root,
            SQSH_UPPER: ctx.upper,
            SQSH_LAYER: ctx.recipe.name,
            SQSH_PARENT: ctx.recipe.parent ?? '',
            SQSH_LOWERS: ctx.lowers.join(':'),
            SQSH_PROJECT: ctx.projectDir,
        };
        if (ctx.sourceDateEpoch !== undefined)
            env.SOURCE_DATE_EPOCH = String(ctx.sourceDateEpoch);
        try {
            await ctx.runner.run(['unshare', '--pid', '--fork', '--kill-child', '--', s.input.abs], { cwd: ctx.root, env, onLine: ctx.onLine, tailLines: 30 });
        }
        catch (err) {
            throw asStepFailure(err, s.input.path);
        }
    },
};
//# sourceMappingURL=host.js.map
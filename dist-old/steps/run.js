// run: a shell script executed by the layer's own /bin/sh -e inside a bubblewrap sandbox
// (PRODUCT.md section 1). Its mount points are machinery and leave no trace in the layer;
// when the script ends, the sandbox's pid namespace ends and every process it started dies.
import { promises as fs } from 'node:fs';
import { Mountpoints } from '../mount/mountpoints.js';
import { SANDBOX_PATH } from '../mount/host-tools.js';
import { runSandboxArgv, runSandboxMountpoints } from '../mount/sandbox.js';
import { bytesOf } from '../layer/byte-path.js';
import { hostPath, resolveInRoot } from '../layer/root-path.js';
import { asStepFailure, stepFailure } from './context.js';
export const runStep = {
    describe: (s) => `run ${firstLine(s.script)}${s.network ? ' (network)' : ''}`,
    tools: () => ['bwrap'],
    async run(s, ctx) {
        const sh = await resolveInRoot(ctx.root, '/bin/sh', true);
        if (!(await fs.stat(bytesOf(hostPath(ctx.root, sh))).catch(() => undefined))) {
            throw stepFailure('the layer root has no /bin/sh to run the script with');
        }
        const mountpoints = new Mountpoints(ctx.root, ctx.touchedDirs);
        const usable = await mountpoints.prepare(runSandboxMountpoints(s.network));
        const env = {
            PATH: SANDBOX_PATH,
            HOME: '/root',
            LANG: 'C.UTF-8',
            TERM: 'dumb',
            SQSH_LAYER: ctx.recipe.name,
            ...(ctx.sourceDateEpoch !== undefined ? { SOURCE_DATE_EPOCH: String(ctx.sourceDateEpoch) } : {}),
            ...s.env,
        };
        // Removed with the rest of the scratch space after the step.
        const scratch = { tmp: `${ctx.scratch}/run-tmp`, run: `${ctx.scratch}/run-run`, shm: `${ctx.scratch}/run-shm` };
        for (const [dir, mode] of [[scratch.tmp, 0o1777], [scratch.run, 0o755], [scratch.shm, 0o1777]]) {
            await fs.rm(dir, { recursive: true, force: true });
            await fs.mkdir(dir);
            await fs.chmod(dir, mode);
        }
        const argv = runSandboxArgv({
            root: ctx.root, script: s.script, network: s.network, policyRcD: ctx.policyRcD, usable, tools: ctx.tools, scratch,
        });
        try {
            await ctx.runner.run(argv, { clearEnv: true, env, onLine: ctx.onLine, tailLines: 30 });
        }
        catch (err) {
            throw asStepFailure(err, 'the script');
        }
        finally {
            await mountpoints.cleanup();
        }
    },
};
function firstLine(script) {
    const lines = script.trim().split('\n');
    const first = lines[0] ?? '';
    return lines.length > 1 || first.length > 60 ? `${first.slice(0, 60)}…` : first;
}
//# sourceMappingURL=run.js.map
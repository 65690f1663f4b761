// A command inside an assembled stack, sandboxed exactly like a `run` step (mount/sandbox.ts:
// own namespaces, seccomp, Docker's capabilities, masked /proc, no network unless asked):
// verify's checks and shell's shell. Its mount points and scratch dirs live in the stack's
// throw-away tmpfs upper, which goes with the stack.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { bytesOf } from '../layer/byte-path.js';
import { hostPath, resolveInRoot } from '../layer/root-path.js';
import { SANDBOX_PATH } from '../mount/host-tools.js';
import { Mountpoints } from '../mount/mountpoints.js';
import { runSandboxArgv, runSandboxMountpoints } from '../mount/sandbox.js';
export async function stackSandbox(s, r) {
    const sh = await resolveInRoot(r.stack.root, '/bin/sh', true).catch(() => undefined);
    if ('script' in r.run && (sh === undefined || !(await fs.stat(bytesOf(hostPath(r.stack.root, sh))).catch(() => undefined)))) {
        throw new Error('the stack has no /bin/sh');
    }
    const mountpoints = new Mountpoints(r.stack.root);
    const usable = await mountpoints.prepare(runSandboxMountpoints(r.network));
    const base = path.join(r.stack.tmpfs, 'scratch');
    const scratch = { tmp: path.join(base, 'tmp'), run: path.join(base, 'run'), shm: path.join(base, 'shm') };
    for (const [dir, mode] of [[scratch.tmp, 0o1777], [scratch.run, 0o755], [scratch.shm, 0o1777]]) {
        await fs.rm(dir, { recursive: true, force: true });
        await fs.mkdir(dir, { recursive: true });
        await fs.chmod(dir, mode);
    }
    const argv = runSandboxArgv({
        root: r.stack.root,
        script: 'script' in r.run ? r.run.script : '',
        ...('command' in r.run ? { command: r.run.command } : {}),
        network: r.network,
        policyRcD: await s.policyRcD(),
        usable,
        tools: await s.hostTools(),
        scratch,
    });
    const env = { PATH: SANDBOX_PATH, HOME: '/root', LANG: 'C.UTF-8', TERM: 'dumb', SQSH_LAYER: r.layer, ...r.extraEnv };
    return { argv, env, cleanup: () => mountpoints.cleanup() };
}
//# sourceMappingURL=stack-sandbox.js.map
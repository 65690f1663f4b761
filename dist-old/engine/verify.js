// `verify`: a stack proven sound before it ships. 1. every layer file against manifest.json
// (sha256 and size); a layer that does not match is not mounted at all. 2. the stack
// assembled as the initramfs does it (each layer loop-mounted read-only, an overlay with a
// tmpfs upper and no special options), every directory of it listed, every file of every
// layer read once (a read error names its layer). 3. each layer's recipe `checks:` run in
// the stack, sandboxed like `run` steps, bottom layer first. The result is a value: what
// passed and what failed, for the CLI to report.
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { failureIn, howItEnded } from '../failure.js';
import { readTree } from '../layer/read-all.js';
import { checkInterrupted } from '../process/interrupt.js';
import { stackSandbox } from './stack-sandbox.js';
export async function verifyStack(s, v) {
    const bottomFirst = [...v.stack].reverse();
    const failures = [];
    const digests = [];
    for (const l of bottomFirst) {
        v.onProgress?.(`hashing ${l.name}`);
        const d = await digestOf(l, v.manifest, s.signal);
        if (d.problem)
            failures.push(`layer ${l.name}: ${d.problem}`);
        digests.push(d);
    }
    // Each layer must have been built on the very bytes of the layer below it: a parent rebuilt
    // alone (`build base`) leaves its old children stacked on something they were not made on.
    for (const [i, l] of v.stack.entries()) {
        const below = v.stack[i + 1];
        const built = v.manifest?.layers[l.name]?.key?.parent;
        const d = digests.find((x) => x.layer === l.name);
        const under = below && digests.find((x) => x.layer === below.name);
        // A layer below that is not what the manifest says is its own failure, not this one's.
        if (!below || !under?.ok || !built || !d.ok)
            continue;
        const belowDigest = under.sha256;
        if (built.name !== below.name || built.digest !== belowDigest) {
            d.ok = false;
            d.problem = `was built on ${built.name} sha256:${built.digest.slice(0, 12)}, but sits on ${below.name} sha256:${belowDigest.slice(0, 12)}; rebuild it (sqsh-layers build ${l.name})`;
            failures.push(`layer ${l.name}: ${d.problem}`);
        }
    }
    if (failures.length > 0)
        return { ok: false, digests, failures };
    const dirs = [];
    for (const l of v.stack)
        dirs.push(await s.mountLayer(l.file));
    const reads = [];
    for (const l of bottomFirst) {
        v.onProgress?.(`reading ${l.name}`);
        reads.push({ layer: l.name, ...(await readTree(dirs[v.stack.indexOf(l)], { data: true, signal: s.signal })) });
    }
    const stack = await s.assemble(dirs, v.tmpfsSize);
    v.onProgress?.('reading the assembled stack');
    reads.push({ layer: 'stack', ...(await readTree(stack.root, { data: false, signal: s.signal })) });
    for (const r of reads) {
        for (const e of r.errors)
            failures.push(`${r.layer === 'stack' ? 'the assembled stack' : `layer ${r.layer}`}: cannot read ${e.path}: ${e.error}`);
    }
    const checks = [];
    for (const l of bottomFirst) {
        for (const command of v.checks(l.name)) {
            checkInterrupted(s.signal);
            v.onProgress?.(`check of ${l.name}: ${command}`);
            const c = await runCheck(s, stack, l.name, command, v.onLine);
            if (!c.ok)
                failures.push(`layer ${l.name}, check "${command}" ${c.ended}`);
            checks.push(c);
        }
    }
    return { ok: failures.length === 0, digests, reads, checks, failures };
}
async function digestOf(l, manifest, signal) {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of createReadStream(l.file, { highWaterMark: 1 << 20 })) {
        checkInterrupted(signal);
        hash.update(chunk);
        size += chunk.length;
    }
    const sha256 = hash.digest('hex');
    const entry = manifest?.layers[l.name];
    const out = { layer: l.name, file: l.file, ok: false, sha256, size };
    if (!entry)
        return { ...out, problem: 'not recorded in manifest.json (build it, or keep manifest.json beside the layer files)' };
    out.expected = { sha256: entry.sha256, size: entry.size };
    if (entry.sha256 !== sha256 || entry.size !== size) {
        const st = await fs.stat(l.file);
        return {
            ...out,
            problem: `${l.file} does not match manifest.json: sha256 ${sha256.slice(0, 12)}, ${size} bytes; expected ${entry.sha256.slice(0, 12)}, ${entry.size} bytes (modified ${st.mtime.toISOString()}); the file was changed or damaged`,
        };
    }
    return { ...out, ok: true };
}
async function runCheck(s, stack, layer, command, onLine) {
    let box;
    try {
        box = await stackSandbox(s, { stack, run: { script: command }, network: false, layer });
    }
    catch (err) {
        return { layer, command, ok: false, ended: `could not start: ${err.message}`, tail: [] };
    }
    try {
        const r = await s.runner.run(box.argv, { clearEnv: true, env: box.env, tailLines: 20, onLine: (line) => onLine?.(layer, line) });
        return { layer, command, ok: true, tail: r.tail };
    }
    catch (err) {
        const failed = failureIn(err, 'command');
        if (!failed)
            throw err;
        return { layer, command, ok: false, ended: howItEnded(failed), tail: [...failed.tail] };
    }
    finally {
        await box.cleanup();
    }
}
//# sourceMappingURL=verify.js.map
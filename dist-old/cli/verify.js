// `verify LAYER`: the layer files of LAYER's stack against manifest.json, the stack assembled
// as the initramfs does it and read whole, and the recipes' checks run inside it
// (engine/verify.ts). Exit 1 naming the tampered layer or the failing check.
import { verifyStack } from '../engine/verify.js';
import { EXIT } from '../failure.js';
import { openProject } from './project.js';
import { formatBytes } from './render.js';
import { terminalPath } from './inspect.js';
import { inStackSession, layerArgument, tmpfsSizeOption } from './stack-command.js';
export function verifyCommand({ program, globals, io, action }) {
    program
        .command('verify')
        .description("check LAYER's stack: layer files against manifest.json, the stack assembled and read whole, the recipes' checks run inside")
        .argument('<layer>', 'the top layer of the stack (a project layer, or a .sqsh file beside its manifest.json)')
        .option('--tmpfs-size <size>', 'size of the tmpfs upper the checks write to', '50%')
        .addHelpText('after', `
In order, and stopping before anything is mounted if a file is not what manifest.json says:
  1. each layer file's sha256 and size against layers/manifest.json, and each layer built on
     the very bytes of the layer below it (not on an older build of its parent);
  2. the stack assembled exactly as the initramfs does it (each layer loop-mounted read-only,
     an overlay with a tmpfs upper and no special options), every directory listed and every
     file of every layer read once;
  3. each layer's recipe checks: (shell commands) run in the stack, bottom layer first,
     sandboxed like run steps (no network).
Exit 0 when all pass, 1 naming the layer or check that failed. Nothing stays mounted.

Examples:
  sqsh-layers verify config
  sqsh-layers verify config --json
  sqsh-layers verify /mnt/usb/layers/config.sqsh      (digests and reads; checks need the recipes)`)
        .action(action(async (arg, o) => {
        const g = globals();
        const tmpfsSize = tmpfsSizeOption(o.tmpfsSize);
        const ref = await layerArgument(arg, g, io);
        // The recipes' checks, for a project layer.
        const recipes = ref.projectLayer !== undefined ? (await openProject(g.dir, { checkInputs: false, cacheDir: g.cache })).graph.recipes : undefined;
        const progress = (text) => {
            if (!g.quiet && !g.json)
                io.stderr.write(`verify: ${text}\n`);
        };
        const result = await inStackSession(g, io, (s) => verifyStack(s, {
            stack: ref.stack,
            manifest: ref.manifest,
            checks: (layer) => recipes?.get(layer)?.checks ?? [],
            tmpfsSize,
            onProgress: progress,
            onLine: (layer, line) => {
                if (g.verbose)
                    io.stderr.write(`[${layer}] ${line}\n`);
            },
        }));
        if (g.json)
            io.stdout.write(`${JSON.stringify({ layer: ref.label, stack: ref.stack.map((l) => l.name), checksKnown: recipes !== undefined, ...result }, null, 2)}\n`);
        else
            io.stdout.write(renderVerify(ref.label, ref.stack.map((l) => l.name), result, recipes !== undefined));
        if (!result.ok && !g.json) {
            io.stderr.write(`sqsh-layers: error: verify ${ref.label} failed:\n${result.failures.map((f) => `  ${f}`).join('\n')}\n`);
        }
        return result.ok ? EXIT.ok : EXIT.failure;
    }));
}
function renderVerify(label, stack, r, checksKnown) {
    const width = Math.max(...stack.map((n) => n.length), 5);
    const lines = [`verify ${label} (${[...stack].join(' < ')})`, 'layer files against manifest.json:'];
    for (const d of r.digests) {
        lines.push(`  ${d.layer.padEnd(width)}  ${d.ok ? 'ok      ' : 'FAILED  '}sha256:${d.sha256.slice(0, 12)}  ${formatBytes(d.size)}${d.problem ? `\n    ${d.problem}` : ''}`);
    }
    if (r.reads) {
        lines.push('read whole (every file of every layer; every directory of the assembled stack):');
        for (const x of r.reads) {
            const what = x.layer === 'stack' ? `${x.dirs} dirs` : `${x.files} files, ${formatBytes(x.bytes)}, ${x.dirs} dirs`;
            lines.push(`  ${x.layer.padEnd(width)}  ${x.errors.length === 0 ? 'ok      ' : 'FAILED  '}${what}`);
            for (const e of x.errors)
                lines.push(`    ${terminalPath(e.path)}: ${terminalPath(e.error)}`);
        }
    }
    else {
        lines.push('not mounted: a layer file does not match manifest.json');
    }
    if (r.checks) {
        lines.push(checksKnown ? (r.checks.length === 0 ? 'checks: none in the recipes' : 'checks (bottom layer first):') : 'checks: not run (no recipes for a layer file outside its project)');
        for (const c of r.checks) {
            lines.push(`  ${c.layer.padEnd(width)}  ${c.ok ? 'ok      ' : 'FAILED  '}${c.command}${c.ok ? '' : ` (${c.ended})`}`);
            if (!c.ok)
                for (const t of c.tail)
                    lines.push(`    | ${t}`);
        }
    }
    lines.push(r.ok ? `verify ${label}: ok` : `verify ${label}: FAILED`);
    return `${lines.join('\n')}\n`;
}
//# sourceMappingURL=verify.js.map
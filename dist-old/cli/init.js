// `init [DIR]`: a new layer project that builds as it is (init-template.ts). Refuses a
// directory that holds anything; writes everything in a temp dir inside it first, so an
// interrupted init leaves an empty directory, not half a project.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FailureError } from '../failure.js';
import { projectTemplate } from './init-template.js';
import { sourceDateEpochFromEnv } from './env.js';
/** The tool's own schema/ dir: beside dist/ (or src/) in the package. */
function schemaDir() {
    return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../schema');
}
export function initCommand({ program, globals, io, action }) {
    program
        .command('init')
        .description('create a new layer project that builds as it is: a Debian minbase layer and one on top of it')
        .argument('[dir]', 'the project directory, empty or absent (default: -C or the current directory)')
        .addHelpText('after', `
Creates recipes/base.yaml (Debian bookworm minbase, made by hooks/debootstrap.sh on the host),
recipes/app.yaml on top of it, sqsh-layers.yaml (source-date-epoch set to now: reproducible
layers from the first build), a .gitignore for layers/ and the cache, and schema/ for editors
(every recipe starts with the yaml-language-server modeline). Every file is commented.

Examples:
  sqsh-layers init my-layers && cd my-layers && sqsh-layers build
  SOURCE_DATE_EPOCH=1700000000 sqsh-layers init     (this epoch instead of now)`)
        .action(action(async (dirArg) => {
        const g = globals();
        const dir = dirArg !== undefined ? path.resolve(g.dir, dirArg) : g.dir;
        const existing = await fs.readdir(dir).catch((e) => {
            if (e.code === 'ENOENT')
                return [];
            if (e.code === 'ENOTDIR')
                throw new FailureError({ reason: 'usage', message: `${dir} is not a directory` });
            throw e;
        });
        if (existing.length > 0) {
            const shown = existing.sort().slice(0, 5).join(', ');
            throw new FailureError({ reason: 'usage', message: `${dir} is not empty (${shown}${existing.length > 5 ? ', ...' : ''}); init makes a new project in an empty or new directory` });
        }
        const epoch = sourceDateEpochFromEnv(io.env) ?? Math.floor(Date.now() / 1000);
        const schemas = {
            recipe: await fs.readFile(path.join(schemaDir(), 'recipe.schema.json'), 'utf8'),
            project: await fs.readFile(path.join(schemaDir(), 'project.schema.json'), 'utf8'),
        };
        const files = projectTemplate({ epoch, schemas });
        if (!g.dryRun)
            await writeProject(dir, files);
        if (g.json) {
            io.stdout.write(`${JSON.stringify({ dir, sourceDateEpoch: epoch, files: files.map((f) => f.path), written: !g.dryRun }, null, 2)}\n`);
        }
        else {
            const relative = path.relative(io.cwd, dir);
            const rel = relative === '' ? '.' : relative.startsWith('..') ? dir : relative;
            const lines = [
                `${g.dryRun ? 'would create' : 'created'} a layer project in ${rel}:`,
                ...files.map((f) => `  ${f.path}`),
                '',
                'next:',
                ...(rel === '.' ? [] : [`  cd ${rel}`]),
                '  sqsh-layers plan           what would be built',
                '  sqsh-layers build          debootstrap needs root and the network (a minute or two)',
                '  sqsh-layers verify app     the stack read whole and the recipes\' checks run in it',
                '  sqsh-layers cmdline app    the kernel parameter: sqsh_layers=app:base',
            ];
            io.stdout.write(`${lines.join('\n')}\n`);
        }
        return 0;
    }));
}
async function writeProject(dir, files) {
    await fs.mkdir(dir, { recursive: true });
    const tmp = await fs.mkdtemp(path.join(dir, '.sqsh-layers-init-'));
    try {
        for (const f of files) {
            const p = path.join(tmp, f.path);
            await fs.mkdir(path.dirname(p), { recursive: true });
            await fs.writeFile(p, f.text, { mode: f.mode ?? 0o644 });
            if (f.mode !== undefined)
                await fs.chmod(p, f.mode);
        }
        for (const top of await fs.readdir(tmp))
            await fs.rename(path.join(tmp, top), path.join(dir, top));
    }
    finally {
        await fs.rm(tmp, { recursive: true, force: true });
    }
}
//# sourceMappingURL=init.js.map
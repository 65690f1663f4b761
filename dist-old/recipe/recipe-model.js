// From schema-valid data to the typed model, with the checks a schema cannot express
// (block size a power of two, a level the chosen compressor accepts).
import path from 'node:path';
import { valueAt } from './value-at.js';
export const DEFAULT_SQUASHFS = { compression: 'zstd', level: undefined, blockSize: 128 * 1024 };
export const DEFAULT_TMPFS_SIZE = '50%';
export const DEFAULT_CACHE_DIR = '.sqsh-cache';
const LEVELS = {
    gzip: [1, 9],
    lzo: [1, 9],
    zstd: [1, 22],
    lz4: undefined,
    xz: undefined,
};
export function buildProjectConfig(dir, file, data, source, cacheOverride) {
    const diagnostics = [];
    const squashfs = squashfsOptions(DEFAULT_SQUASHFS, data.squashfs, ['squashfs'], source, diagnostics);
    const cache = cacheOverride ?? data.cache ?? DEFAULT_CACHE_DIR;
    const config = {
        dir,
        file,
        squashfs,
        tmpfsSize: data['tmpfs-size'] !== undefined ? scalarText(data['tmpfs-size']) : DEFAULT_TMPFS_SIZE,
        cacheDir: path.resolve(dir, cache),
        sourceDateEpoch: data['source-date-epoch'],
        jobs: data.jobs,
        cacheFrom: data['cache-from'],
        cacheTo: data['cache-to'],
    };
    return { config, diagnostics };
}
export function buildRecipe(name, data, source, config) {
    const diagnostics = [];
    const inputs = [];
    const input = (at, expect) => {
        const p = valueAt(data, at);
        const ref = { path: p, abs: path.resolve(config.dir, p), loc: source.locate(at) };
        inputs.push({ input: ref, expect });
        return ref;
    };
    const steps = data.steps.map((s, index) => {
        const at = ['steps', index];
        const loc = source.locate(at);
        const to = typeof s.to === 'string' ? s.to : '/';
        const replace = s.replace === true;
        if ('restore' in s)
            return { kind: 'restore', index, loc, input: input([...at, 'restore'], 'file'), to, replace };
        if ('untar' in s)
            return { kind: 'untar', index, loc, input: input([...at, 'untar'], 'file'), to, replace };
        if ('copy' in s) {
            const [uid, gid] = typeof s.owner === 'string' ? s.owner.split(':').map(Number) : [0, 0];
            return {
                kind: 'copy',
                index,
                loc,
                input: input([...at, 'copy'], 'file-or-dir'),
                to,
                owner: { uid: uid, gid: gid },
                mode: typeof s.mode === 'string' ? parseInt(s.mode, 8) : undefined,
                replace,
            };
        }
        if ('run' in s)
            return { kind: 'run', index, loc, script: s.run, network: s.network === true, env: envOf(s.env) };
        if ('host' in s)
            return { kind: 'host', index, loc, input: input([...at, 'host'], 'executable'), env: envOf(s.env) };
        const r = s.remove;
        const paths = Array.isArray(r) ? r : [r];
        paths.forEach((p, i) => {
            // Caught here rather than when the step runs: a layer that deletes everything is never meant.
            if (path.posix.resolve('/', p) === '/') {
                diagnostics.push({
                    loc: source.locate(Array.isArray(r) ? [...at, 'remove', i] : [...at, 'remove']),
                    message: `"steps[${index}].remove${Array.isArray(r) ? `[${i}]` : ''}" would remove the whole layer root, found ${JSON.stringify(p)}`,
                });
            }
        });
        return { kind: 'remove', index, loc, paths };
    });
    const recipe = {
        name,
        file: source.file,
        description: data.description,
        parent: data.parent,
        steps,
        exclude: data.exclude ?? [],
        pruneIdentical: data['prune-identical'] !== false,
        squashfs: squashfsOptions(config.squashfs, data.squashfs, ['squashfs'], source, diagnostics),
        tmpfsSize: data['tmpfs-size'] !== undefined ? scalarText(data['tmpfs-size']) : config.tmpfsSize,
        checks: data.checks ?? [],
        locs: {
            file: source.locate([]),
            ...(data.parent !== undefined ? { parent: source.locate(['parent']) } : {}),
            steps: source.locate(['steps']),
        },
    };
    return { recipe, diagnostics, inputs };
}
function squashfsOptions(base, data, at, source, diagnostics) {
    if (!data)
        return base;
    const compression = data.compression ?? base.compression;
    // A level chosen for another compressor does not carry over when only the compressor changes
    // (naming the same compressor again changes nothing).
    const sameCompressor = data.compression === undefined || data.compression === base.compression;
    const level = data.level ?? (sameCompressor ? base.level : undefined);
    let blockSize = base.blockSize;
    if (data['block-size'] !== undefined) {
        const raw = scalarText(data['block-size']);
        const m = /^([0-9]+)([kKmM]?)$/.exec(raw);
        const unit = m[2].toLowerCase() === 'k' ? 1024 : m[2].toLowerCase() === 'm' ? 1024 * 1024 : 1;
        blockSize = Number(m[1]) * unit;
        const pow2 = (blockSize & (blockSize - 1)) === 0;
        if (!pow2 || blockSize < 4096 || blockSize > 1024 * 1024) {
            diagnostics.push({
                loc: locate(source, [...at, 'block-size']),
                message: `"squashfs.block-size" must be a power of two from 4K to 1M, found "${raw}"`,
            });
        }
    }
    if (level !== undefined) {
        const range = LEVELS[compression];
        if (!range) {
            diagnostics.push({
                loc: locate(source, [...at, 'level']),
                message: `"squashfs.level" does not apply to ${compression} compression`,
                hint: 'remove "level" or choose gzip, lzo or zstd',
            });
        }
        else if (level < range[0] || level > range[1]) {
            diagnostics.push({
                loc: locate(source, [...at, 'level']),
                message: `"squashfs.level" for ${compression} must be between ${range[0]} and ${range[1]}, found ${level}`,
            });
        }
    }
    return { compression, level, blockSize };
}
function locate(source, at) {
    return source ? source.locate(at) : { file: '', line: 1, col: 1, endLine: 1, endCol: 1 };
}
function envOf(v) {
    const out = {};
    for (const [k, val] of Object.entries(v ?? {}))
        out[k] = String(val);
    return out;
}
/** A schema-checked string-or-number value as text. */
function scalarText(v) {
    return typeof v === 'string' ? v : JSON.stringify(v);
}
//# sourceMappingURL=recipe-model.js.map
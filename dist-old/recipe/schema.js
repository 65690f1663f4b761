// The recipe and project schemas (JSON Schema draft-07). This file is the single source:
// `schema/*.schema.json` are written from it (`npm run schema`) for editors, and a test
// keeps them equal. `x-message` is our own keyword: the text shown when a pattern fails.
import { LAYER_NAME_PATTERN } from './layer-name.js';
const absolutePath = {
    type: 'string',
    pattern: '^/',
    'x-message': 'must be an absolute path inside the layer root, starting with "/"',
};
const inputPath = {
    type: 'string',
    minLength: 1,
    description: 'A file of the project: relative to the project root, or absolute. Its content is part of the cache key.',
};
const tmpfsSize = {
    type: ['string', 'integer'],
    pattern: '^[0-9]+[kKmMgG%]?$',
    minimum: 1,
    'x-message': 'must be a tmpfs size such as "50%", "2G", "512M" or a number of bytes',
    description: 'Size of the tmpfs the layer is built in (tmpfs size= syntax).',
};
const squashfs = {
    type: 'object',
    additionalProperties: false,
    description: 'mksquashfs options; the project defaults (sqsh-layers.yaml) fill what is left out.',
    properties: {
        compression: { enum: ['gzip', 'lzo', 'lz4', 'xz', 'zstd'], description: 'Compressor; the boot kernel must support it.' },
        level: { type: 'integer', minimum: 1, maximum: 22, description: 'Compression level (gzip 1-9, lzo 1-9, zstd 1-22).' },
        'block-size': {
            type: ['string', 'integer'],
            pattern: '^[0-9]+[kKmM]?$',
            'x-message': 'must be a block size such as "128K" or "1M"',
            description: 'Data block size, a power of two from 4K to 1M.',
        },
    },
};
const env = {
    type: 'object',
    propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$', 'x-message': 'must be an environment variable name' },
    additionalProperties: { type: ['string', 'number', 'boolean'] },
    description: 'Extra environment variables.',
};
const to = { ...absolutePath, description: 'Destination inside the layer root (default /).' };
const replace = {
    type: 'boolean',
    description: 'The unpacked tree replaces the destination: lower entries absent from it are deleted (whiteouts).',
};
const stepSchemas = {
    restore: {
        type: 'object',
        additionalProperties: false,
        required: ['restore'],
        properties: { restore: { ...inputPath, description: 'A dump(8) image, restored with restore -r.' }, to, replace },
    },
    untar: {
        type: 'object',
        additionalProperties: false,
        required: ['untar'],
        properties: { untar: { ...inputPath, description: 'A tar archive (plain, gz, xz or zst); owners, modes and xattrs are kept.' }, to, replace },
    },
    copy: {
        type: 'object',
        additionalProperties: false,
        required: ['copy'],
        properties: {
            copy: { ...inputPath, description: 'A file, or a directory whose contents are copied.' },
            to,
            owner: {
                type: 'string',
                pattern: '^[0-9]+:[0-9]+$',
                'x-message': 'must be numeric "UID:GID", e.g. "0:0"',
                description: 'Owner of the copied entries (default 0:0).',
            },
            mode: {
                type: 'string',
                pattern: '^0?[0-7]{3,4}$',
                'x-message': 'must be an octal mode in quotes, e.g. "0644"',
                description: 'Permission bits of the copied entries (default: those of the source).',
            },
            replace,
        },
    },
    run: {
        type: 'object',
        additionalProperties: false,
        required: ['run'],
        properties: {
            run: { type: 'string', minLength: 1, description: 'A shell script run by /bin/sh -e inside the layer root, sandboxed.' },
            network: { type: 'boolean', description: 'Give the sandbox the host network (default false).' },
            env,
        },
    },
    host: {
        type: 'object',
        additionalProperties: false,
        required: ['host'],
        properties: {
            host: { ...inputPath, description: 'An executable run on the host with the merged root as working directory.' },
            env,
        },
    },
    remove: {
        type: 'object',
        additionalProperties: false,
        required: ['remove'],
        properties: {
            remove: {
                anyOf: [absolutePath, { type: 'array', minItems: 1, items: absolutePath }],
                description: 'Paths or globs inside the layer root to delete.',
            },
        },
    },
};
export const stepKinds = Object.keys(stepSchemas);
export const recipeSchema = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://sqsh-layers.dev/schema/recipe.schema.json',
    title: 'sqsh-layers recipe (recipes/NAME.yaml)',
    type: 'object',
    additionalProperties: false,
    required: ['steps'],
    properties: {
        description: { type: 'string' },
        parent: {
            type: 'string',
            pattern: LAYER_NAME_PATTERN,
            'x-message': 'must be the name of another recipe (lowercase letters, digits, ".", "_", "-")',
            description: 'The layer this one is built on; absent for a bottom layer.',
        },
        steps: {
            type: 'array',
            minItems: 1,
            items: { oneOf: stepKinds.map((k) => ({ $ref: `#/definitions/${k}` })) },
            description: 'Run in order against the merged root of the layer.',
        },
        exclude: {
            type: 'array',
            items: absolutePath,
            description: 'Globs of paths never packed into the layer.',
        },
        'prune-identical': {
            type: 'boolean',
            description: 'Drop upper entries identical to what the lower layers already show (default true).',
        },
        squashfs,
        'tmpfs-size': tmpfsSize,
        checks: {
            type: 'array',
            items: { type: 'string', minLength: 1 },
            description: 'Commands `verify` runs inside the assembled stack.',
        },
    },
    definitions: stepSchemas,
};
/** A registry repository, HOST[:PORT]/PATH, without tag: the cache tags each entry itself. */
function cacheRepository(description) {
    return {
        type: 'string',
        pattern: '^[a-zA-Z0-9.-]+(:[0-9]+)?/[a-z0-9]+([._/-]+[a-z0-9]+)*$',
        'x-message': 'must be a registry repository such as "ghcr.io/OWNER/layers-cache" (no :TAG: each entry is tagged with its key)',
        description,
    };
}
export const projectSchema = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://sqsh-layers.dev/schema/project.schema.json',
    title: 'sqsh-layers project defaults (sqsh-layers.yaml)',
    type: 'object',
    additionalProperties: false,
    properties: {
        squashfs,
        'tmpfs-size': tmpfsSize,
        cache: { type: 'string', minLength: 1, description: 'Cache directory, relative to the project (default .sqsh-cache).' },
        'cache-from': cacheRepository('Registry repository (HOST/REPO) whose cache entries a build uses (build --cache-from).'),
        'cache-to': cacheRepository('Registry repository (HOST/REPO) a build exports its layers to as cache entries (build --cache-to).'),
        'source-date-epoch': {
            type: 'integer',
            minimum: 0,
            description: 'Default SOURCE_DATE_EPOCH: clamps mtimes and makes layers bit-reproducible.',
        },
        jobs: { type: 'integer', minimum: 1, description: 'How many layers may build at once.' },
    },
};
//# sourceMappingURL=schema.js.map
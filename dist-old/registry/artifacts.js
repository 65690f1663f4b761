// What this tool stores in a registry, as OCI 1.1 artifacts (an image manifest with an
// artifactType), the pattern of stacker/atomfs and Apptainer's SIF artifacts:
//
// - A published layer set: artifactType LAYERSET, a config blob LAYERSET_CONFIG (names,
//   parents, the sqsh_layers= lines, squashfs options, keys), the layers base first, each
//   uploaded as is (squashfs is compressed already) as LAYER with the title annotation
//   NAME.sqsh (what ORAS uses as the file name). `created` comes from SOURCE_DATE_EPOCH so
//   the manifest digest is reproducible. --compat: registries that accept only known config
//   media types (GitLab, Quay) get the empty config (OCI 1.1 guidance) and the layer set's
//   config in an annotation.
// - A cache entry: its own repository, one tag per key (`k-<hex of the key digest>`: 66
//   characters, under the 128-character tag limit), artifactType CACHE, config = the key
//   record, exactly one layer (the same blob and media type as a published layer, so
//   publishing a cached layer is a manifest PUT plus a cross-repo mount). Looked up with a
//   HEAD on the tag: concurrent writers are harmless (any winner is a valid entry), and no
//   shared index tag that writers overwrite (BuildKit's known problem), no referrers.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../cache/digest.js';
import { keyDigest } from '../cache/key.js';
import { isSquashfsOptions, layerKeyProblem } from '../cache/key-shape.js';
import { printableInline } from '../process/printable.js';
import { isLayerName } from '../recipe/layer-name.js';
export const MEDIA = {
    manifest: 'application/vnd.oci.image.manifest.v1+json',
    layer: 'application/vnd.sqsh-layers.layer.v1.squashfs',
    layerSet: 'application/vnd.sqsh-layers.layerset.v1',
    layerSetConfig: 'application/vnd.sqsh-layers.layerset.config.v1+json',
    cache: 'application/vnd.sqsh-layers.cache.v1',
    cacheConfig: 'application/vnd.sqsh-layers.cache.config.v1+json',
    empty: 'application/vnd.oci.empty.v1+json',
};
export const TITLE = 'org.opencontainers.image.title';
/** Where --compat keeps the layer set's config (the config blob is the empty one). */
export const CONFIG_ANNOTATION = 'dev.sqsh-layers.layerset.config';
/** The OCI empty descriptor's content: `{}`. */
export const EMPTY_CONFIG = Buffer.from('{}');
export function descriptorOf(mediaType, bytes) {
    return { mediaType, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length };
}
export function layerDescriptor(name, digest, size) {
    return { mediaType: MEDIA.layer, digest: `sha256:${digest}`, size, annotations: { [TITLE]: `${name}.sqsh` } };
}
export function cacheTag(key) {
    return `k-${key}`;
}
/** The cache entry of a stored layer: its manifest and config bytes. */
export function cacheEntry(record) {
    const config = Buffer.from(canonicalJson(record));
    const configDescriptor = descriptorOf(MEDIA.cacheConfig, config);
    const layer = layerDescriptor(record.layer, record.digest, record.size);
    const m = { schemaVersion: 2, mediaType: MEDIA.manifest, artifactType: MEDIA.cache, config: configDescriptor, layers: [layer] };
    return { manifest: Buffer.from(JSON.stringify(m)), config, configDescriptor, layer };
}
/** Parses what a registry sent as a manifest; throws a readable message when it is not one of ours. */
export function parseManifest(bytes, artifactType) {
    let m;
    try {
        m = JSON.parse(bytes.toString('utf8'));
    }
    catch {
        throw new Error('the manifest is not JSON');
    }
    if (m?.schemaVersion !== 2 || !m.config || !Array.isArray(m.layers))
        throw new Error('not an OCI image manifest');
    const type = m.artifactType ?? m.config.mediaType;
    const want = artifactType === MEDIA.layerSet ? [MEDIA.layerSet, MEDIA.layerSetConfig] : [MEDIA.cache, MEDIA.cacheConfig];
    if (!want.includes(type))
        throw new Error(`not a sqsh-layers artifact (artifactType ${type === undefined ? 'none' : printableInline(String(type).slice(0, 80))}, expected ${artifactType})`);
    for (const d of [m.config, ...m.layers]) {
        if (typeof d?.digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(d.digest) || !Number.isSafeInteger(d.size) || d.size < 0) {
            throw new Error('a descriptor without a sha256 digest and size');
        }
    }
    return m;
}
/**
 * A cache entry's key record, checked against the key that was looked up: an entry whose
 * record is for another key, or whose layer is not the one the record names, is not used.
 */
export function checkCacheRecord(config, m, wanted) {
    let record;
    try {
        record = JSON.parse(config.toString('utf8'));
    }
    catch {
        throw new Error('its key record is not JSON');
    }
    if (typeof record !== 'object' || record === null)
        throw new Error('its key record is not an object');
    // The shape first: keyDigest() of anything JSON is some digest, so a matching digest alone
    // lets through a "key" that plan and build cannot read.
    const problem = layerKeyProblem(record.key);
    if (problem !== undefined)
        throw new Error(`its key record holds no valid key (${problem})`);
    if (keyDigest(record.key) !== wanted || record.keyDigest !== wanted)
        throw new Error('its key record is for another key');
    const layer = m.layers.length === 1 ? m.layers[0] : undefined;
    if (!layer || layer.mediaType !== MEDIA.layer || layer.digest !== `sha256:${record.digest}` || layer.size !== record.size) {
        throw new Error('its layer is not the one its key record names');
    }
    if (typeof record.layer !== 'string' || !isLayerName(record.layer))
        throw new Error('its key record names no valid layer');
    if (typeof record.createdAt !== 'string' || !isTimestamp(record.createdAt))
        throw new Error('its key record has no valid creation time');
    return record;
}
/** An ISO 8601 time as this tool writes them (Date.toISOString). */
function isTimestamp(s) {
    return s.length <= 40 && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s));
}
/** The manifest of a published layer set, and its config (as a blob, or with --compat in an annotation). */
export function layerSetManifest(config, a, compat) {
    const configBytes = compat ? EMPTY_CONFIG : Buffer.from(canonicalJson(config));
    const configDescriptor = descriptorOf(compat ? MEDIA.empty : MEDIA.layerSetConfig, configBytes);
    const annotations = { 'org.opencontainers.image.created': a.created };
    if (a.source)
        annotations['org.opencontainers.image.source'] = a.source;
    if (a.revision)
        annotations['org.opencontainers.image.revision'] = a.revision;
    if (compat)
        annotations[CONFIG_ANNOTATION] = canonicalJson(config);
    const m = {
        schemaVersion: 2,
        mediaType: MEDIA.manifest,
        artifactType: MEDIA.layerSet,
        config: configDescriptor,
        layers: config.layers.map((l) => layerDescriptor(l.name, l.sha256, l.size)),
        annotations,
    };
    return { manifest: Buffer.from(JSON.stringify(m)), config: configBytes, configDescriptor };
}
/**
 * A pulled layer set's config, checked against its manifest: the same layers in the same
 * order, every name a layer name, titles NAME.sqsh, parents earlier in the list, squashfs
 * options and build time of the right types, every key a LayerKey matching its digest.
 * Anything else is refused (a title such as `../x` never becomes a path; a key that plan
 * cannot read never reaches layers/manifest.json).
 */
export function checkLayerSet(config, m) {
    if (typeof config !== 'object' || config === null || !Array.isArray(config.layers) || config.layers.length !== m.layers.length) {
        throw new Error('the config does not list the manifest\'s layers');
    }
    const seen = new Set();
    const shown = (v) => printableInline(String(v).slice(0, 80));
    config.layers.forEach((l, i) => {
        const d = m.layers[i];
        if (typeof l !== 'object' || l === null)
            throw new Error(`layer ${i + 1} of the config is not an object`);
        if (typeof l.name !== 'string' || !isLayerName(l.name))
            throw new Error(`"${shown(l.name)}" is not a layer name`);
        if (seen.has(l.name))
            throw new Error(`layer ${l.name} is listed twice`);
        if (d.mediaType !== MEDIA.layer)
            throw new Error(`layer ${l.name} has media type ${shown(d.mediaType)}, expected ${MEDIA.layer}`);
        if (d.annotations?.[TITLE] !== `${l.name}.sqsh`)
            throw new Error(`layer ${l.name} is titled "${shown(d.annotations?.[TITLE])}"`);
        if (typeof l.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(l.sha256) || d.digest !== `sha256:${l.sha256}` || d.size !== l.size) {
            throw new Error(`layer ${l.name}: the config and the manifest name other bytes`);
        }
        if (l.parent !== null && (typeof l.parent !== 'string' || !seen.has(l.parent)))
            throw new Error(`layer ${l.name}: its parent ${shown(l.parent)} does not come before it`);
        if (!isSquashfsOptions(l.squashfs))
            throw new Error(`layer ${l.name}: its squashfs options are not {compression, level, block-size}`);
        if (typeof l.builtAt !== 'string' || !isTimestamp(l.builtAt))
            throw new Error(`layer ${l.name}: its build time is not an ISO 8601 time`);
        if (l.key !== undefined || l.keyDigest !== undefined) {
            if (l.key === undefined)
                throw new Error(`layer ${l.name}: its key does not match its key digest`);
            const problem = layerKeyProblem(l.key);
            if (problem !== undefined)
                throw new Error(`layer ${l.name}: its key is not a layer key (${problem})`);
            if (keyDigest(l.key) !== l.keyDigest)
                throw new Error(`layer ${l.name}: its key does not match its key digest`);
            // The key names the parent it was built on: the same one the set says.
            if ((l.key.parent?.name ?? null) !== l.parent)
                throw new Error(`layer ${l.name}: its key names another parent`);
        }
        seen.add(l.name);
    });
    return config;
}
//# sourceMappingURL=artifacts.js.map
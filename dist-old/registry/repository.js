// One repository of a registry, through the OCI Distribution API: blobs (HEAD before upload,
// cross-repo mount, monolithic or chunked upload, verified download) and manifests.
// Blobs stream from and to files, so memory stays flat for multi-GB layers.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { readLimited, registryFailure } from './http.js';
/** Manifests are small; a bigger one is refused rather than read into memory (the spec suggests 4 MiB). */
const MANIFEST_LIMIT = 4 << 20;
export class Repository {
    http;
    name;
    progress;
    constructor(http, name, progress) {
        this.http = http;
        this.name = name;
        this.progress = progress;
    }
    get registry() {
        return this.http.registry;
    }
    scopes(push, extra = []) {
        return [`repository:${this.name}:${push ? 'pull,push' : 'pull'}`, ...extra];
    }
    async hasBlob(digest, push = false) {
        const res = await this.http.request('HEAD', `/v2/${this.name}/blobs/${digest}`, { scopes: this.scopes(push), ok: [200, 404] });
        return res.status === 200;
    }
    /**
     * Puts a blob in the repository unless it is there (HEAD first). With `mountFrom`, a
     * cross-repository mount is tried: 201 is done, 202 means the registry would not mount
     * (another namespace, no right to the source) and the upload it opened is used instead.
     */
    async pushBlob(src, d, o = {}) {
        if (await this.hasBlob(d.digest, true))
            return 'exists';
        for (let attempt = 1;; attempt++) {
            try {
                return await this.upload(src, d, o);
            }
            catch (err) {
                // A dropped upload starts over from a new session (the old one may be gone).
                if (attempt >= 3)
                    throw err;
            }
        }
    }
    async upload(src, d, o) {
        let start;
        if (o.mountFrom && o.mountFrom !== this.name) {
            const q = new URLSearchParams({ mount: d.digest, from: o.mountFrom });
            start = await this.http.request('POST', `/v2/${this.name}/blobs/uploads/?${q.toString()}`, {
                scopes: this.scopes(true, [`repository:${o.mountFrom}:pull`]),
                ok: [201, 202],
                headers: { 'content-length': '0' },
            });
            if (start.status === 201)
                return 'mounted';
        }
        else {
            start = await this.http.request('POST', `/v2/${this.name}/blobs/uploads/`, { scopes: this.scopes(true), ok: [202], headers: { 'content-length': '0' } });
        }
        let location = this.location(start);
        const label = o.label ?? d.digest.slice(7, 19);
        let done = 0;
        const onBytes = (n) => {
            done += n;
            this.progress?.(label, done, d.size);
        };
        const body = (from, to) => () => 'file' in src
            ? Readable.toWeb(createReadStream(src.file, { start: from, end: to - 1, highWaterMark: 1 << 20 }))
            : src.bytes.subarray(from, to);
        // Chunked only when the registry asks for it (OCI-Chunk-Min-Length, distribution spec
        // 1.1): GHCR refuses PATCH bodies over 4 MiB, ECR wants chunks of at least 5 MiB.
        const minChunk = Number(start.headers.get('oci-chunk-min-length') ?? '0');
        if (minChunk > 0 && d.size > minChunk) {
            for (let from = 0; from < d.size; from += minChunk) {
                const to = Math.min(d.size, from + minChunk);
                const res = await this.http.request('PATCH', location, {
                    scopes: this.scopes(true),
                    ok: [202],
                    headers: { 'content-type': 'application/octet-stream', 'content-range': `${from}-${to - 1}`, 'content-length': String(to - from) },
                    body: body(from, to),
                    onBytes,
                });
                location = this.location(res);
            }
            const url = withDigest(location, d.digest, this.http.base);
            await this.http.request('PUT', url, { scopes: this.scopes(true), ok: [201], headers: { 'content-length': '0' } });
        }
        else {
            // Monolithic: POST then one PUT with the whole blob, streamed.
            const url = withDigest(location, d.digest, this.http.base);
            await this.http.request('PUT', url, {
                scopes: this.scopes(true),
                ok: [201],
                headers: { 'content-type': 'application/octet-stream', 'content-length': String(d.size) },
                body: body(0, d.size),
                onBytes,
            });
        }
        return 'uploaded';
    }
    location(res) {
        const loc = res.headers.get('location');
        if (!loc)
            throw registryFailure(this.registry, `upload to ${this.name}: the registry gave no upload location`);
        return new URL(loc, this.http.base).toString();
    }
    /**
     * Downloads a blob into `dest`, hashing while it streams: a wrong digest or size (or more
     * bytes than the descriptor says) leaves nothing at `dest` and throws.
     */
    async pullBlob(d, dest, label) {
        const res = await this.http.request('GET', `/v2/${this.name}/blobs/${d.digest}`, { scopes: this.scopes(false), ok: [200] });
        const hash = createHash('sha256');
        let got = 0;
        const shown = label ?? d.digest.slice(7, 19);
        const check = new Transform({
            transform: (chunk, _enc, cb) => {
                got += chunk.length;
                if (got > d.size) {
                    cb(registryFailure(this.registry, `blob ${d.digest} of ${this.name} is longer than the ${d.size} bytes its manifest says: refused`));
                    return;
                }
                hash.update(chunk);
                this.progress?.(shown, got, d.size);
                cb(null, chunk);
            },
        });
        try {
            await pipeline(Readable.fromWeb(res.body), check, createWriteStream(dest, { flags: 'wx', mode: 0o644 }));
            const actual = `sha256:${hash.digest('hex')}`;
            if (got !== d.size || actual !== d.digest) {
                throw registryFailure(this.registry, `blob ${d.digest} of ${this.name} does not have the bytes its manifest names (got ${got} bytes, ${actual}): refused`, 'the registry (or something between) altered it; nothing was written');
            }
        }
        catch (err) {
            await fs.rm(dest, { force: true });
            throw err;
        }
    }
    /** A small blob (a config) into memory, verified. */
    async readBlob(d) {
        if (d.size > MANIFEST_LIMIT)
            throw registryFailure(this.registry, `config blob ${d.digest} is ${d.size} bytes: too big to be a config`);
        const res = await this.http.request('GET', `/v2/${this.name}/blobs/${d.digest}`, { scopes: this.scopes(false), ok: [200] });
        const bytes = await readLimited(res, MANIFEST_LIMIT, this.registry);
        const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
        if (actual !== d.digest)
            throw registryFailure(this.registry, `blob ${d.digest} of ${this.name} has other bytes (${actual}): refused`);
        return bytes;
    }
    /** The digest of the manifest a tag names, or undefined when there is none (a HEAD). */
    async headManifest(ref, accept) {
        const res = await this.http.request('HEAD', `/v2/${this.name}/manifests/${ref}`, { scopes: this.scopes(false), ok: [200, 404], headers: { accept } });
        if (res.status === 404)
            return undefined;
        return res.headers.get('docker-content-digest') ?? undefined;
    }
    /** A manifest's bytes and digest; a reference by digest must match it. */
    async getManifest(ref, accept) {
        const res = await this.http.request('GET', `/v2/${this.name}/manifests/${ref}`, { scopes: this.scopes(false), ok: [200], headers: { accept } });
        const bytes = await readLimited(res, MANIFEST_LIMIT, this.registry);
        const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
        if (ref.startsWith('sha256:') && ref !== digest) {
            throw registryFailure(this.registry, `manifest ${ref} of ${this.name} has other bytes (${digest}): refused`);
        }
        return { bytes, digest, mediaType: res.headers.get('content-type') ?? '' };
    }
    /** PUT of a manifest under a tag; returns its digest. */
    async putManifest(tag, bytes, mediaType) {
        await this.http.request('PUT', `/v2/${this.name}/manifests/${tag}`, {
            scopes: this.scopes(true),
            ok: [201],
            headers: { 'content-type': mediaType },
            body: () => bytes,
        });
        return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    }
}
function withDigest(location, digest, base) {
    const url = new URL(location, base);
    url.searchParams.set('digest', digest);
    return url.toString();
}
//# sourceMappingURL=repository.js.map
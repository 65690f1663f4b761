// Garbage collection of the local store: blobs no key record or layer references go;
// with a size limit, the least recently used entries go too (never those the project's
// layers/ uses), until the store fits. Nothing of a live run goes, whichever project it
// builds: not its temp files, not the blobs it uses (see cache-run.ts).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { tmpEntries } from './cache-run.js';
/** Directory entries are taken in name order, so the report is the same on every filesystem. */
export async function gc(o) {
    const blobsDir = path.join(o.dir, 'blobs', 'sha256');
    const keysDir = path.join(o.dir, 'keys');
    const blobs = new Map();
    const fresh = new Set();
    const now = Date.now();
    for (const name of (await fs.readdir(blobsDir).catch(() => [])).sort()) {
        const st = await fs.stat(path.join(blobsDir, name)).catch(() => undefined);
        if (!st?.isFile())
            continue;
        blobs.set(name, st.size);
        // ctime: the moment the blob was renamed into the store.
        if (now - st.ctimeMs < o.graceMs)
            fresh.add(name);
    }
    // Read after the blobs: a run claims a blob before storing it, so every blob listed above
    // that a live run stores or uses is claimed by now.
    const inUse = new Set();
    const report = { removedBlobs: [], removedKeys: [], removedTemps: [], keptBytes: 0, freedBytes: 0 };
    for (const t of await tmpEntries(o.dir, o.alive)) {
        for (const d of t.uses)
            inUse.add(d);
        if (t.live || now - t.mtimeMs < o.graceMs)
            continue;
        report.removedTemps.push(t.rel);
        if (!o.dryRun)
            await fs.rm(path.join(o.dir, t.rel), { recursive: true, force: true });
    }
    const keys = [];
    for (const name of (await fs.readdir(keysDir).catch(() => [])).filter((n) => n.endsWith('.json')).sort()) {
        const file = path.join(keysDir, name);
        try {
            const rec = JSON.parse(await fs.readFile(file, 'utf8'));
            const st = await fs.stat(file);
            keys.push({ file, digest: rec.digest, used: st.mtimeMs });
        }
        catch {
            keys.push({ file, digest: '', used: 0 });
        }
    }
    const removeKey = async (k) => {
        report.removedKeys.push(path.basename(k.file, '.json'));
        if (!o.dryRun)
            await fs.rm(k.file, { force: true });
    };
    // Records whose blob is gone (or unreadable records) are useless; a blob stored since the
    // listing above is looked for again.
    let live = [];
    const stored = async (digest) => blobs.has(digest) || (/^[0-9a-f]{64}$/.test(digest) && (await fs.stat(path.join(blobsDir, digest)).catch(() => undefined)) !== undefined);
    for (const k of keys) {
        if (await stored(k.digest))
            live.push(k);
        else
            await removeKey(k);
    }
    const kept = new Set([...o.keep, ...inUse]);
    if (o.maxSize !== undefined) {
        const referenced = () => new Set([...live.map((k) => k.digest), ...kept]);
        const sizeOf = (set) => [...set].reduce((n, d) => n + (blobs.get(d) ?? 0), 0);
        const byAge = [...live].sort((a, b) => a.used - b.used);
        for (const k of byAge) {
            if (sizeOf(referenced()) <= o.maxSize)
                break;
            if (kept.has(k.digest))
                continue;
            live = live.filter((x) => x !== k);
            await removeKey(k);
        }
    }
    const referenced = new Set([...live.map((k) => k.digest), ...kept]);
    for (const [digest, size] of blobs) {
        if (referenced.has(digest) || fresh.has(digest)) {
            report.keptBytes += size;
            continue;
        }
        report.removedBlobs.push({ digest, size });
        report.freedBytes += size;
        if (!o.dryRun)
            await fs.rm(path.join(blobsDir, digest), { force: true });
    }
    return report;
}
/** Parses sizes such as 10G, 500M, 1024 (bytes). */
export function parseSize(text) {
    const m = /^([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)i?b?$/i.exec(text.trim());
    if (!m)
        return undefined;
    const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2].toLowerCase()];
    return Math.round(Number(m[1]) * mult);
}
//# sourceMappingURL=gc.js.map
// Hostile registry answers replayed against the client: a pulled key of the wrong shape, an
// endless error body or token answer, a redirect to another host, a manifest entry naming
// another file, and pull writing layers/manifest.json through the one ManifestWriter. Small
// real HTTP servers on loopback play the registry and the host a redirect points to.

import { createHash } from 'node:crypto';
import { promises as fs, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Sha256 } from '../../src/cache/digest.js';
import { describeReason, explainKeyChange } from '../../src/cache/explain.js';
import { keyDigest, LAYER_FORMAT, type LayerKey } from '../../src/cache/key.js';
import { FailureError } from '../../src/failure.js';
import { Runner } from '../../src/process/run.js';
import { cacheEntry, checkCacheRecord, checkLayerSet, type LayerSetConfig, layerSetManifest, MEDIA, parseManifest } from '../../src/registry/artifacts.js';
import { RegistryHttp } from '../../src/registry/http.js';
import { pullLayerSet, pushLayerSet } from '../../src/registry/layer-set.js';
import { Repository } from '../../src/registry/repository.js';
import { runCli, tempDir, writeFiles } from '../support/project.js';

const work = tempDir('registry-review');
afterAll(() => rmSync(work, { recursive: true, force: true }));

const SQ = { compression: 'zstd', level: null, 'block-size': 131072 };
const WHEN = '2023-11-14T22:13:20.000Z';
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f]/;
// eslint-disable-next-line no-control-regex
const CONTROL_BUT_NEWLINE = /[\x00-\x09\x0b-\x1f]/;

function key(name: string, parent: { name: string; digest: Sha256 } | null): LayerKey {
  return {
    format: LAYER_FORMAT,
    recipe: { steps: [{ run: `echo ${name}` }], exclude: [], 'prune-identical': true, squashfs: SQ },
    inputs: [{ path: 'files/a', kind: 'file', digest: 'a'.repeat(64) as Sha256, mode: 0o644, uid: 0, gid: 0 }],
    parent,
    mksquashfs: 'v',
    sourceDateEpoch: 1,
  };
}

function sha(b: Buffer): Sha256 {
  return createHash('sha256').update(b).digest('hex') as Sha256;
}

/** A one-layer set whose key is `k` (any JSON), with its digest, as a pulled config. */
function setWith(k: unknown, edit: (e: Record<string, unknown>) => void = () => {}): { config: LayerSetConfig; manifest: ReturnType<typeof parseManifest> } {
  const entry: Record<string, unknown> = { name: 'base', parent: null, sha256: 'b'.repeat(64), size: 10, squashfs: SQ, keyDigest: keyDigest(k as LayerKey), key: k, builtAt: WHEN };
  edit(entry);
  const config = { layers: [entry], sqshLayers: ['sqsh_layers=base'] } as unknown as LayerSetConfig;
  const good = layerSetManifest({ layers: [{ ...(entry as object), name: 'base', sha256: 'b'.repeat(64) as Sha256, size: 10 } as never], sqshLayers: [] }, { created: WHEN }, false);
  return { config, manifest: parseManifest(good.manifest, MEDIA.layerSet) };
}

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
}

describe('pulled keys', () => {
  it('a key of the wrong shape is refused even when its digest matches; squashfs and build time are checked', () => {
    const k = key('base', null);
    expect(refusal(() => checkLayerSet(setWith(k).config, setWith(k).manifest))).toBe('accepted');
    const cases: [unknown, string][] = [
      [{ format: 1 }, 'mksquashfs is not a string'],
      [{ ...k, inputs: undefined }, 'inputs is not a list'],
      [{ ...k, recipe: { ...k.recipe, steps: 'x' } }, 'recipe.steps is not a list of steps'],
      [{ ...k, parent: { name: 7, digest: 'b'.repeat(64) } }, 'parent is not {name, digest} or null'],
      [{ ...k, inputs: [{ ...k.inputs[0], mode: '644' }] }, "an input's mode, uid or gid is not an integer"],
      ['a string', 'not an object'],
    ];
    for (const [bad, why] of cases) {
      const s = setWith(bad);
      expect(refusal(() => checkLayerSet(s.config, s.manifest))).toBe(`layer base: its key is not a layer key (${why})`);
    }
    const s1 = setWith(k, (e) => (e.squashfs = { compression: 'zstd; rm -rf /', level: null, 'block-size': 1 }));
    expect(refusal(() => checkLayerSet(s1.config, s1.manifest))).toContain('its squashfs options are not');
    const s2 = setWith(k, (e) => (e.builtAt = { toString: 1 }));
    expect(refusal(() => checkLayerSet(s2.config, s2.manifest))).toContain('its build time is not an ISO 8601 time');
    const s3 = setWith(k, (e) => (e.builtAt = '\x1b]0;owned\x07'));
    expect(refusal(() => checkLayerSet(s3.config, s3.manifest))).toContain('its build time is not an ISO 8601 time');
    // A key built on a parent the set does not name.
    const s4 = setWith(key('base', { name: 'other', digest: 'c'.repeat(64) as Sha256 }));
    expect(refusal(() => checkLayerSet(s4.config, s4.manifest))).toBe('layer base: its key names another parent');
  });

  it('explainKeyChange takes a malformed previous key as none, never throws', () => {
    const cur = key('base', null);
    for (const prev of [{ format: 1 }, { ...cur, inputs: null }, { ...cur, recipe: {} }, 'x', 42, null, []]) {
      expect(explainKeyChange(prev as unknown as LayerKey, cur)).toEqual([{ reason: 'not-built' }]);
    }
  });

  it('stale reasons escape terminal control characters from a previous key', () => {
    const cur = key('base', null);
    const prev = { ...cur, mksquashfs: 'v\x1b]52;c;aGk=\x07', inputs: [{ ...cur.inputs[0]!, path: 'evil\x1b[2J\nline' }] };
    const text = explainKeyChange(prev, cur).map(describeReason).join('; ');
    expect(text).not.toMatch(CONTROL);
    expect(text).toContain('mksquashfs changed (v\\x1b]52;c;aGk=\\x07 → v)');
    expect(text).toContain('input evil\\x1b[2J\\nline removed');
    const field = { ...cur, recipe: { ...cur.recipe, 'x\x1b[31m': 1 } } as unknown as LayerKey;
    expect(explainKeyChange(field, cur).map(describeReason)).toEqual(['recipe field x\\x1b[31m changed']);
  });

  it('a cache entry whose key record is malformed or not JSON is refused, not a crash', () => {
    const k = key('base', null);
    const kd = keyDigest(k);
    const record = { keyDigest: kd, key: k, digest: 'd'.repeat(64) as Sha256, size: 42, layer: 'base', createdAt: WHEN };
    const e = cacheEntry(record);
    const m = parseManifest(e.manifest, MEDIA.cache);
    expect(checkCacheRecord(e.config, m, kd)).toEqual(record);
    const bad = { format: 1 };
    const badRecord = { ...record, key: bad, keyDigest: keyDigest(bad as LayerKey) };
    expect(refusal(() => checkCacheRecord(Buffer.from(JSON.stringify(badRecord)), m, badRecord.keyDigest))).toBe(
      'its key record holds no valid key (mksquashfs is not a string)',
    );
    expect(refusal(() => checkCacheRecord(Buffer.from('{not json'), m, kd))).toBe('its key record is not JSON');
    expect(refusal(() => checkCacheRecord(Buffer.from('null'), m, kd))).toBe('its key record is not an object');
    expect(refusal(() => checkCacheRecord(Buffer.from(JSON.stringify({ ...record, createdAt: 5 })), m, kd))).toBe('its key record has no valid creation time');
  });
});

/** A loopback HTTP server; `handle` answers each request. */
async function server(handle: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<{ host: string; port: number; close: () => Promise<void> }> {
  const s = http.createServer(handle);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((r) => {
        s.closeAllConnections();
        s.close(() => r());
      }),
  };
}

function client(host: string, env: NodeJS.ProcessEnv = {}): RegistryHttp {
  const signal = new AbortController().signal;
  const runner = new Runner({ log: { verbose: () => {}, info: () => {} }, dryRun: false, signal, env });
  return new RegistryHttp(host, { env, runner, signal, insecure: false, retries: 0, idleTimeoutMs: 10_000 });
}

async function failureOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(FailureError);
    return (err as Error).message;
  }
  return 'no failure';
}

describe('registry answers without an end', () => {
  it('an endless error body is cut at 64 KiB, shown as at most 200 escaped characters', async () => {
    let sent = 0;
    let closed = false;
    const srv = await server((req, res) => {
      res.writeHead(400, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(64 << 10, '\x1b');
      const pump = () => {
        while (!closed && res.write(chunk)) sent += chunk.length;
        if (!closed) res.once('drain', pump);
      };
      res.on('close', () => (closed = true));
      pump();
    });
    try {
      const msg = await failureOf(client(srv.host).request('GET', '/v2/a/manifests/1', { scopes: ['repository:a:pull'], ok: [200] }));
      expect(msg).toContain('GET /v2/a/manifests/1: 400 \\x1b\\x1b');
      expect(msg).not.toMatch(CONTROL);
      expect(msg.length).toBeLessThan(1000);
      // The client hung up: the server did not get to send much more than the limit.
      await new Promise((r) => setTimeout(r, 100));
      expect(closed).toBe(true);
      expect(sent).toBeLessThan(64 << 20);
    } finally {
      await srv.close();
    }
  });

  it('registry error codes and messages are escaped and cut', async () => {
    const srv = await server((req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN\x1b[2J', message: `no such\n${'m'.repeat(5000)}` }, { code: 7 }] }));
    });
    try {
      const msg = await failureOf(client(srv.host).request('GET', '/v2/a/manifests/1', { scopes: ['repository:a:pull'], ok: [200] }));
      expect(msg).toContain('404 MANIFEST_UNKNOWN\\x1b[2J: no such\\nmmm');
      expect(msg).not.toMatch(CONTROL);
      expect(msg.length).toBeLessThan(400);
    } finally {
      await srv.close();
    }
  });

  it('an endless token answer is refused', async () => {
    let closed = false;
    const srv = await server((req, res) => {
      if (req.url!.startsWith('/token')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.on('close', () => (closed = true));
        const chunk = Buffer.alloc(64 << 10, ' ');
        res.write('{"token":"');
        const pump = () => {
          while (!closed && res.write(chunk));
          if (!closed) res.once('drain', pump);
        };
        pump();
        return;
      }
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${req.headers.host}/token",service="x"` });
      res.end();
    });
    try {
      const msg = await failureOf(client(srv.host).request('GET', '/v2/a/manifests/1', { scopes: ['repository:a:pull'], ok: [200] }));
      expect(msg).toContain(`token service http://${srv.host} answered with over 65536 bytes: refused`);
    } finally {
      await srv.close();
    }
  });
});

// Node 20's fetch (undici) already drops Authorization on a cross-origin redirect (the fetch
// standard's rule since 2023); the client follows redirects itself so that this holds whatever
// fetch does, and this test pins the behaviour.
describe('redirects', () => {
  it('the registry\'s Authorization goes to its own origin only, never to the host a redirect names', async () => {
    const seen: { where: string; auth: string | undefined }[] = [];
    const cdn = await server((req, res) => {
      seen.push({ where: `cdn${req.url}`, auth: req.headers.authorization });
      res.writeHead(200);
      res.end('blob bytes');
    });
    const reg = await server((req, res) => {
      seen.push({ where: `reg${req.url}`, auth: req.headers.authorization });
      if (!req.headers.authorization) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="reg"' });
        res.end();
      } else if (req.url === '/v2/a/blobs/one') {
        // Same origin: the credentials go along.
        res.writeHead(307, { location: '/v2/a/blobs/two' });
        res.end();
      } else {
        res.writeHead(307, { location: `http://${cdn.host}/bucket/blob?sig=1` });
        res.end();
      }
    });
    try {
      const dir = path.join(work, 'auth');
      await fs.mkdir(dir, { recursive: true });
      await fs.writeFile(path.join(dir, 'auth.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('user:secret').toString('base64') } } }));
      const res = await client(reg.host, { REGISTRY_AUTH_FILE: path.join(dir, 'auth.json') }).request('GET', '/v2/a/blobs/one', { scopes: ['repository:a:pull'], ok: [200] });
      expect(await res.text()).toBe('blob bytes');
      const basic = `Basic ${Buffer.from('user:secret').toString('base64')}`;
      expect(seen).toEqual([
        { where: 'reg/v2/a/blobs/one', auth: undefined },
        { where: 'reg/v2/a/blobs/one', auth: basic },
        { where: 'reg/v2/a/blobs/two', auth: basic },
        { where: 'cdn/bucket/blob?sig=1', auth: undefined },
      ]);
    } finally {
      await reg.close();
      await cdn.close();
    }
  });
});

describe('push and pull of layers/manifest.json', () => {
  it('push refuses an entry whose file is not NAME.sqsh, or whose name is not a layer name, before any request', async () => {
    const dir = path.join(work, 'push');
    await fs.mkdir(dir, { recursive: true });
    const bytes = Buffer.from('layer');
    await fs.writeFile(path.join(dir, 'other.bin'), bytes);
    await fs.writeFile(path.join(dir, 'base.sqsh'), Buffer.from('different'));
    const entry = { file: 'other.bin', parent: null, sha256: sha(bytes), size: bytes.length, squashfs: SQ, builtAt: WHEN };
    const write = (layers: object) => fs.writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ version: 1, layers }));
    // Port 9 on loopback: nothing listens; a request would fail with "connection refused".
    const repo = new Repository(client('127.0.0.1:9'), 'a');
    const ref = { registry: '127.0.0.1:9', repository: 'a', tag: '1', digest: undefined };
    const o = { layer: undefined, annotations: { created: WHEN }, compat: false };
    await write({ base: entry });
    expect(await failureOf(pushLayerSet(repo, ref, dir, o))).toContain('layer base in layers/manifest.json names the file "other.bin", not base.sqsh');
    await write({ '../x': { ...entry, file: '../x.sqsh' } });
    expect(await failureOf(pushLayerSet(repo, ref, dir, o))).toContain('"../x" in layers/manifest.json is not a layer name');
  });

  it('pull merges its entries into the existing manifest through ManifestWriter; a hostile key writes nothing', async () => {
    const blob = Buffer.from('squashfs bytes');
    const k = key('base', null);
    const config: LayerSetConfig = {
      layers: [{ name: 'base', parent: null, sha256: sha(blob), size: blob.length, squashfs: SQ, keyDigest: keyDigest(k), key: k, builtAt: WHEN, extra: 'dropped' } as never],
      sqshLayers: ['sqsh_layers=base'],
    };
    const artifacts = new Map<string, { manifest: Buffer; config: Buffer }>();
    const publish = (tag: string, c: unknown) => {
      const set = layerSetManifest(c as LayerSetConfig, { created: WHEN }, false);
      // The config as given (a hostile one is not canonical JSON of a checked object).
      const raw = Buffer.from(JSON.stringify(c));
      const m = JSON.parse(set.manifest.toString()) as { config: { digest: string; size: number } };
      m.config = { ...m.config, digest: `sha256:${sha(raw)}`, size: raw.length };
      artifacts.set(tag, { manifest: Buffer.from(JSON.stringify(m)), config: raw });
    };
    publish('good', config);
    const bad = { format: 1 };
    publish('bad', { ...config, layers: [{ ...config.layers[0], key: bad, keyDigest: keyDigest(bad as LayerKey) }] });
    const blobs = new Map<string, Buffer>([[`sha256:${sha(blob)}`, blob]]);
    for (const a of artifacts.values()) blobs.set(`sha256:${sha(a.config)}`, a.config);
    const srv = await server((req, res) => {
      const mm = /^\/v2\/a\/manifests\/(\w+)$/.exec(req.url!);
      const mb = /^\/v2\/a\/blobs\/(sha256:\w+)$/.exec(req.url!);
      const body = mm ? artifacts.get(mm[1]!)?.manifest : mb ? blobs.get(mb[1]!) : undefined;
      if (!body) {
        res.writeHead(404);
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': mm ? MEDIA.manifest : 'application/octet-stream' });
      res.end(body);
    });
    try {
      const dir = path.join(work, 'pull');
      await fs.mkdir(dir, { recursive: true });
      const mine = { file: 'mine.sqsh', parent: null, sha256: 'e'.repeat(64), size: 1, squashfs: SQ, builtAt: WHEN, madeBy: { command: 'merge', from: ['x'] } };
      const before = JSON.stringify({ version: 1, layers: { zz: mine, mine } }, null, 2) + '\n';
      await fs.writeFile(path.join(dir, 'manifest.json'), before);
      const repo = new Repository(client(srv.host), 'a');
      const refOf = (tag: string) => ({ registry: srv.host, repository: 'a', tag, digest: undefined });

      expect(await failureOf(pullLayerSet(repo, refOf('bad'), dir, 'run1'))).toContain('layer base: its key is not a layer key (mksquashfs is not a string): refused, nothing written');
      expect(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8')).toBe(before);
      expect((await fs.readdir(dir)).sort()).toEqual(['manifest.json']);

      const got = await pullLayerSet(repo, refOf('good'), dir, 'run2');
      expect(got.sqshLayers).toEqual(['sqsh_layers=base']);
      expect(await fs.readFile(path.join(dir, 'base.sqsh'))).toEqual(blob);
      const text = await fs.readFile(path.join(dir, 'manifest.json'), 'utf8');
      const written = JSON.parse(text) as { version: number; layers: Record<string, unknown> };
      expect(Object.keys(written.layers)).toEqual(['base', 'mine', 'zz']);
      expect(written.layers.mine).toEqual(mine);
      expect(written.layers.base).toEqual({ file: 'base.sqsh', parent: null, sha256: sha(blob), size: blob.length, squashfs: SQ, builtAt: WHEN, keyDigest: keyDigest(k), key: k });
      // Pulling the same set again leaves the file as it is.
      const st = await fs.stat(path.join(dir, 'manifest.json'));
      await pullLayerSet(repo, refOf('good'), dir, 'run3');
      expect((await fs.stat(path.join(dir, 'manifest.json'))).ino).toBe(st.ino);
    } finally {
      await srv.close();
    }
  });
});

describe('plan with a malformed key in layers/manifest.json', () => {
  it('says "never built" instead of crashing, and shows a key\'s hostile text escaped', async () => {
    const dir = path.join(work, 'plan');
    const files = { 'recipes/base.yaml': 'steps:\n  - copy: files/base.txt\n    to: /etc/base.txt\n', 'files/base.txt': 'base\n' };
    await writeFiles(dir, files);
    const entry = { file: 'base.sqsh', parent: null, sha256: 'b'.repeat(64), size: 1, squashfs: SQ, builtAt: WHEN };
    const write = (k: unknown) =>
      fs.writeFile(path.join(dir, 'layers', 'manifest.json'), JSON.stringify({ version: 1, layers: { base: { ...entry, key: k, keyDigest: keyDigest(k as LayerKey) } } }));
    await fs.mkdir(path.join(dir, 'layers'), { recursive: true });
    await write({ format: 1, recipe: 'x' });
    expect(await runCli(['plan'], { cwd: dir })).toEqual({ code: 0, stdout: expect.stringContaining('  base  build   never built\n') as string, stderr: '' });
    // A well-formed key whose text carries escape sequences: shown as \xNN, never raw.
    await write({ ...key('base', null), mksquashfs: 'v\x1b]0;owned\x07\nX' });
    const r = await runCli(['plan'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('mksquashfs changed (v\\x1b]0;owned\\x07\\nX → ');
    expect(r.stdout).not.toMatch(CONTROL_BUT_NEWLINE);
  });
});

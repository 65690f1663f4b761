// The registry client's pure parts and its credential look-up (with a real credential helper
// script on PATH), and the checks that keep a hostile layer set or cache entry out.

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { KeyDigest, Sha256 } from '../../src/cache/digest.js';
import { keyDigest, LAYER_FORMAT, type LayerKey } from '../../src/cache/key.js';
import { FailureError } from '../../src/failure.js';
import { HANDED_OVER_VAR, takeHandedOverCaCerts } from '../../src/registry/extra-ca.js';
import { Runner } from '../../src/process/run.js';
import {
  cacheEntry,
  cacheTag,
  checkCacheRecord,
  checkLayerSet,
  type LayerSetConfig,
  layerSetManifest,
  MEDIA,
  parseManifest,
} from '../../src/registry/artifacts.js';
import { findCredentials } from '../../src/registry/credentials.js';
import { parseChallenge } from '../../src/registry/http.js';
import { selectLayers } from '../../src/registry/layer-set.js';
import { isLoopback, parseReference } from '../../src/registry/reference.js';
import { tempDir } from '../support/project.js';
import type { Manifest } from '../../src/layer/manifest.js';

const work = tempDir('registry-unit');
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('references', () => {
  it('parse host, repository, tag and digest', () => {
    expect(parseReference('ghcr.io/acme/layers:1.0')).toEqual({ registry: 'ghcr.io', repository: 'acme/layers', tag: '1.0', digest: undefined });
    expect(parseReference('localhost:5000/x')).toEqual({ registry: 'localhost:5000', repository: 'x', tag: undefined, digest: undefined });
    const d = `sha256:${'a'.repeat(64)}`;
    expect(parseReference(`127.0.0.1:5000/a/b@${d}`)).toMatchObject({ registry: '127.0.0.1:5000', repository: 'a/b', digest: d });
  });

  it('refuse a bare name (never Docker Hub by guess), uppercase repositories, bad tags and digests', () => {
    const message = (t: string) => {
      try {
        parseReference(t);
      } catch (err) {
        return (err as FailureError).failure.reason === 'usage' ? (err as Error).message : 'not a usage failure';
      }
      return 'accepted';
    };
    expect(message('acme/layers:1')).toContain('"acme" is not a registry host (write it in full, e.g. ghcr.io/acme/layers:1)');
    expect(message('layers')).toContain('no registry host');
    expect(message('ghcr.io/Acme/layers')).toContain('lowercase');
    expect(message('ghcr.io/acme/layers:-bad')).toContain('not a valid tag');
    expect(message('ghcr.io/acme/layers@sha256:abc')).toContain('not sha256:64 hex digits');
  });

  it('plain HTTP only for loopback', () => {
    expect(['localhost:5000', '127.0.0.1:5000', '127.1.2.3', '[::1]:5000'].map(isLoopback)).toEqual([true, true, true, true]);
    expect(['ghcr.io', '10.0.0.1:5000', 'localhost.example.com'].map(isLoopback)).toEqual([false, false, false]);
  });
});

describe('authentication challenges', () => {
  it('parse Bearer and Basic parameters, quoted or not', () => {
    expect(parseChallenge('Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull,push"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://ghcr.io/token', service: 'ghcr.io', scope: 'repository:a/b:pull,push' },
    });
    expect(parseChallenge('Basic realm=registry')).toEqual({ scheme: 'basic', params: { realm: 'registry' } });
  });
});

describe('credentials', () => {
  const runner = (env: NodeJS.ProcessEnv) => new Runner({ log: { verbose: () => {}, info: () => {} }, dryRun: false, signal: new AbortController().signal, env });

  it('come from REGISTRY_AUTH_FILE first, then DOCKER_CONFIG auths (any key spelling of the host)', async () => {
    const dir = path.join(work, 'auths');
    mkdirSync(dir, { recursive: true });
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ auths: { 'https://r.example:5000/v1/': { auth: b64('docker:pw:with:colons') }, 'other.io': { identitytoken: 'tok' } } }));
    writeFileSync(path.join(dir, 'auth.json'), JSON.stringify({ auths: { 'r.example:5000': { auth: b64('podman:pw2') } } }));
    const env = { DOCKER_CONFIG: dir, PATH: process.env.PATH };
    expect(await findCredentials('r.example:5000', env, runner(env))).toEqual({ kind: 'basic', username: 'docker', password: 'pw:with:colons' });
    expect(await findCredentials('other.io', env, runner(env))).toEqual({ kind: 'identity-token', token: 'tok' });
    expect(await findCredentials('none.io', env, runner(env))).toBeUndefined();
    const env2 = { ...env, REGISTRY_AUTH_FILE: path.join(dir, 'auth.json') };
    expect(await findCredentials('r.example:5000', env2, runner(env2))).toEqual({ kind: 'basic', username: 'podman', password: 'pw2' });
  });

  it('ask credHelpers, then credsStore, through docker-credential-NAME get', { timeout: 30_000 }, async () => {
    const dir = path.join(work, 'helpers');
    const bin = path.join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    // A helper that knows one server per name, and says "not found" (exit 1) for the others.
    const helper = (user: string, server: string) =>
      `#!/bin/sh\n[ "$1" = get ] || exit 2\nread s\nif [ "$s" = "${server}" ]; then printf '{"ServerURL":"%s","Username":"${user}","Secret":"s3cret"}' "$s"; else echo "credentials not found in native keychain"; exit 1; fi\n`;
    writeFileSync(path.join(bin, 'docker-credential-ecr'), helper('AWS', 'ecr.example'), { mode: 0o755 });
    writeFileSync(path.join(bin, 'docker-credential-store'), helper('<token>', 'ghcr.io'), { mode: 0o755 });
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ credHelpers: { 'ecr.example': 'ecr' }, credsStore: 'store', auths: { 'plain.io': { auth: Buffer.from('u:p').toString('base64') } } }));
    const env = { DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH}` };
    expect(await findCredentials('ecr.example', env, runner(env))).toEqual({ kind: 'basic', username: 'AWS', password: 's3cret' });
    expect(await findCredentials('ghcr.io', env, runner(env))).toEqual({ kind: 'identity-token', token: 's3cret' });
    // The store has nothing for it: auths still count.
    expect(await findCredentials('plain.io', env, runner(env))).toEqual({ kind: 'basic', username: 'u', password: 'p' });
  });
});

const SQ = { compression: 'zstd', level: 15, 'block-size': 131072 };

function key(name: string, parent: { name: string; digest: Sha256 } | null): LayerKey {
  return { format: LAYER_FORMAT, recipe: { steps: [{ run: `echo ${name}` }], exclude: [], 'prune-identical': true, squashfs: SQ }, inputs: [], parent, mksquashfs: 'v', sourceDateEpoch: 1 };
}

function layerSet(): LayerSetConfig {
  const b = 'b'.repeat(64) as Sha256;
  const kb = key('base', null);
  const kt = key('top', { name: 'base', digest: b });
  return {
    layers: [
      { name: 'base', parent: null, sha256: b, size: 10, squashfs: SQ, keyDigest: keyDigest(kb), key: kb, builtAt: '2023-11-14T22:13:20.000Z' },
      { name: 'top', parent: 'base', sha256: 'c'.repeat(64) as Sha256, size: 20, squashfs: SQ, keyDigest: keyDigest(kt), key: kt, builtAt: '2023-11-14T22:13:20.000Z' },
    ],
    sqshLayers: ['sqsh_layers=top:base'],
  };
}

describe('layer sets', () => {
  const annotations = { created: '2023-11-14T22:13:20Z' };

  it('are one manifest, base first, titled NAME.sqsh, the same bytes each time', () => {
    const a = layerSetManifest(layerSet(), annotations, false);
    expect(a.manifest.equals(layerSetManifest(layerSet(), annotations, false).manifest)).toBe(true);
    const m = parseManifest(a.manifest, MEDIA.layerSet);
    expect(m.artifactType).toBe(MEDIA.layerSet);
    expect(m.layers.map((l) => l.annotations?.['org.opencontainers.image.title'])).toEqual(['base.sqsh', 'top.sqsh']);
    expect(checkLayerSet(JSON.parse(a.config.toString()) as LayerSetConfig, m).layers).toHaveLength(2);
    // --compat: the empty config, the set's config in an annotation.
    const c = parseManifest(layerSetManifest(layerSet(), annotations, true).manifest, MEDIA.layerSet);
    expect(c.config).toEqual({ mediaType: MEDIA.empty, digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 });
  });

  it('refuse hostile configs: a path for a name or title, a parent after its child, a key that is not its digest', () => {
    const m = parseManifest(layerSetManifest(layerSet(), annotations, false).manifest, MEDIA.layerSet);
    const refused = (edit: (c: LayerSetConfig, mm: typeof m) => void) => {
      const c = layerSet();
      const mm = structuredClone(m);
      edit(c, mm);
      try {
        checkLayerSet(c, mm);
        return 'accepted';
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(refused((c) => (c.layers[1]!.name = '../../etc'))).toBe('"../../etc" is not a layer name');
    expect(refused((_c, mm) => (mm.layers[1]!.annotations = { 'org.opencontainers.image.title': '../top.sqsh' }))).toBe('layer top is titled "../top.sqsh"');
    expect(
      refused((c, mm) => {
        c.layers.reverse();
        mm.layers.reverse();
      }),
    ).toContain('does not come before it');
    expect(refused((c) => (c.layers[0]!.key = key('evil', null)))).toBe('layer base: its key does not match its key digest');
    expect(refused((c) => (c.layers[0]!.size = 11))).toBe('layer base: the config and the manifest name other bytes');
    // A layer made by merge, commit or capture has no key: accepted without one, not with half of one.
    expect(
      refused((c) => {
        delete c.layers[1]!.key;
        delete c.layers[1]!.keyDigest;
      }),
    ).toBe('accepted');
    expect(refused((c) => delete c.layers[1]!.key)).toBe('layer top: its key does not match its key digest');
    expect(() => parseManifest(Buffer.from('{"schemaVersion":2,"config":{},"layers":[]}'), MEDIA.layerSet)).toThrow('not a sqsh-layers artifact');
  });

  it('select LAYER\'s stack, or every layer with parents first', () => {
    const e = (parent: string | null) => ({ parent }) as Manifest['layers'][string];
    const m = { version: 1, layers: { app: e('base'), base: e(null), cfg: e('app'), side: e('base') } } as Manifest;
    expect(selectLayers(m, 'cfg')).toEqual(['base', 'app', 'cfg']);
    expect(selectLayers(m, undefined)).toEqual(['base', 'app', 'cfg', 'side']);
    expect(() => selectLayers(m, 'nope')).toThrow('layer nope is not in layers/manifest.json');
  });
});

describe('cache entries', () => {
  const k = key('base', null);
  const kd = keyDigest(k);
  const record = { keyDigest: kd, key: k, digest: 'd'.repeat(64) as Sha256, size: 42, layer: 'base', createdAt: '2023-11-14T22:13:20.000Z' };

  it('are tagged k-<key digest>, under the 128-character tag limit, with one layer', () => {
    expect(cacheTag(kd)).toBe(`k-${kd}`);
    expect(cacheTag(kd).length).toBeLessThanOrEqual(128);
    const e = cacheEntry(record);
    const m = parseManifest(e.manifest, MEDIA.cache);
    expect(m.artifactType).toBe(MEDIA.cache);
    expect(m.layers).toEqual([{ mediaType: MEDIA.layer, digest: `sha256:${record.digest}`, size: 42, annotations: { 'org.opencontainers.image.title': 'base.sqsh' } }]);
    expect(checkCacheRecord(e.config, m, kd)).toEqual(record);
  });

  it('are not used when their record is for another key or names another layer', () => {
    const e = cacheEntry(record);
    const m = parseManifest(e.manifest, MEDIA.cache);
    expect(() => checkCacheRecord(e.config, m, 'e'.repeat(64) as KeyDigest)).toThrow('its key record is for another key');
    const other = structuredClone(m);
    other.layers[0]!.digest = `sha256:${'f'.repeat(64)}`;
    expect(() => checkCacheRecord(e.config, other, kd)).toThrow('its layer is not the one its key record names');
  });
});

describe('transfer progress', () => {
  it('redraws one line per blob with bytes and rate on a terminal, and says nothing elsewhere', async () => {
    const { transferProgress } = await import('../../src/cli/transfer-progress.js');
    const { PassThrough } = await import('node:stream');
    let text = '';
    const tty = Object.assign(new PassThrough(), { isTTY: true });
    tty.on('data', (c: Buffer) => (text += c.toString()));
    let now = 0;
    const p = transferProgress(tty, false, () => now)!;
    p('base.sqsh', 0, 4 << 20);
    now = 50;
    p('base.sqsh', 1 << 20, 4 << 20); // under 100 ms since the last line: not drawn
    now = 1000;
    p('base.sqsh', 2 << 20, 4 << 20);
    now = 2000;
    p('base.sqsh', 4 << 20, 4 << 20);
    // At most one line every 100 ms (the first at 0 bytes and the one 50 ms later are not drawn); the last always.
    expect(text.split('\r\x1b[K').filter(Boolean)).toEqual([
      '  base.sqsh  2.0 MiB / 4.0 MiB  50%  2.0 MiB/s',
      '  base.sqsh  4.0 MiB / 4.0 MiB  100%  2.0 MiB/s\n',
    ]);
    expect(transferProgress(new PassThrough(), false)).toBeUndefined();
    expect(transferProgress(tty, true)).toBeUndefined();
  });
});

describe('command line', () => {
  it('refuses malformed registry references with exit 2 before anything runs', { timeout: 30_000 }, async () => {
    const { runCli, writeFiles } = await import('../support/project.js');
    const dir = path.join(work, 'cli-project');
    await writeFiles(dir, { 'recipes/base.yaml': 'steps:\n  - run: echo hi\n' });
    const push = await runCli(['push', 'acme/layers:1'], { cwd: dir });
    expect([push.code, push.stderr]).toEqual([
      2,
      'sqsh-layers: error: push reference "acme/layers:1": "acme" is not a registry host (write it in full, e.g. ghcr.io/acme/layers:1) (expected HOST[:PORT]/REPOSITORY[:TAG|@sha256:DIGEST])\n',
    ]);
    const pinned = await runCli(['push', `ghcr.io/acme/layers@sha256:${'a'.repeat(64)}`], { cwd: dir });
    expect(pinned.code).toBe(2);
    expect(pinned.stderr).toContain('push names a tag, not a digest');
    const tagged = await runCli(['plan', '--cache-from', 'ghcr.io/acme/cache:latest'], { cwd: dir });
    expect([tagged.code, tagged.stderr]).toEqual([
      2,
      'sqsh-layers: error: --cache-from "ghcr.io/acme/cache:latest" names a repository, without :TAG or @DIGEST (the cache tags each entry itself, k-KEY)\n',
    ]);
    const build = await runCli(['build', '--cache-to', 'cache'], { cwd: dir });
    expect(build.code).toBe(2);
    expect(build.stderr).toContain('--cache-to "cache": no registry host');
  });
});

describe('NODE_EXTRA_CA_CERTS handed over by the #! line', () => {
  it('is put back for the programs the command runs, and the hand-over variable is gone', () => {
    const handed: NodeJS.ProcessEnv = { PATH: '/bin', [HANDED_OVER_VAR]: '/etc/ca.pem' };
    takeHandedOverCaCerts(handed);
    expect(handed).toEqual({ PATH: '/bin', NODE_EXTRA_CA_CERTS: '/etc/ca.pem' });
    // Empty: the variable was not set, and stays unset.
    const unset: NodeJS.ProcessEnv = { [HANDED_OVER_VAR]: '' };
    takeHandedOverCaCerts(unset);
    expect(unset).toEqual({});
    // node was started with the variable (not through the #! line): it read the file itself.
    const both: NodeJS.ProcessEnv = { NODE_EXTRA_CA_CERTS: '/a.pem', [HANDED_OVER_VAR]: '/b.pem' };
    takeHandedOverCaCerts(both);
    expect(both).toEqual({ NODE_EXTRA_CA_CERTS: '/a.pem' });
    // Started as `node dist/cli.js`: nothing to do.
    const plain: NodeJS.ProcessEnv = { NODE_EXTRA_CA_CERTS: '/a.pem' };
    takeHandedOverCaCerts(plain);
    expect(plain).toEqual({ NODE_EXTRA_CA_CERTS: '/a.pem' });
  });
});

// push, pull and the remote cache against a real registry (Debian's docker-registry) that
// each test starts on loopback and stops: once with htpasswd Basic auth and credentials in a
// DOCKER_CONFIG dir, once behind a token server. What the registry holds is read back with
// skopeo, the other client of the same API.

import { createHash } from 'node:crypto';
import { existsSync, promises as fs, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { execCli, spawnCli, exitOf, writeFiles, type CliResult } from '../support/project.js';
import { busyboxTree, stateEnv } from '../support/rootfs.js';
import { cacheProblems, leftoverCheckedDirs, sha256, tempFilesIn } from '../support/leftovers.js';
import { createServer, request as httpRequest } from 'node:http';
import { Runner } from '../../src/process/run.js';
import { Registries } from '../../src/registry/open.js';
import { parseReference } from '../../src/registry/reference.js';
import { blobFile, PASSWORD, skopeoRaw, startRegistry, type TestRegistry, USER } from '../support/registry.js';

const EPOCH = '1700000000';
const newDir = leftoverCheckedDirs();

const COUNT_HOOK = { text: '#!/bin/sh\necho "$SQSH_LAYER" >> "$SQSH_PROJECT/counts.log"\n', mode: 0o755 };

/** base (busybox) ← mid ← top; every layer runs hooks/count.sh, so counts() tells which layers were built. */
async function stackProject(dir: string, extra: Record<string, string | { text: string; mode: number }> = {}): Promise<void> {
  await busyboxTree(path.join(dir, 'rootfs'));
  await writeFiles(dir, {
    'hooks/count.sh': COUNT_HOOK,
    'files/mid.txt': 'mid v1\n',
    'recipes/base.yaml': 'steps:\n  - copy: rootfs/\n  - host: hooks/count.sh\n',
    'recipes/mid.yaml': 'parent: base\nsteps:\n  - copy: files/mid.txt\n    to: /etc/\n  - host: hooks/count.sh\n',
    'recipes/top.yaml': 'parent: mid\nsteps:\n  - host: hooks/count.sh\n  - run: echo top > /top\n',
    ...extra,
  });
}

function cli(dir: string, args: string[], reg: TestRegistry, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return execCli(args, { cwd: dir, env: { ...stateEnv(dir), SOURCE_DATE_EPOCH: EPOCH, DOCKER_CONFIG: reg.dockerConfig, ...env } });
}

function counts(dir: string): Record<string, number> {
  const file = path.join(dir, 'counts.log');
  const out: Record<string, number> = {};
  if (!existsSync(file)) return out;
  for (const l of readFileSync(file, 'utf8').split('\n').filter(Boolean)) out[l] = (out[l] ?? 0) + 1;
  return out;
}

interface ManifestLayer {
  sha256: string;
  size: number;
  keyDigest: string;
  parent: string | null;
}

function manifest(dir: string): Record<string, ManifestLayer> {
  return (JSON.parse(readFileSync(path.join(dir, 'layers/manifest.json'), 'utf8')) as { layers: Record<string, ManifestLayer> }).layers;
}

function layerBytes(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(path.join(dir, 'layers'))
      .filter((n) => n.endsWith('.sqsh'))
      .map((n) => [n, sha256(path.join(dir, 'layers', n))]),
  );
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}
interface OciManifest {
  schemaVersion: number;
  mediaType: string;
  artifactType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

async function withRegistry(dir: string, auth: 'basic' | 'token', fn: (reg: TestRegistry) => Promise<void>, o: { tls?: boolean } = {}): Promise<void> {
  const reg = await startRegistry(dir, auth, o);
  try {
    await fn(reg);
  } finally {
    await reg.stop();
  }
}

describe.each(['basic', 'token'] as const)('registry with %s auth', (auth) => {
  it('push: skopeo reads the layer set; pull into a fresh project gives the same bytes; an altered blob is refused and nothing is written', { timeout: 600_000 }, async () => {
    const work = newDir(`reg-${auth}`);
    await withRegistry(work, auth, async (reg) => {
      const p1 = path.join(work, 'p1');
      await stackProject(p1);
      const built = await cli(p1, ['build'], reg);
      expect(built.code, built.stderr).toBe(0);
      const m1 = manifest(p1);

      const ref = `${reg.host}/sets/demo:v1`;
      // --dry-run: look-ups only.
      const dry = await cli(p1, ['--json', '--dry-run', 'push', ref], reg);
      expect(dry.code, dry.stderr).toBe(0);
      expect((JSON.parse(dry.stdout) as { layers: { blob: string }[] }).layers.map((l) => l.blob)).toEqual(['would upload', 'would upload', 'would upload']);
      expect(existsSync(path.join(reg.storage, 'docker/registry/v2/blobs'))).toBe(false);

      const pushed = await cli(p1, ['--json', 'push', ref], reg);
      expect(pushed.code, pushed.stderr).toBe(0);
      const pj = JSON.parse(pushed.stdout) as { digest: string; layers: { name: string; blob: string }[] };
      expect(pj.layers.map((l) => [l.name, l.blob])).toEqual([
        ['base', 'uploaded'],
        ['mid', 'uploaded'],
        ['top', 'uploaded'],
      ]);
      if (auth === 'token') expect(reg.tokenRequests()).toBeGreaterThan(0);

      const raw = await skopeoRaw(reg, ref);
      expect(`sha256:${createHash('sha256').update(raw).digest('hex')}`).toBe(pj.digest);
      const m = JSON.parse(raw) as OciManifest;
      expect(m.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
      expect(m.artifactType).toBe('application/vnd.sqsh-layers.layerset.v1');
      expect(m.config.mediaType).toBe('application/vnd.sqsh-layers.layerset.config.v1+json');
      expect(m.annotations?.['org.opencontainers.image.created']).toBe(new Date(Number(EPOCH) * 1000).toISOString().replace('.000Z', 'Z'));
      // Base first, each blob the built file, titled NAME.sqsh.
      expect(m.layers).toEqual(
        ['base', 'mid', 'top'].map((n) => ({
          mediaType: 'application/vnd.sqsh-layers.layer.v1.squashfs',
          digest: `sha256:${m1[n]!.sha256}`,
          size: m1[n]!.size,
          annotations: { 'org.opencontainers.image.title': `${n}.sqsh` },
        })),
      );
      const config = JSON.parse(readFileSync(blobFile(reg.storage, m.config.digest), 'utf8')) as { layers: { name: string; parent: string | null }[]; sqshLayers: string[] };
      expect(config.layers.map((l) => [l.name, l.parent])).toEqual([
        ['base', null],
        ['mid', 'base'],
        ['top', 'mid'],
      ]);
      expect(config.sqshLayers).toEqual(['sqsh_layers=top:mid:base']);

      // Pushing the same layers again: same manifest digest (created comes from SOURCE_DATE_EPOCH), blobs not sent again.
      const again = await cli(p1, ['--json', 'push', ref], reg);
      expect(again.code, again.stderr).toBe(0);
      const aj = JSON.parse(again.stdout) as { digest: string; layers: { blob: string }[] };
      expect(aj.digest).toBe(pj.digest);
      expect(aj.layers.map((l) => l.blob)).toEqual(['exists', 'exists', 'exists']);

      // A fresh project: bit-identical layers and a manifest naming them.
      const p2 = path.join(work, 'p2');
      await fs.mkdir(p2);
      const pulled = await cli(p2, ['pull', ref], reg);
      expect(pulled.code, pulled.stderr).toBe(0);
      expect(pulled.stdout).toContain('sqsh_layers=top:mid:base');
      expect(layerBytes(p2)).toEqual(layerBytes(p1));
      const m2 = manifest(p2);
      for (const n of ['base', 'mid', 'top']) expect(m2[n]).toMatchObject({ sha256: m1[n]!.sha256, size: m1[n]!.size, parent: m1[n]!.parent, keyDigest: m1[n]!.keyDigest });

      const dryPull = path.join(work, 'dry-pull');
      await fs.mkdir(dryPull);
      const dp = await cli(dryPull, ['--dry-run', 'pull', ref], reg);
      expect(dp.code, dp.stderr).toBe(0);
      expect(dp.stdout).toContain('would pull 3 layer(s) (nothing was written)');
      expect(readdirSync(dryPull)).toEqual([]);

      // By digest, too.
      const p2b = path.join(work, 'p2b');
      await fs.mkdir(p2b);
      const byDigest = await cli(p2b, ['--json', 'pull', `${reg.host}/sets/demo@${pj.digest}`], reg);
      expect(byDigest.code, byDigest.stderr).toBe(0);
      expect(layerBytes(p2b)).toEqual(layerBytes(p1));

      // One byte of mid's blob changed in the registry's storage (same size): refused, nothing written.
      const blob = blobFile(reg.storage, `sha256:${m1.mid!.sha256}`);
      const bytes = readFileSync(blob);
      bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
      writeFileSync(blob, bytes);
      const p3 = path.join(work, 'p3');
      await fs.mkdir(p3);
      const refused = await cli(p3, ['pull', ref], reg);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`blob sha256:${m1.mid!.sha256} of sets/demo does not have the bytes its manifest names`);
      expect(readdirSync(path.join(p3, 'layers'))).toEqual([]);
      // A project that had the layers keeps them as they were.
      const p2Before = layerBytes(p2);
      await fs.rm(path.join(p2, 'layers/mid.sqsh'));
      const p2Refused = await cli(p2, ['pull', ref], reg);
      expect(p2Refused.code).toBe(1);
      expect(tempFilesIn(path.join(p2, 'layers'))).toEqual([]);
      expect(existsSync(path.join(p2, 'layers/mid.sqsh'))).toBe(false);
      expect(layerBytes(p2)).toEqual(Object.fromEntries(Object.entries(p2Before).filter(([n]) => n !== 'mid.sqsh')));
    });
  });

  it('the remote cache: a second project in another directory with an empty local cache builds with --cache-from and runs no step', { timeout: 600_000 }, async () => {
    const work = newDir(`regcache-${auth}`);
    await withRegistry(work, auth, async (reg) => {
      const cache = `${reg.host}/layers-cache`;
      const p1 = path.join(work, 'first');
      await stackProject(p1);
      const first = await cli(p1, ['build', '--cache-to', cache], reg);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stderr).not.toContain('warning');
      expect(counts(p1)).toEqual({ base: 1, mid: 1, top: 1 });
      const m1 = manifest(p1);
      // One entry per key, tagged k-<key digest>, holding exactly the layer.
      const entry = JSON.parse(await skopeoRaw(reg, `${cache}:k-${m1.mid!.keyDigest}`)) as OciManifest;
      expect(entry.artifactType).toBe('application/vnd.sqsh-layers.cache.v1');
      expect(entry.layers).toEqual([
        {
          mediaType: 'application/vnd.sqsh-layers.layer.v1.squashfs',
          digest: `sha256:${m1.mid!.sha256}`,
          size: m1.mid!.size,
          annotations: { 'org.opencontainers.image.title': 'mid.sqsh' },
        },
      ]);

      // Publishing what the cache holds: the layer blobs are mounted from the cache repository, not uploaded again.
      await writeFiles(p1, { 'sqsh-layers.yaml': `cache-to: ${cache}\n` });
      const published = await cli(p1, ['--json', 'push', `${reg.host}/sets/published:1`], reg);
      expect(published.code, published.stderr).toBe(0);
      expect((JSON.parse(published.stdout) as { layers: { blob: string }[] }).layers.map((l) => l.blob)).toEqual(['mounted', 'mounted', 'mounted']);

      // Same recipes and inputs, another directory (another absolute path), nothing cached locally.
      const p2 = path.join(work, 'elsewhere', 'second');
      await stackProject(p2);
      const plan = await cli(p2, ['plan', '--cache-from', cache], reg);
      expect(plan.code, plan.stderr).toBe(0);
      for (const n of ['base', 'mid', 'top']) expect(plan.stdout).toMatch(new RegExp(`^  ${n} +cached .*\\(remote cache ${cache}\\)$`, 'm'));
      const plainPlan = await cli(p2, ['plan'], reg);
      expect(plainPlan.stdout).toContain('3 to build');

      const second = await cli(p2, ['build', '--cache-from', cache], reg);
      expect(second.code, second.stderr).toBe(0);
      expect(second.stderr).not.toContain('warning');
      expect(counts(p2)).toEqual({});
      expect(second.stdout).toContain('3 layer(s) ready in layers/ (0 built, 3 cached');
      expect(layerBytes(p2)).toEqual(layerBytes(p1));
      expect(cacheProblems(path.join(p2, '.sqsh-cache'))).toEqual([]);
      // Now local: a rebuild asks nothing of the registry and stays cached.
      const third = await cli(p2, ['build'], reg);
      expect(third.code, third.stderr).toBe(0);
      expect(counts(p2)).toEqual({});
    });
  });
});

describe('a registry over HTTPS with a private CA', () => {
  it('the installed command reads NODE_EXTRA_CA_CERTS only when TLS is needed: push and pull work, the programs a build runs see the variable, and without it the certificate is refused with a hint', { timeout: 600_000 }, async () => {
    const work = newDir('reg-tls');
    await withRegistry(
      work,
      'basic',
      async (reg) => {
        const ca = reg.ca!;
        const p1 = path.join(work, 'p1');
        await stackProject(p1, {
          'hooks/env.sh': { text: '#!/bin/sh\nenv > "$SQSH_PROJECT/env-seen.txt"\n', mode: 0o755 },
          'recipes/top.yaml': 'parent: mid\nsteps:\n  - host: hooks/env.sh\n',
        });
        // As installed: through the #! line, which starts node without the variable.
        const installed = (dir: string, args: string[], extra: NodeJS.ProcessEnv) =>
          execCli(args, { cwd: dir, installed: true, env: { ...stateEnv(dir), SOURCE_DATE_EPOCH: EPOCH, DOCKER_CONFIG: reg.dockerConfig, NODE_EXTRA_CA_CERTS: undefined, ...extra } });

        const built = await installed(p1, ['build'], { NODE_EXTRA_CA_CERTS: ca });
        expect(built.code, built.stderr).toBe(0);
        // The variable is back for the programs the build runs, and the hand-over is gone.
        const seen = readFileSync(path.join(p1, 'env-seen.txt'), 'utf8').split('\n');
        expect(seen).toContain(`NODE_EXTRA_CA_CERTS=${ca}`);
        expect(seen.filter((l) => l.startsWith('SQSH_LAYERS_EXTRA_CA_CERTS'))).toEqual([]);
        // Unset, it stays unset.
        const unset = await installed(p1, ['build', '--force', 'top'], {});
        expect(unset.code, unset.stderr).toBe(0);
        expect(readFileSync(path.join(p1, 'env-seen.txt'), 'utf8').split('\n').filter((l) => /EXTRA_CA_CERTS/.test(l))).toEqual([]);

        // node does not read the file at start: a missing one, which node warns about when it
        // reads it, gives no warning to a build (no TLS)...
        const missingCa = path.join(work, 'no-such-ca.crt');
        const notRead = await installed(p1, ['build'], { NODE_EXTRA_CA_CERTS: missingCa });
        expect(notRead.code, notRead.stderr).toBe(0);
        expect(notRead.stderr).not.toContain('Ignoring extra certs');
        // ...while `node dist/cli.js` reads it at once.
        const nodeReads = await execCli(['build'], { cwd: p1, env: { ...stateEnv(p1), SOURCE_DATE_EPOCH: EPOCH, NODE_EXTRA_CA_CERTS: missingCa } });
        expect(nodeReads.code, nodeReads.stderr).toBe(0);
        expect(nodeReads.stderr).toContain(`Ignoring extra certs from \`${missingCa}\``);

        const ref = `${reg.host}/sets/tls:1`;
        // Without the CA: the certificate is refused, and the hint names the variable.
        const refused = await installed(p1, ['push', ref], {});
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain(`registry ${reg.host}: HEAD /v2/sets/tls/blobs/sha256:`);
        expect(refused.stderr).toContain("unable to verify the first certificate");
        expect(refused.stderr).toContain("name the CA's certificate file in NODE_EXTRA_CA_CERTS");
        // A file that cannot be read: node's own warning, and the same refusal.
        const missing = await installed(p1, ['push', ref], { NODE_EXTRA_CA_CERTS: missingCa });
        expect(missing.code).toBe(1);
        expect(missing.stderr).toContain(`Warning: Ignoring extra certs from \`${missingCa}\`, load failed:`);
        expect(existsSync(path.join(reg.storage, 'docker/registry/v2/blobs'))).toBe(false);

        const pushed = await installed(p1, ['--json', 'push', ref], { NODE_EXTRA_CA_CERTS: ca });
        expect(pushed.code, pushed.stderr).toBe(0);
        const digest = (JSON.parse(pushed.stdout) as { digest: string }).digest;
        expect(`sha256:${createHash('sha256').update(await skopeoRaw(reg, ref)).digest('hex')}`).toBe(digest);

        // Pulled as installed, and by `node dist/cli.js` (node reads the variable itself): the same bytes.
        for (const [name, run] of [
          ['installed', (dir: string) => installed(dir, ['pull', ref], { NODE_EXTRA_CA_CERTS: ca })],
          ['node', (dir: string) => execCli(['pull', ref], { cwd: dir, env: { ...stateEnv(dir), DOCKER_CONFIG: reg.dockerConfig, NODE_EXTRA_CA_CERTS: ca } })],
        ] as const) {
          const dir = path.join(work, `pull-${name}`);
          await fs.mkdir(dir);
          const pulled = await run(dir);
          expect(pulled.code, pulled.stderr).toBe(0);
          expect(layerBytes(dir)).toEqual(layerBytes(p1));
        }
      },
      { tls: true },
    );
  });
});

describe('registry failures', () => {
  it('a registry stopped mid-build gives one warning and a local build', { timeout: 600_000 }, async () => {
    const work = newDir('reg-down');
    const reg = await startRegistry(work, 'basic');
    try {
      const dir = path.join(work, 'p');
      // mid's hook asks the test to stop the registry, and waits until it is gone.
      const STOP_HOOK = {
        text: '#!/bin/sh\necho "$SQSH_LAYER" >> "$SQSH_PROJECT/counts.log"\ntouch "$SQSH_PROJECT/stop-registry"\nwhile [ ! -e "$SQSH_PROJECT/registry-stopped" ]; do sleep 0.1; done\n',
        mode: 0o755,
      };
      await stackProject(dir, {
        'hooks/stop.sh': STOP_HOOK,
        'recipes/mid.yaml': 'parent: base\nsteps:\n  - copy: files/mid.txt\n    to: /etc/\n  - host: hooks/stop.sh\n',
      });
      const cache = `${reg.host}/layers-cache`;
      const child = spawnCli(['build', '--cache-from', cache, '--cache-to', cache], {
        cwd: dir,
        env: { ...stateEnv(dir), SOURCE_DATE_EPOCH: EPOCH, DOCKER_CONFIG: reg.dockerConfig },
      });
      while (!existsSync(path.join(dir, 'stop-registry')) && child.exitCode === null) await sleep(50);
      await reg.kill();
      writeFileSync(path.join(dir, 'registry-stopped'), '');
      const code = await exitOf(child);
      const out = child.output();
      expect(code, out).toBe(0);
      expect(counts(dir)).toEqual({ base: 1, mid: 1, top: 1 });
      const warnings = out.split('\n').filter((l) => l.includes('remote cache'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`remote cache ${cache} unusable`);
      expect(warnings[0]).toContain('going on with the local cache only');
      for (const [n, l] of Object.entries(manifest(dir))) expect(sha256(path.join(dir, 'layers', `${n}.sqsh`)), n).toBe(l.sha256);
    } finally {
      await reg.stop();
    }
  });

  it('uploads in chunks when the registry asks (OCI-Chunk-Min-Length), and retries a 503 and a dropped connection', { timeout: 600_000 }, async () => {
    const work = newDir('reg-chunks');
    await withRegistry(work, 'basic', async (reg) => {
      const dir = path.join(work, 'p');
      await stackProject(dir);
      expect((await cli(dir, ['build'], reg)).code).toBe(0);
      // A proxy in front of the registry: it asks for 64 KiB chunks, answers the first blob
      // HEAD with 503 and drops the connection of the first blob GET.
      const [regHost, regPort] = reg.host.split(':') as [string, string];
      const seen: string[] = [];
      let failedHead = false;
      let droppedGet = false;
      const proxy = createServer((req, res) => {
        const blob = /\/blobs\/sha256:/.test(req.url ?? '');
        seen.push(`${req.method} ${blob ? 'blob' : (req.url ?? '').replace(/\?.*$/, '')}`);
        if (req.method === 'HEAD' && blob && !failedHead) {
          failedHead = true;
          res.writeHead(503).end();
          return;
        }
        if (req.method === 'GET' && blob && !droppedGet) {
          droppedGet = true;
          req.socket.destroy();
          return;
        }
        const up = httpRequest({ host: regHost, port: Number(regPort), method: req.method, path: req.url, headers: req.headers }, (ur) => {
          const headers = { ...ur.headers };
          if (req.method === 'POST' && (req.url ?? '').includes('/blobs/uploads/')) headers['oci-chunk-min-length'] = '65536';
          res.writeHead(ur.statusCode ?? 502, headers);
          ur.pipe(res);
        });
        up.on('error', () => res.destroy());
        req.pipe(up);
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      const proxyHost = `127.0.0.1:${(proxy.address() as { port: number }).port}`;
      try {
        const dockerConfig = path.join(work, 'proxy-docker-config');
        await writeFiles(dockerConfig, { 'config.json': JSON.stringify({ auths: { [proxyHost]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }) });
        const env = { DOCKER_CONFIG: dockerConfig };
        const pushed = await cli(dir, ['--json', 'push', `${proxyHost}/sets/chunked:1`], reg, env);
        expect(pushed.code, pushed.stderr).toBe(0);
        const patches = seen.filter((l) => l.startsWith('PATCH')).length;
        // Blobs bigger than a chunk go up in chunks; smaller ones (and the config) in one PUT.
        const big = Object.values(manifest(dir)).filter((l) => l.size > 65536);
        expect(big.length).toBeGreaterThan(0);
        expect(patches).toBe(big.reduce((n, l) => n + Math.ceil(l.size / 65536), 0));
        expect(failedHead).toBe(true);
        const into = path.join(work, 'q');
        await fs.mkdir(into);
        const pulled = await cli(into, ['pull', `${proxyHost}/sets/chunked:1`], reg, env);
        expect(pulled.code, pulled.stderr).toBe(0);
        expect(droppedGet).toBe(true);
        expect(layerBytes(into)).toEqual(layerBytes(dir));
      } finally {
        await new Promise<void>((resolve) => proxy.close(() => resolve()));
      }
    });
  });

  it('hostile registry content: a layer titled with a path is refused by pull; a cache tag holding another key\'s entry is not used', { timeout: 600_000 }, async () => {
    const work = newDir('reg-hostile');
    await withRegistry(work, 'basic', async (reg) => {
      const p1 = path.join(work, 'p1');
      await stackProject(p1);
      const cache = `${reg.host}/layers-cache`;
      expect((await cli(p1, ['build', '--cache-to', cache], reg)).code).toBe(0);
      expect((await cli(p1, ['push', `${reg.host}/sets/demo:v1`], reg)).code).toBe(0);
      const env = { DOCKER_CONFIG: reg.dockerConfig, PATH: process.env.PATH };
      const signal = new AbortController().signal;
      const registries = new Registries({ env, runner: new Runner({ log: { verbose: () => {}, info: () => {} }, dryRun: false, signal, env }), signal, insecure: false });
      const accept = 'application/vnd.oci.image.manifest.v1+json';

      // The published set with mid's title turned into a path out of layers/.
      const sets = registries.repository(parseReference(`${reg.host}/sets/demo:v1`));
      const m = JSON.parse((await sets.getManifest('v1', accept)).bytes.toString()) as OciManifest;
      m.layers[1]!.annotations = { 'org.opencontainers.image.title': '../../../escape.sqsh' };
      await sets.putManifest('evil', Buffer.from(JSON.stringify(m)), accept);
      const p2 = path.join(work, 'p2', 'deep', 'dir');
      await fs.mkdir(p2, { recursive: true });
      const refused = await cli(p2, ['pull', `${reg.host}/sets/demo:evil`], reg);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('layer mid is titled "../../../escape.sqsh": refused, nothing written');
      expect(existsSync(path.join(p2, 'layers'))).toBe(false);
      expect(readdirSync(path.join(work, 'p2'))).toEqual(['deep']);

      // mid's cache tag now holds base's entry (a record for another key): not used, mid is built.
      const m1 = manifest(p1);
      const caches = registries.repository(parseReference(cache));
      const baseEntry = await caches.getManifest(`k-${m1.base!.keyDigest}`, accept);
      await caches.putManifest(`k-${m1.mid!.keyDigest}`, baseEntry.bytes, accept);
      const p3 = path.join(work, 'p3');
      await stackProject(p3);
      const r = await cli(p3, ['build', '--cache-from', cache], reg);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`warning: remote cache ${cache}: entry k-${m1.mid!.keyDigest} is not valid (its key record is for another key); not used`);
      expect(r.stderr.split('\n').filter((l) => l.includes('is not valid'))).toHaveLength(1);
      expect(counts(p3)).toEqual({ mid: 1 });
      expect(layerBytes(p3)).toEqual(layerBytes(p1));
      // A build that exports to the cache replaces the invalid entry with mid's own.
      const p4 = path.join(work, 'p4');
      await stackProject(p4);
      const fix = await cli(p4, ['build', '--cache-from', cache, '--cache-to', cache], reg);
      expect(fix.code, fix.stderr).toBe(0);
      expect(counts(p4)).toEqual({ mid: 1 });
      const fixed = JSON.parse((await caches.getManifest(`k-${m1.mid!.keyDigest}`, accept)).bytes.toString()) as OciManifest;
      expect(fixed.layers.map((l) => l.digest)).toEqual([`sha256:${m1.mid!.sha256}`]);
    });
  });

  it('a registry that is not there: build warns once and builds; push and pull fail with exit 1 and say why', async () => {
    const work = newDir('reg-none');
    const dir = path.join(work, 'p');
    await stackProject(dir);
    const env = { ...stateEnv(dir), SOURCE_DATE_EPOCH: EPOCH };
    // A port nothing listens on (taken and released).
    const { freePort } = await import('../support/registry.js');
    const host = `127.0.0.1:${await freePort()}`;
    const r = await execCli(['build', '--cache-from', `${host}/c`, '--cache-to', `${host}/c`], { cwd: dir, env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.split('\n').filter((l) => l.includes('remote cache'))).toEqual([
      `warning: remote cache ${host}/c unusable (registry ${host}: HEAD /v2/c/manifests/k-${manifest(dir).base!.keyDigest}: connection refused (is the registry running?)); going on with the local cache only`,
    ]);
    const push = await execCli(['push', `${host}/sets/x:1`], { cwd: dir, env });
    expect(push.code).toBe(1);
    expect(push.stderr).toContain('connection refused');
    const pull = await execCli(['pull', `${host}/sets/x:1`], { cwd: dir, env });
    expect(pull.code).toBe(1);
  });

  it('push without credentials is refused with a hint to log in', async () => {
    const work = newDir('reg-noauth');
    await withRegistry(work, 'basic', async (reg) => {
      const dir = path.join(work, 'p');
      await stackProject(dir);
      expect((await cli(dir, ['build'], reg)).code).toBe(0);
      const r = await cli(dir, ['push', `${reg.host}/sets/x:1`], reg, { DOCKER_CONFIG: path.join(work, 'no-docker-config') });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('the registry asks for a user name and password, and none is configured for it');
      expect(r.stderr).toContain(`hint: log in first (docker login ${reg.host}`);
    });
  });
});

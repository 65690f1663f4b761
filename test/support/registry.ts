// A real registry for tests: Debian's docker-registry (distribution 2.8) on a free loopback
// port with its storage in a temp dir, started and stopped by pid. Either with htpasswd
// Basic auth (credentials in a DOCKER_CONFIG dir), or behind a token server this module
// runs in the test process (a JWT signed by a test-made key whose certificate the registry
// trusts, per distribution's token auth).

import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { createSign, randomBytes, X509Certificate } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireTools } from './tools.js';

export const USER = 'layers-ci';
export const PASSWORD = 'ci-secret-passw0rd';

export interface TestRegistry {
  /** host:port */
  host: string;
  /** Where the registry keeps blobs and manifests. */
  storage: string;
  /** A DOCKER_CONFIG dir holding the credentials. */
  dockerConfig: string;
  /** Token requests answered (token mode). */
  tokenRequests: () => number;
  stop(): Promise<void>;
  /** Stops the registry process only (the test of a registry that goes away mid-build). */
  kill(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitUntilUp(url: string, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}): ${log()}`);
    try {
      const r = await fetch(url);
      if (r.status === 200 || r.status === 401) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`docker-registry did not come up at ${url}: ${log()}`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  });
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** A token server: checks Basic credentials and hands out RS256 JWTs for the scopes asked. */
async function tokenServer(dir: string, issuer: string, service: string): Promise<{ server: Server; port: number; cert: string; count: () => number }> {
  const key = path.join(dir, 'token.key');
  const cert = path.join(dir, 'token.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=sqsh-layers-test-token'], {
    stdio: 'ignore',
  });
  const keyPem = readFileSync(key, 'utf8');
  const der = new X509Certificate(readFileSync(cert)).raw;
  let count = 0;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const auth = req.headers.authorization ?? '';
    const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
    if (url.pathname !== '/token' || auth !== expected) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
      return;
    }
    count++;
    const access = url.searchParams.getAll('scope').flatMap((s) => {
      const [type, name, actions] = s.split(':');
      return type && name && actions ? [{ type, name, actions: actions.split(',') }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', x5c: [der.toString('base64')] };
    const claims = { iss: issuer, sub: USER, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = createSign('RSA-SHA256').update(input).sign(keyPem);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${input}.${b64url(sig)}`, expires_in: 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, cert, count: () => count };
}

/** Starts a registry in `dir` (a test temp dir) with Basic or token auth. */
export async function startRegistry(dir: string, auth: 'basic' | 'token'): Promise<TestRegistry> {
  requireTools({ 'docker-registry': 'docker-registry', htpasswd: 'apache2-utils', openssl: 'openssl', skopeo: 'skopeo' });
  const storage = path.join(dir, 'registry-storage');
  await fs.mkdir(storage, { recursive: true });
  const port = await freePort();
  let authYaml: string;
  let token: Awaited<ReturnType<typeof tokenServer>> | undefined;
  if (auth === 'basic') {
    const htpasswd = path.join(dir, 'htpasswd');
    execFileSync('htpasswd', ['-Bbc', htpasswd, USER, PASSWORD], { stdio: 'ignore' });
    authYaml = `auth:\n  htpasswd:\n    realm: sqsh-layers-test\n    path: ${htpasswd}\n`;
  } else {
    token = await tokenServer(dir, 'sqsh-layers-test-issuer', 'sqsh-layers-test-registry');
    authYaml =
      `auth:\n  token:\n    realm: http://127.0.0.1:${token.port}/token\n    service: sqsh-layers-test-registry\n` +
      `    issuer: sqsh-layers-test-issuer\n    rootcertbundle: ${token.cert}\n`;
  }
  const config = path.join(dir, 'registry.yml');
  await fs.writeFile(
    config,
    `version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\n  delete:\n    enabled: true\n` +
      `http:\n  addr: 127.0.0.1:${port}\n  secret: ${randomBytes(16).toString('hex')}\n${authYaml}`,
  );
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
  const host = `127.0.0.1:${port}`;
  try {
    await waitUntilUp(`http://${host}/v2/`, child, () => log);
  } catch (err) {
    await stopChild(child);
    token?.server.close();
    throw err;
  }
  const dockerConfig = path.join(dir, 'docker-config');
  await fs.mkdir(dockerConfig, { recursive: true });
  await fs.writeFile(path.join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }));
  return {
    host,
    storage,
    dockerConfig,
    tokenRequests: () => token?.count() ?? 0,
    kill: () => stopChild(child),
    async stop() {
      await stopChild(child);
      if (token) await new Promise<void>((resolve) => token.server.close(() => resolve()));
    },
  };
}

/** The file holding a blob in the registry's storage (distribution's filesystem layout). */
export function blobFile(storage: string, digest: string): string {
  const hex = digest.replace(/^sha256:/, '');
  return path.join(storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
}

/** skopeo inspect --raw of a reference, with the test registry's credentials (async: the token server runs in this process). */
export function skopeoRaw(reg: TestRegistry, ref: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('skopeo', ['inspect', '--raw', '--tls-verify=false', '--creds', `${USER}:${PASSWORD}`, `docker://${ref}`], { encoding: 'utf8' }, (err, stdout, stderr) =>
      err ? reject(new Error(`skopeo inspect ${ref}: ${stderr}`)) : resolve(stdout),
    );
  });
}

// A real registry for tests: Debian's docker-registry (distribution 2.8) on a free loopback
// port with its storage in a temp dir, started and stopped by pid. Either with htpasswd
// Basic auth (credentials in a DOCKER_CONFIG dir), or behind a token server this module
// runs in the test process (a JWT signed by a test-made key whose certificate the registry
// trusts, per distribution's token auth). With `tls`, it serves HTTPS with a certificate from
// a test-made CA, on this machine's own non-loopback address (the tool speaks plain HTTP to
// loopback).

import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { createSign, randomBytes, X509Certificate } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { networkInterfaces } from 'node:os';
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
  /** The CA certificate file (PEM) the registry's certificate comes from (tls mode). */
  ca: string | undefined;
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

/** The status of a GET of `url` (HTTPS trusting `ca`). */
function statusOf(url: string, ca: string | undefined): Promise<number> {
  if (!ca) return fetch(url).then((r) => r.status);
  return new Promise((resolve, reject) => {
    httpsGet(url, { ca: readFileSync(ca) }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

async function waitUntilUp(url: string, ca: string | undefined, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}): ${log()}`);
    try {
      const status = await statusOf(url, ca);
      if (status === 200 || status === 401) return;
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

/** This machine's first non-loopback IPv4 address. */
function ownAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  throw new Error('this machine has no non-loopback IPv4 address: the TLS registry needs one (the tool speaks plain HTTP to loopback)');
}

/** A CA, and a server certificate from it for `ip`: { ca, cert, key } files in `dir`. */
function makeCertificates(dir: string, ip: string): { ca: string; cert: string; key: string } {
  const f = (n: string) => path.join(dir, n);
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=sqsh-layers test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('tls.key'), '-out', f('tls.csr'), '-subj', `/CN=${ip}`]);
  execFileSync('sh', ['-c', `printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$1" > "$2"`, 'sh', ip, f('tls.ext')]);
  openssl(['x509', '-req', '-in', f('tls.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('tls.crt'), '-days', '2', '-extfile', f('tls.ext')]);
  return { ca: f('ca.crt'), cert: f('tls.crt'), key: f('tls.key') };
}

/** Starts a registry in `dir` (a test temp dir) with Basic or token auth, over HTTPS with `tls`. */
export async function startRegistry(dir: string, auth: 'basic' | 'token', o: { tls?: boolean } = {}): Promise<TestRegistry> {
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
  const ip = o.tls ? ownAddress() : '127.0.0.1';
  const certs = o.tls ? makeCertificates(dir, ip) : undefined;
  const tlsYaml = certs ? `  tls:\n    certificate: ${certs.cert}\n    key: ${certs.key}\n` : '';
  const config = path.join(dir, 'registry.yml');
  await fs.writeFile(
    config,
    `version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\n  delete:\n    enabled: true\n` +
      `http:\n  addr: ${ip}:${port}\n  secret: ${randomBytes(16).toString('hex')}\n${tlsYaml}${authYaml}`,
  );
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
  const host = `${ip}:${port}`;
  try {
    await waitUntilUp(`${certs ? 'https' : 'http'}://${host}/v2/`, certs?.ca, child, () => log);
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
    ca: certs?.ca,
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

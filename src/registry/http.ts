// The HTTP side of the OCI Distribution client, on Node's fetch: authentication (Basic, and
// Bearer tokens from the realm a 401 names, per the distribution token spec), retries with
// backoff on 429, 5xx and dropped connections, and an idle timeout (no byte moved for a
// while) instead of a total one, so a multi-GB blob may take as long as it needs.

import { setTimeout as sleep } from 'node:timers/promises';
import { FailureError } from '../failure.js';
import { printableInline } from '../process/printable.js';
import type { Runner } from '../process/run.js';
import { type Credentials, findCredentials } from './credentials.js';
import { extraCaFetch } from './extra-ca.js';
import { isLoopback } from './reference.js';

export interface HttpOptions {
  env: NodeJS.ProcessEnv;
  runner: Runner;
  signal: AbortSignal;
  /** Plain HTTP to a registry that is not on loopback. */
  insecure: boolean;
  /** Abort a request when no byte moved for this long. */
  idleTimeoutMs?: number;
  /** How many times a request is retried on 429, 5xx or a dropped connection. */
  retries?: number;
}

export interface RequestOptions {
  /** Token scopes (`repository:NAME:pull,push`); the first names the repository being worked on. */
  scopes: string[];
  headers?: Record<string, string>;
  /** A new body for each attempt (a stream cannot be sent twice). */
  body?: () => ReadableStream<Uint8Array> | Uint8Array | string;
  /** Statuses that are answers, not errors (the others throw). */
  ok: number[];
  /** Called with the number of bytes of the request or response body as they move. */
  onBytes?: (n: number) => void;
}

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const RETRY_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'EAI_AGAIN']);

/** The most of an error body or token answer that is read: an endless one is cut, not buffered. */
export const SMALL_BODY_LIMIT = 64 << 10;

/**
 * Up to `limit` bytes of a response body; the rest is cancelled unread (the connection
 * closes), so a body that never ends cannot fill the memory.
 */
export async function readUpTo(res: Response, limit: number): Promise<{ bytes: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let n = 0;
  if (!res.body) return { bytes: Buffer.alloc(0), truncated: false };
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { bytes: Buffer.concat(chunks), truncated: false };
      if (n + value.byteLength > limit) {
        chunks.push(Buffer.from(value.subarray(0, limit - n)));
        await reader.cancel().catch(() => {});
        return { bytes: Buffer.concat(chunks), truncated: true };
      }
      n += value.byteLength;
      chunks.push(Buffer.from(value));
    }
  } finally {
    reader.releaseLock();
  }
}

/** A body that must be whole (a manifest, a config): over `limit` bytes it is refused. */
export async function readLimited(res: Response, limit: number, registry: string): Promise<Buffer> {
  const { bytes, truncated } = await readUpTo(res, limit);
  if (truncated) throw registryFailure(registry, `a manifest or config over ${limit} bytes: refused`);
  return bytes;
}

/** Registry text as it is shown: one line, no control characters, at most `max` characters. */
function shown(text: string, max = 200): string {
  const t = printableInline(text.trim());
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

/** A registry's error body: `{"errors":[{"code","message"}]}`, read up to 64 KiB. */
async function errorText(res: Response): Promise<string> {
  const { bytes, truncated } = await readUpTo(res, SMALL_BODY_LIMIT).catch(() => ({ bytes: Buffer.alloc(0), truncated: true }));
  const text = bytes.toString('utf8');
  if (!truncated) {
    try {
      const errs = (JSON.parse(text) as { errors?: unknown }).errors;
      if (Array.isArray(errs) && errs.length > 0) {
        const parts = errs.slice(0, 5).map((e: { code?: unknown; message?: unknown }) =>
          [e?.code, e?.message].filter((v): v is string => typeof v === 'string' && v !== '').join(': '),
        );
        const joined = parts.filter(Boolean).join('; ');
        if (joined) return shown(joined);
      }
    } catch {
      // not JSON
    }
  }
  return shown(text) || shown(res.statusText);
}

/** fetch, trusting over TLS the certificates node left for later (extra-ca.ts). */
function send(url: URL, init: RequestInit): Promise<Response> {
  return ((url.protocol === 'https:' ? extraCaFetch() : undefined) ?? fetch)(url, init);
}

export function registryFailure(registry: string, message: string, hint?: string): FailureError {
  return new FailureError({ reason: 'registry', registry, message, hint });
}

/** `Bearer realm="...",service="...",scope="..."` as a map (keys lowercased). */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  const params: Record<string, string> = {};
  for (const p of (m?.[2] ?? '').matchAll(/([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
  }
  return { scheme: (m?.[1] ?? '').toLowerCase(), params };
}

export class RegistryHttp {
  readonly base: string;
  private credentials: Promise<Credentials | undefined> | undefined;
  private basic: string | undefined;
  private readonly tokens = new Map<string, string>();

  constructor(
    readonly registry: string,
    private readonly o: HttpOptions,
  ) {
    // Plain HTTP only where nobody can listen in: loopback, or when the user says so.
    this.base = `${isLoopback(registry) || o.insecure ? 'http' : 'https'}://${registry}`;
  }

  private creds(): Promise<Credentials | undefined> {
    return (this.credentials ??= findCredentials(this.registry, this.o.env, this.o.runner));
  }

  private authHeader(scopes: string[]): string | undefined {
    const token = this.tokens.get(scopes.join(' '));
    if (token) return `Bearer ${token}`;
    return this.basic;
  }

  /** A request to `/v2/...` (or an absolute URL the registry gave, such as an upload location). */
  async request(method: string, url: string, r: RequestOptions): Promise<Response> {
    const target = new URL(url, this.base);
    let authTried = false;
    const retries = this.o.retries ?? 4;
    for (let attempt = 0; ; attempt++) {
      const res = await this.attempt(method, target, r).catch((err: unknown) => {
        if (this.o.signal.aborted) throw err;
        const code = networkCode(err);
        if (code !== undefined && RETRY_CODES.has(code) && attempt < retries) return undefined;
        throw registryFailure(this.registry, `${method} ${target.pathname}: ${describeNetworkError(err)}`);
      });
      if (res === undefined) {
        await sleep(backoff(attempt), undefined, { signal: this.o.signal });
        continue;
      }
      if (res.status === 401 && !authTried) {
        authTried = true;
        await res.body?.cancel();
        await this.authenticate(res.headers.get('www-authenticate') ?? '', r.scopes);
        attempt--;
        continue;
      }
      if (RETRY_STATUS.has(res.status) && attempt < retries) {
        await res.body?.cancel();
        await sleep(retryAfter(res) ?? backoff(attempt), undefined, { signal: this.o.signal });
        continue;
      }
      if (r.ok.includes(res.status)) return res;
      const why = await errorText(res);
      const hint =
        res.status === 401
          ? `log in first (docker login ${this.registry}, or credentials in $DOCKER_CONFIG/config.json or $REGISTRY_AUTH_FILE)`
          : res.status === 403
            ? 'the credentials found have no right to this repository'
            : undefined;
      throw registryFailure(this.registry, `${method} ${target.pathname}: ${res.status} ${why}`, hint);
    }
  }

  private async attempt(method: string, url: URL, r: RequestOptions): Promise<Response> {
    const ac = new AbortController();
    const idleMs = this.o.idleTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const touch = () => {
      clearTimeout(timer);
      // Unref'd: a body nobody reads to its end (a cancelled 401) must not keep the process alive.
      timer = setTimeout(() => ac.abort(new Error(`no progress for ${idleMs / 1000}s`)), idleMs).unref();
    };
    const stop = () => clearTimeout(timer);
    const onAbort = () => ac.abort(this.o.signal.reason);
    this.o.signal.addEventListener('abort', onAbort, { once: true });
    touch();
    const counted = (bytes: number) => {
      touch();
      r.onBytes?.(bytes);
    };
    try {
      const res = await this.fetchFollowing(method, url, r, counted, ac.signal);
      if (!res.body || method === 'HEAD') {
        stop();
        this.o.signal.removeEventListener('abort', onAbort);
        return res;
      }
      // The body is read later: the idle timer keeps watching it until it ends.
      const watched = res.body.pipeThrough(meter(counted, () => {
        stop();
        this.o.signal.removeEventListener('abort', onAbort);
      }));
      return new Response(watched, { status: res.status, statusText: res.statusText, headers: res.headers });
    } catch (err) {
      stop();
      this.o.signal.removeEventListener('abort', onAbort);
      throw ac.signal.aborted && !this.o.signal.aborted ? Object.assign(new Error(String(ac.signal.reason)), { code: 'ETIMEDOUT' }) : err;
    }
  }

  /**
   * One request, following redirects by hand: the registry's credentials go only to the
   * registry's own origin (scheme, host and port). A blob download that redirects to a CDN
   * or an object store gets no Authorization header there (its URL carries its own grant),
   * and a redirect from HTTPS to plain HTTP off this machine is refused.
   */
  private async fetchFollowing(method: string, url: URL, r: RequestOptions, counted: (n: number) => void, signal: AbortSignal): Promise<Response> {
    const origin = new URL(this.base).origin;
    let target = url;
    let verb = method;
    let withBody = true;
    for (let hops = 0; ; hops++) {
      const headers: Record<string, string> = { 'user-agent': 'sqsh-layers', ...r.headers };
      if (!withBody) delete headers['content-type'];
      const auth = target.origin === origin ? this.authHeader(r.scopes) : undefined;
      if (auth) headers.authorization = auth;
      let body = withBody ? r.body?.() : undefined;
      if (body instanceof ReadableStream) body = body.pipeThrough(meter(counted));
      const res = await send(target, {
        method: verb,
        headers,
        body,
        redirect: 'manual',
        signal,
        ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
      });
      const location = res.headers.get('location');
      if (![301, 302, 303, 307, 308].includes(res.status) || location === null) return res;
      await res.body?.cancel().catch(() => {});
      if (hops >= 10) throw registryFailure(this.registry, `${method} ${url.pathname}: more than 10 redirects`);
      const next = new URL(location, target);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw registryFailure(this.registry, `${method} ${url.pathname}: a redirect to ${shown(next.protocol, 20)}`);
      if (target.protocol === 'https:' && next.protocol === 'http:' && !isLoopback(next.host) && !this.o.insecure) {
        throw registryFailure(this.registry, `${method} ${url.pathname}: a redirect from HTTPS to plain HTTP (${shown(next.origin, 80)}); use --insecure to allow it`);
      }
      // As the fetch standard: 303 (and 301/302 of a POST) become a GET without a body.
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && verb === 'POST')) {
        if (verb !== 'HEAD') verb = 'GET';
        withBody = false;
      }
      target = next;
    }
  }

  /** Answers a 401's challenge: Basic with the configured credentials, or a Bearer token from its realm. */
  private async authenticate(challenge: string, scopes: string[]): Promise<void> {
    const { scheme, params } = parseChallenge(challenge);
    const creds = await this.creds().catch((err: Error) => {
      throw registryFailure(this.registry, `reading credentials: ${err.message}`);
    });
    if (scheme === 'basic') {
      if (!creds || creds.kind !== 'basic') {
        throw registryFailure(this.registry, 'the registry asks for a user name and password, and none is configured for it', loginHint(this.registry));
      }
      this.basic = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
      return;
    }
    if (scheme !== 'bearer' || !params.realm) throw registryFailure(this.registry, `unsupported authentication challenge "${shown(challenge, 80)}"`);
    const realm = new URL(params.realm);
    // The token request carries the password: never in plain text off this machine.
    if (realm.protocol !== 'https:' && !isLoopback(realm.host) && !this.o.insecure) {
      throw registryFailure(this.registry, `the token service ${realm.origin} is plain HTTP; use --insecure to allow it`);
    }
    const query = new URLSearchParams();
    if (params.service) query.set('service', params.service);
    for (const s of scopes) query.append('scope', s);
    let res: Response;
    try {
      if (creds?.kind === 'identity-token') {
        // OAuth2 refresh token (distribution's oauth.md): a POST with the grant.
        query.set('grant_type', 'refresh_token');
        query.set('refresh_token', creds.token);
        query.set('client_id', 'sqsh-layers');
        res = await send(realm, { method: 'POST', body: query, signal: this.o.signal });
      } else {
        for (const [k, v] of query) realm.searchParams.append(k, v);
        const headers: Record<string, string> = {};
        if (creds) headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
        res = await send(realm, { headers, signal: this.o.signal });
      }
    } catch (err) {
      throw registryFailure(this.registry, `token service ${realm.origin}: ${describeNetworkError(err)}`);
    }
    if (!res.ok) {
      throw registryFailure(this.registry, `token service ${realm.origin} refused: ${res.status} ${await errorText(res)}`, creds ? undefined : loginHint(this.registry));
    }
    const answer = await readUpTo(res, SMALL_BODY_LIMIT).catch((err: unknown) => {
      throw registryFailure(this.registry, `token service ${realm.origin}: ${describeNetworkError(err)}`);
    });
    if (answer.truncated) throw registryFailure(this.registry, `token service ${realm.origin} answered with over ${SMALL_BODY_LIMIT} bytes: refused`);
    let got: { token?: unknown; access_token?: unknown } = {};
    try {
      got = (JSON.parse(answer.bytes.toString('utf8')) as typeof got) ?? {};
    } catch {
      // not JSON: no token
    }
    const token = typeof got.token === 'string' && got.token !== '' ? got.token : typeof got.access_token === 'string' ? got.access_token : '';
    if (!token || /[^\x21-\x7e]/.test(token)) throw registryFailure(this.registry, `token service ${realm.origin} answered without a token`);
    this.tokens.set(scopes.join(' '), token);
  }
}

function loginHint(registry: string): string {
  return `log in first (docker login ${registry}, or credentials in $DOCKER_CONFIG/config.json or $REGISTRY_AUTH_FILE)`;
}

/** A pass-through stream that reports each chunk's size, and when it ends. */
function meter(onBytes: (n: number) => void, onEnd?: () => void): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream({
    transform(chunk, controller) {
      onBytes(chunk.byteLength);
      controller.enqueue(chunk);
    },
    flush() {
      onEnd?.();
    },
  });
}

function backoff(attempt: number): number {
  return Math.min(8_000, 250 * 2 ** attempt) * (0.75 + Math.random() / 2);
}

function retryAfter(res: Response): number | undefined {
  const v = res.headers.get('retry-after');
  if (v === null || !/^\d+$/.test(v)) return undefined;
  return Math.min(30_000, Number(v) * 1000);
}

function networkCode(err: unknown): string | undefined {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.cause?.code ?? e?.code;
}

/** OpenSSL's verdicts on a certificate chain it cannot tie to a trusted root. */
const UNTRUSTED_CERT_CODES = new Set(['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE']);

export function describeNetworkError(err: unknown): string {
  const code = networkCode(err);
  const cause = (err as { cause?: Error }).cause;
  if (code === 'ECONNREFUSED') return 'connection refused (is the registry running?)';
  if (code === 'ENOTFOUND') return 'host not found';
  const message = cause?.message ?? (err as Error).message ?? String(err);
  if (code !== undefined && UNTRUSTED_CERT_CODES.has(code)) {
    return `${message} (a registry whose certificate comes from a private CA: name the CA's certificate file in NODE_EXTRA_CA_CERTS)`;
  }
  return message;
}

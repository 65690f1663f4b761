// NODE_EXTRA_CA_CERTS, read when a registry is first reached over TLS instead of at every start.
//
// Node reads the file that variable names into its certificate store before it runs any code,
// together with its own ~140 root certificates: 70-100 ms on this project's 2-core machines
// with a system bundle of ~140 certificates (a no-op build of four layers takes 200-280 ms
// with it), and only a push or pull over TLS needs them. So the command's #! line
// (src/cli.ts) starts node without the variable and hands its value over in
// SQSH_LAYERS_EXTRA_CA_CERTS. At start the command puts the variable back, so the programs it
// runs see the environment they always saw; the registry client then trusts the file's
// certificates, on top of node's own roots, through undici (loaded only then).
//
// Started as `node dist/cli.js`, node reads the variable itself and nothing is handed over.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The variable the #! line hands NODE_EXTRA_CA_CERTS's value over in. */
export const HANDED_OVER_VAR = 'SQSH_LAYERS_EXTRA_CA_CERTS';

/** The certificate file node did not read at start, if any. */
let deferredFile: string | undefined;
/** Made on first use: { fetch } (undefined when the file could not be read). */
let made: { fetch: typeof fetch | undefined } | undefined;

/**
 * Takes the handed-over value out of `env` (process.env) and puts NODE_EXTRA_CA_CERTS back.
 * Called once, before anything reads the environment.
 */
export function takeHandedOverCaCerts(env: NodeJS.ProcessEnv): void {
  if (!(HANDED_OVER_VAR in env)) return;
  const file = env[HANDED_OVER_VAR];
  delete env[HANDED_OVER_VAR];
  // Empty: the variable was not set. Already set: node was started with it and read it.
  if (!file || env.NODE_EXTRA_CA_CERTS !== undefined) return;
  env.NODE_EXTRA_CA_CERTS = file;
  deferredFile = file;
  made = undefined;
}

/**
 * The fetch that also trusts the certificates node did not read at start; undefined when
 * node's own fetch and store are all there is. A file that cannot be read is ignored with
 * node's own warning, as node does at start.
 *
 * It is undici's own fetch with an undici Agent: an Agent handed to node's fetch must be of
 * the undici node bundles (another major version fails). The Agent's connections share one
 * TLS context, made once: node's default roots (the store node itself would use, where node
 * can tell it: getCACertificates) and the file's certificates.
 */
export function extraCaFetch(): typeof fetch | undefined {
  const file = deferredFile;
  if (file === undefined) return undefined;
  if (made !== undefined) return made.fetch;
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(err as Error).message}`);
    made = { fetch: undefined };
    return undefined;
  }
  // Loaded here, not at start: node:tls takes 8-10 ms to load on a small machine, and undici
  // (from node_modules, not bundled: scripts/bundle.mjs) is 0.8 MB of code.
  const tls = require('node:tls') as typeof import('node:tls') & { getCACertificates?: (type: 'default') => string[] };
  const undici = require('undici') as typeof import('undici');
  const roots = tls.getCACertificates?.('default') ?? tls.rootCertificates;
  const secureContext = tls.createSecureContext({ ca: [...roots, pem] });
  const dispatcher = new undici.Agent({ connect: { secureContext } });
  const undiciFetch = (input: Parameters<typeof fetch>[0], init?: RequestInit) =>
    undici.fetch(input, { ...init, dispatcher });
  made = { fetch: undiciFetch };
  return undiciFetch;
}

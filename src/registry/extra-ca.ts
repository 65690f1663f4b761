// NODE_EXTRA_CA_CERTS, read when a registry is first reached over TLS instead of at every start.
//
// Node reads the file that variable names into its certificate store before it runs any code,
// together with its own ~140 root certificates: 40-110 ms on a small machine, more than all
// the rest of a no-op build, and only a push or pull over TLS needs them. So the command's #!
// line (src/cli.ts) starts node without the variable and hands its value over in
// SQSH_LAYERS_EXTRA_CA_CERTS. At start the command puts the variable back, so the programs it
// runs see the environment they always saw; the registry client trusts the file's
// certificates through an undici Agent (loaded only then), on top of node's own roots.
//
// Started as `node dist/cli.js`, node reads the variable itself and nothing is handed over.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The variable the #! line hands NODE_EXTRA_CA_CERTS's value over in. */
export const HANDED_OVER_VAR = 'SQSH_LAYERS_EXTRA_CA_CERTS';

/** The certificate file node did not read at start, if any. */
let deferredFile: string | undefined;
/** Made on first use: { value } (undefined when the file could not be read). */
let dispatcher: { value: object | undefined } | undefined;

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
  dispatcher = undefined;
}

/**
 * What fetch needs (its `dispatcher`) to also trust the certificates node did not read at
 * start; undefined when node's own store is all there is. A file that cannot be read is
 * ignored with node's own warning, as node does at start.
 */
export function extraCaDispatcher(): object | undefined {
  const file = deferredFile;
  if (file === undefined) return undefined;
  if (dispatcher !== undefined) return dispatcher.value;
  dispatcher = { value: undefined };
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(err as Error).message}`);
    return undefined;
  }
  // Loaded here, not at start: node:tls takes 8-10 ms to load on a small machine, and undici
  // (from node_modules, not bundled: scripts/bundle.mjs) is 0.8 MB of code.
  const { rootCertificates } = require('node:tls') as typeof import('node:tls');
  const { Agent } = require('undici') as typeof import('undici');
  dispatcher.value = new Agent({ connect: { ca: [...rootCertificates, pem] } });
  return dispatcher.value;
}

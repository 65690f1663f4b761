#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS SQSH_LAYERS_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} node --max-semi-space-size=2
// The sqsh-layers command. Built, it is dist/cli.cjs (scripts/bundle.mjs): this module's code,
// with all the command's, in one file that node compiles from a code cache made at build time.
// The #! line, which the build copies there:
// - keeps node from reading NODE_EXTRA_CA_CERTS before it starts (70-100 ms measured on a
//   2-core machine, a third of a no-op build); the variable's value is handed over and put
//   back first thing, and the registry client reads the file when it first needs TLS
//   (registry/extra-ca.ts);
// - gives V8 a 2 MB young generation. V8 doubles it (up to 32 MB here) whenever enough
//   survives its collections, which a walk of a 100k-entry tree always does, and keeps it:
//   node's memory would grow with the size of the tree. At 2 MB it stays flat; the
//   collections are more frequent, at no cost we could measure (bench/results.md).

import { main } from './cli/main.js';
import type { Io } from './cli/kit.js';
import { takeHandedOverCaCerts } from './registry/extra-ca.js';

export { main };
// For the build's code cache training (scripts/train-code-cache.cjs), which checks with it that
// nothing is left mounted under its project before removing it.
export { mountsUnder } from './mount/mountinfo.js';

/** Runs the command line this process was started with; its exit code becomes the process's. */
export async function run(): Promise<void> {
  takeHandedOverCaCerts(process.env);

  // A reader that stops early (`sqsh-layers plan | head`) closes the pipe: what follows goes
  // nowhere, and the command still finishes its work (a build still undoes its mounts).
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
  }

  const io: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
  process.exitCode = await main(process.argv.slice(2), io);
}

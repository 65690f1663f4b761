#!/usr/bin/env -S node --max-semi-space-size=2
// The sqsh-layers command. V8 doubles its young generation (up to 32 MB here) whenever
// enough survives its collections, which a walk of a 100k-entry tree always does, and keeps
// it: node's memory would grow with the size of the tree. At 2 MB it stays flat; the
// collections are more frequent, at no cost we could measure (bench/results.md).

import { main } from './cli/main.js';

// A reader that stops early (`sqsh-layers plan | head`) closes the pipe: what follows goes
// nowhere, and the command still finishes its work (a build still undoes its mounts).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
});

// Node builtins loaded on first use. A run that starts no command and no worker (a no-op
// build, `plan`) does without them: loading child_process takes 7-10 ms on a small machine
// (it brings net and dgram), worker_threads 4-6 ms.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

let childProcessModule: typeof import('node:child_process') | undefined;
let workerThreadsModule: typeof import('node:worker_threads') | undefined;

export function childProcess(): typeof import('node:child_process') {
  return (childProcessModule ??= require('node:child_process') as typeof import('node:child_process'));
}

export function workerThreads(): typeof import('node:worker_threads') {
  return (workerThreadsModule ??= require('node:worker_threads') as typeof import('node:worker_threads'));
}

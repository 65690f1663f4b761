// What every command module gets from the CLI's entry point (main.ts): the program to
// register on, the global options, the process's streams and environment. Its own module,
// so that command modules and main.ts do not import each other.

import { availableParallelism } from 'node:os';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';

export interface Io {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface GlobalOptions {
  dir: string;
  verbose: boolean;
  quiet: boolean;
  dryRun: boolean;
  force: boolean;
  json: boolean;
  jobs: number | undefined;
  cache: string | undefined;
}

/** What a command module gets to register itself. */
export interface CommandKit {
  program: Command;
  globals: () => GlobalOptions;
  io: Io;
  /** Wraps an action so its result becomes the exit code. */
  action: <A extends unknown[]>(fn: (...args: A) => Promise<number>) => (...args: A) => Promise<void>;
}


export function defaultJobs(configured: number | undefined): number {
  return configured ?? Math.max(1, availableParallelism());
}


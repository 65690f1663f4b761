// Test projects in unique temp directories, and ways to run the CLI against them.

import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, promises as fs, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main.js';

export const REPO = path.resolve(import.meta.dirname, '../..');
export const CLI = path.join(REPO, 'dist/cli.js');
/** The installed command (package.json "bin"), run through its #! line. */
export const COMMAND = path.join(REPO, 'dist/cli.cjs');

/** What follows `#!/usr/bin/env -S ` on the command's first line. */
export function hashBangArgs(command: string): string {
  const line = readFileSync(command, 'utf8').split('\n', 1)[0]!;
  if (!/^#!\/usr\/bin\/env -S .*\bnode\b/.test(line)) throw new Error(`${command}: not a #!/usr/bin/env -S ... node line: ${line}`);
  return line.slice('#!/usr/bin/env -S '.length);
}

/** load().codeCache of `command`, in a node started as its #! line starts it (or plain `node`). */
export function codeCacheState(command: string, how: 'hash-bang' | 'plain node'): string {
  const script = `process.stdout.write(require(${JSON.stringify(command)}).load().codeCache)`;
  const env = { ...process.env, NODE_OPTIONS: '' };
  if (how === 'plain node') return execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', env });
  return execFileSync('/usr/bin/env', ['-S', `${hashBangArgs(command)} -e '${script}'`], { encoding: 'utf8', env });
}

/** A fresh directory whose name says what made it (and contains "sqsh-layers"). */
export function tempDir(label: string): string {
  return mkdtempSync(path.join(tmpdir(), `sqsh-layers-test-${label}-`));
}

/** Writes files (path → content; content ending in a mode via {text, mode}) under dir. */
export async function writeFiles(dir: string, files: Record<string, string | { text: string; mode: number }>): Promise<void> {
  for (const [rel, v] of Object.entries(files)) {
    const p = path.join(dir, rel);
    await fs.mkdir(path.dirname(p), { recursive: true });
    if (typeof v === 'string') await fs.writeFile(p, v);
    else await fs.writeFile(p, v.text, { mode: v.mode });
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process (fast; for commands that do not build). */
export async function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c: Buffer) => (stdout += c.toString()));
  err.on('data', (c: Buffer) => (stderr += c.toString()));
  // Of the test process's environment only PATH (to find the tools), so nothing else leaks in.
  const env = { ...(process.env.PATH !== undefined ? { PATH: process.env.PATH } : {}), ...opts.env };
  const code = await main(args, { stdout: out, stderr: err, env, cwd: opts.cwd ?? process.cwd() });
  return { code, stdout, stderr };
}

/**
 * Runs the compiled CLI as a real process (for builds, signals and exit codes): as
 * `node dist/cli.js`, or with `installed` as the installed command runs, through its #! line.
 */
export function execCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; installed?: boolean } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      opts.installed ? COMMAND : process.execPath,
      opts.installed ? args : [CLI, ...args],
      { cwd: opts.cwd, env: { ...process.env, ...opts.env }, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Starts the compiled CLI and returns the child (to signal it). */
export function spawnCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env } });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return Object.assign(child, { output: () => output });
}

export function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.on('exit', (code) => resolve(code));
  });
}

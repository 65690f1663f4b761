// The one way this tool runs external commands (spawned directly, no shell). It logs the command in
// --verbose, prints it instead of running it in --dry-run, keeps the tail of the output
// for error messages, and kills the whole process group when the run is interrupted.

import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { constants } from 'node:os';
import { type CommandFailure, FailureError } from '../failure.js';
import { formatArgv, shortened } from './argv.js';
import { checkInterrupted, classify } from './interrupt.js';
import { childProcess } from './lazy-builtins.js';
import { printable } from './printable.js';

export { printable } from './printable.js';

export interface CommandOptions {
  cwd?: string;
  /** Variables added to (or, with `clearEnv`, replacing) the runner's environment. */
  env?: Record<string, string>;
  clearEnv?: boolean;
  /** A file fed to the command's standard input. */
  stdinFile?: string;
  /** Bytes fed to the command's standard input (file names for `xargs -0`, which carry any byte). */
  input?: Buffer;
  /** Keep standard output as bytes too (`CommandResult.stdoutBytes`): listings of file names. */
  stdoutBytes?: boolean;
  /** Called with each line of output (stdout and stderr, as they come). */
  onLine?: (line: string) => void;
  /** Exit codes that count as success (default [0]). */
  okCodes?: number[];
  /** How many trailing output lines an error keeps (default 30). */
  tailLines?: number;
  /**
   * The command gets the tool's own terminal (stdin, stdout, stderr) and stays in the tool's
   * process group, the terminal's foreground group, so that it may read from it (a VM's serial
   * console). Nothing is collected; an interrupt still kills it.
   */
  interactive?: boolean;
}

export interface CommandResult {
  code: number;
  stdout: string;
  /** Standard output as it came, when asked for (`stdoutBytes`). */
  stdoutBytes?: Buffer;
  /** The last lines of combined output. */
  tail: string[];
}

export interface Log {
  verbose(line: string): void;
  info(line: string): void;
}

/** Where started process groups are reported, so a later run can kill what a killed run left. */
export type SpawnListener = (pid: number) => void;

export class Runner {
  constructor(
    private readonly opts: {
      log: Log;
      dryRun: boolean;
      signal: AbortSignal;
      /** The environment commands run in (the CLI's, passed down; never read from `process`). */
      env: NodeJS.ProcessEnv;
      onSpawn?: SpawnListener;
      /** Grace time between SIGTERM and SIGKILL of an interrupted command. */
      killGraceMs?: number;
    },
  ) {}

  get dryRun(): boolean {
    return this.opts.dryRun;
  }

  get signal(): AbortSignal {
    return this.opts.signal;
  }

  /** The same runner, its commands interrupted by `signal` instead; it logs nothing once `quietWhen` is aborted. */
  withSignal(signal: AbortSignal, quietWhen?: AbortSignal): Runner {
    const log = this.opts.log;
    const quiet: Log | undefined = quietWhen && {
      verbose: (line) => quietWhen.aborted || log.verbose(line),
      info: (line) => quietWhen.aborted || log.info(line),
    };
    return new Runner({ ...this.opts, signal, log: quiet ?? log });
  }

  get env(): NodeJS.ProcessEnv {
    return this.opts.env;
  }

  /** Runs a command that changes something; in --dry-run it is only printed. */
  async run(argv: readonly string[], o: CommandOptions = {}): Promise<CommandResult> {
    if (this.opts.dryRun) {
      this.opts.log.info(`+ ${formatArgv(argv)}${o.cwd ? `   (in ${o.cwd})` : ''}`);
      return { code: 0, stdout: '', tail: [] };
    }
    return this.exec(argv, o);
  }

  /**
   * Does what command `argv` would do by calling `direct` instead of starting it (a mount
   * through the mount helper): logged in --verbose and printed in --dry-run as the command
   * would be, and failing as the command would, with the error's message as its output.
   */
  async runDirect(argv: readonly string[], o: Pick<CommandOptions, 'cwd'>, direct: () => Promise<void>): Promise<void> {
    const where = o.cwd ? `   (in ${o.cwd})` : '';
    if (this.opts.dryRun) {
      this.opts.log.info(`+ ${formatArgv(argv)}${where}`);
      return;
    }
    checkInterrupted(this.opts.signal);
    this.opts.log.verbose(`+ ${formatArgv(shortened(argv))}${where}`);
    try {
      await direct();
    } catch (err) {
      throw commandFailed(argv, { exitCode: 1, tail: [printable(err instanceof Error ? err.message : String(err))] });
    }
    // As after a command: once interrupted, the run stops here (what was done is undone by its owner).
    const stop = classify(this.opts.signal);
    if (stop) throw new FailureError(stop);
  }

  /** Runs a command that only reads (versions, listings); it runs in --dry-run too. */
  async query(argv: readonly string[], o: CommandOptions = {}): Promise<CommandResult> {
    return this.exec(argv, o);
  }

  /**
   * Runs a command on this process's own stdin, stdout and stderr (an interactive shell: its
   * output is not captured); returns its exit code, 128+N when signal N killed it. An
   * interrupt kills its process group like any command's.
   */
  async interactive(argv: readonly string[], o: Pick<CommandOptions, 'env' | 'clearEnv'> = {}): Promise<number> {
    checkInterrupted(this.opts.signal);
    this.opts.log.verbose(`+ ${formatArgv(shortened(argv))}`);
    const env = o.clearEnv ? { ...o.env } : { ...this.opts.env, ...o.env };
    const child = childProcess().spawn(argv[0]!, argv.slice(1), { stdio: 'inherit', env, detached: true });
    const pid = child.pid;
    if (pid !== undefined) this.opts.onSpawn?.(pid);
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      if (pid === undefined) return;
      killQuietly(-pid, 'SIGTERM');
      killTimer = setTimeout(() => killQuietly(-pid, 'SIGKILL'), this.opts.killGraceMs ?? 3000);
    };
    this.opts.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
        child.once('error', (error) => resolve({ code: null, signal: null, error }));
        child.once('exit', (code, signal) => resolve({ code, signal }));
      });
      const stop = classify(this.opts.signal);
      if (stop) throw new FailureError(stop);
      if (ended.error) throw commandFailed(argv, { startError: ended.error.message });
      if (ended.signal !== null) return 128 + (osSignals[ended.signal] ?? 0);
      return ended.code ?? 1;
    } finally {
      this.opts.signal.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
      if (pid !== undefined) killQuietly(-pid, 'SIGKILL');
    }
  }

  private async exec(argv: readonly string[], o: CommandOptions): Promise<CommandResult> {
    checkInterrupted(this.opts.signal);
    // An argument is UTF-8 on its way to the kernel: a name holding other bytes (see
    // layer/byte-path.ts) would reach the command as another name. Such names go through
    // `input` instead.
    const notText = argv.find((a) => /\p{Surrogate}/u.test(a));
    if (notText !== undefined) {
      throw commandFailed(argv, { startError: `an argument is not UTF-8 text: ${JSON.stringify(notText)}` });
    }
    this.opts.log.verbose(`+ ${formatArgv(shortened(argv))}${o.cwd ? `   (in ${o.cwd})` : ''}`);
    const tailMax = o.tailLines ?? 30;
    const tail: string[] = [];
    const env = o.clearEnv ? { ...o.env } : { ...this.opts.env, ...o.env };
    const stdinFd = o.stdinFile !== undefined ? openSync(o.stdinFile, 'r') : undefined;
    let child: ChildProcess;
    try {
      // The command itself, no shell in between: the environment's PATH finds it.
      child = childProcess().spawn(argv[0]!, argv.slice(1), {
        cwd: o.cwd ?? process.cwd(),
        env,
        // Its own process group (and session), but for an interactive command, which shares the tool's.
        detached: !o.interactive,
        // The file itself is the command's stdin: no copy through this process, and a command
        // that stops reading early (a corrupt image) cannot break a pipe we write to.
        stdio: o.interactive ? 'inherit' : [stdinFd ?? (o.input ? 'pipe' : 'ignore'), 'pipe', 'pipe'],
      });
    } catch (err) {
      if (stdinFd !== undefined) closeSync(stdinFd);
      throw commandFailed(argv, { startError: err instanceof Error ? err.message : String(err) });
    }
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: NodeJS.ErrnoException }>((resolve) => {
      // 'error' without a pid: it never started (not found, E2BIG, EACCES...).
      child.once('error', (error) => {
        if (child.pid === undefined) resolve({ code: null, signal: null, error });
      });
      child.once('close', (code, signal) => resolve({ code, signal }));
    });
    if (o.input && child.stdin) {
      // A command that exits before reading all its input breaks the pipe: its exit code tells.
      child.stdin.on('error', () => {});
      child.stdin.end(o.input);
    }
    const pid = child.pid;
    const group = pid !== undefined ? (o.interactive ? pid : -pid) : undefined;
    if (pid !== undefined) {
      this.opts.onSpawn?.(pid);
      // When the command exits, what it left running in its group goes too; otherwise a
      // background process holding the output pipe would keep the command from ending.
      if (!o.interactive) child.once('exit', () => killQuietly(-pid, 'SIGKILL'));
    }
    const stdoutChunks: Buffer[] = [];
    let partial = '';
    const onData = (chunk: Buffer) => {
      const text = partial + chunk.toString('utf8');
      const lines = text.split(/\r?\n|\r/);
      partial = lines.pop() ?? '';
      for (const line of lines) pushLine(line);
    };
    const pushLine = (raw: string) => {
      const line = printable(raw);
      tail.push(line);
      if (tail.length > tailMax) tail.shift();
      o.onLine?.(line);
    };
    child.stdout?.on('data', (chunk: Buffer) => {
      stdoutChunks.push(chunk);
      onData(chunk);
    });
    child.stderr?.on('data', onData);
    // SIGTERM first, SIGKILL after the grace time; the timer goes when the command ends, so a
    // command that obeyed SIGTERM does not keep the tool alive for the rest of the grace time.
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      if (group === undefined) return;
      killQuietly(group, 'SIGTERM');
      killTimer = setTimeout(() => killQuietly(group, 'SIGKILL'), this.opts.killGraceMs ?? 3000);
    };
    this.opts.signal.addEventListener('abort', onAbort, { once: true });
    if (this.opts.signal.aborted) onAbort(); // interrupted while the command was being started
    try {
      const out = await ended;
      if (partial !== '') pushLine(partial);
      // However the command ended, after an interrupt it ended because of it.
      const stop = classify(this.opts.signal);
      if (stop) throw new FailureError(stop);
      if (out.error) {
        if (out.error.code === 'ENOENT' && !existsSync(o.cwd ?? process.cwd())) {
          throw commandFailed(argv, { startError: `its working directory ${o.cwd ?? process.cwd()} does not exist` });
        }
        // A path that exists but cannot start (a script whose interpreter is missing) is not a missing tool.
        if (out.error.code === 'ENOENT' && !(argv[0]?.includes('/') && existsSync(argv[0]))) {
          throw new FailureError({ reason: 'missing-tool', tool: argv[0] ?? '' });
        }
        throw commandFailed(argv, { startError: out.error.message });
      }
      const code = out.code ?? -1;
      if (!(o.okCodes ?? [0]).includes(code)) throw commandFailed(argv, { exitCode: out.code, signal: out.signal, tail });
      const stdout = Buffer.concat(stdoutChunks);
      return { code, stdout: stdout.toString('utf8'), stdoutBytes: o.stdoutBytes ? stdout : undefined, tail };
    } finally {
      if (stdinFd !== undefined) closeSync(stdinFd);
      this.opts.signal.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
      if (pid !== undefined && !o.interactive) {
        // The command is done; anything it left in its process group goes with it.
        killQuietly(-pid, 'SIGKILL');
      }
    }
  }
}

const osSignals = constants.signals as Partial<Record<NodeJS.Signals, number>>;

/** A command that failed, as the Failure it carries. */
function commandFailed(argv: readonly string[], how: Partial<Omit<CommandFailure, 'reason' | 'argv'>>): FailureError {
  return new FailureError({ reason: 'command', argv, exitCode: null, signal: null, tail: [], ...how });
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

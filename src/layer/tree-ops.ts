// The tree helper (native/tree-ops.c): the walks that touch every entry of an upper dir
// (prune-identical, the content's times, settling times for a child built ahead) made with
// plain system calls in a
// process of their own. In node the same walk costs several times its system calls. One
// helper serves the run, a request at a time; it is started on first use and ends when this
// process does (its stdin closes, or its parent dies). An interrupted request kills it: the
// next one starts another.

import type { ChildProcessByStdio } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { checkInterrupted } from '../process/interrupt.js';
import { childProcess } from '../process/lazy-builtins.js';
import { bytesOf, nameOf, shownPath } from './byte-path.js';

const PROGRAM = 'tree-ops';

/** The compiled helper: beside the compiled CLI, or in dist/ when running from src/. */
function helperPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, `../${PROGRAM}`), path.resolve(here, `../../dist/${PROGRAM}`)];
  const found = candidates.find((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (found === undefined) throw new Error(`the tree helper ${candidates[1]} is missing: compile it with npm run build`);
  return found;
}

type Field = string | Buffer;

class TreeOps {
  private child: ChildProcessByStdio<Writable, Readable, null> | undefined;
  private answer: { resolve: (line: Buffer) => void; reject: (err: Error) => void } | undefined;
  private partial: Buffer[] = [];
  /** Requests wait for the one before them: the helper answers one at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly program: string) {}

  /** Sends one request; its answer's text after "ok ", or the helper's error as an Error. */
  ask(fields: Field[], signal: AbortSignal): Promise<string> {
    const turn = this.queue.then(() => this.askNow(fields, signal));
    this.queue = turn.catch(() => {});
    return turn;
  }

  private async askNow(fields: Field[], signal: AbortSignal): Promise<string> {
    checkInterrupted(signal);
    const request = Buffer.concat(fields.flatMap((f) => [typeof f === 'string' ? Buffer.from(f, 'utf8') : f, Buffer.of(0)]));
    if (fields.some((f) => (typeof f === 'string' ? f.includes('\0') : f.includes(0)))) throw new Error(`bug: a NUL byte in a tree request`);
    const child = this.started();
    const onAbort = () => child.kill('SIGKILL');
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const line = await new Promise<Buffer>((resolve, reject) => {
        this.answer = { resolve, reject };
        (child.stdout as Socket).ref();
        child.stdin.write(request);
      });
      const text = line.toString('latin1');
      if (text.startsWith('ok ')) return text.slice(3);
      if (text.startsWith('error ')) throw new Error(shownPath(nameOf(line.subarray(6))));
      throw new Error(`the tree helper ${this.program} answered ${JSON.stringify(text.slice(0, 80))}`);
    } catch (err) {
      // Killed because the run was interrupted: that is what it came to.
      checkInterrupted(signal);
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.answer = undefined;
      if (this.child) (this.child.stdout as Socket).unref();
    }
  }

  private started(): ChildProcessByStdio<Writable, Readable, null> {
    if (this.child) return this.child;
    // Its own process group: a Ctrl-C at the terminal reaches node, which stops it (abort).
    const child = childProcess().spawn(this.program, [], { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
    child.unref();
    child.stdin.on('error', () => {});
    child.stdout.on('data', (chunk: Buffer) => {
      let start = 0;
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, start)) {
        this.partial.push(chunk.subarray(start, i));
        const line = Buffer.concat(this.partial);
        this.partial = [];
        start = i + 1;
        this.answer?.resolve(line);
      }
      if (start < chunk.length) this.partial.push(chunk.subarray(start));
    });
    const end = (why: string) => {
      if (this.child === child) this.child = undefined;
      this.partial = [];
      this.answer?.reject(new Error(`the tree helper ${this.program} ${why}`));
    };
    child.once('error', (err) => end(`could not run: ${err.message}`));
    // 'close': after the last answer it wrote has been read.
    child.once('close', (code, sig) => end(`ended (${sig ?? `exit code ${code}`})`));
    (child.stdout as Socket).unref();
    this.child = child;
    return child;
  }
}

let shared: TreeOps | undefined;

function treeOps(): TreeOps {
  return (shared ??= new TreeOps(helperPath()));
}

/** An epoch as the helper takes it: decimal seconds, or empty for none. */
function epochField(epoch: number | undefined): string {
  if (epoch === undefined) return '';
  if (!Number.isSafeInteger(epoch)) throw new Error(`bug: epoch ${epoch} is not whole seconds`);
  return String(epoch);
}

/** What prune-identical removed. */
export interface PruneCounts {
  files: number;
  dirs: number;
  bytes: number;
}

/**
 * prune-identical on `upper` against `lowerView` (layer/prune.ts says what goes), by the
 * helper. `scope`: in-root directories (ancestors included) to which pruning is limited, and
 * only directories then.
 */
export async function pruneTree(upper: string, lowerView: string, epoch: number | undefined, scope: readonly string[] | undefined, signal: AbortSignal): Promise<PruneCounts> {
  const fields: Field[] = ['P', bytesOf(upper), bytesOf(lowerView), epochField(epoch)];
  fields.push(scope === undefined ? 'none' : String(scope.length), ...(scope ?? []).map(bytesOf));
  const [files, dirs, bytes] = (await treeOps().ask(fields, signal)).split(' ').map(Number);
  return { files: files!, dirs: dirs!, bytes: bytes! };
}

/**
 * Gives every entry of `upper` the mtime its pack will record (whole seconds, clamped to
 * `epoch`, in squashfs's unsigned 32 bits); atimes stay. Returns the number of entries.
 */
export async function settleTree(upper: string, epoch: number | undefined, signal: AbortSignal): Promise<number> {
  return Number(await treeOps().ask(['S', bytesOf(upper), epochField(epoch)], signal));
}

/** What the content's times are (finalize.ts: newestTimeBefore). */
export interface ContentTimes {
  /** Whole seconds: the newest mtime older than the clock time given (0 when none). */
  newest: number;
  /** The entries whose mtime is not what the pack records; undefined when too many to list. */
  unsettled: string[] | undefined;
}

/**
 * One walk of `upper`, metadata only: the newest mtime from before `clockSince` (ms, the
 * kernel's clock), and the entries whose mtime is not yet what the pack records (whole
 * seconds, older than `clockSince`, within squashfs's unsigned 32 bits), while few.
 */
export async function contentTimes(upper: string, clockSince: number, signal: AbortSignal): Promise<ContentTimes> {
  // An mtime's whole milliseconds are below clockSince exactly when they are below its ceiling.
  const [newest, , ...rest] = (await treeOps().ask(['T', bytesOf(upper), String(Math.ceil(clockSince))], signal)).split(' ');
  const unsettled = rest[0] === '-' ? undefined : rest.map((hex) => nameOf(Buffer.from(hex, 'hex')));
  return { newest: Number(newest), unsettled };
}

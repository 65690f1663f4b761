// The tree helper (native/tree-ops.c): the walks that touch every entry of an upper dir
// (prune-identical, the content's times, stripping overlay xattrs, settling times for a child
// built ahead) made with plain system calls in a process of their own. In node the same walk
// costs several times its system calls. A helper answers one request at a time; one serves
// the run, a second one when two layers finalize at once. Each is started on first use and
// ends when this process does (its stdin closes, or its parent dies). An interrupted request
// kills its helper: the next one starts another.

import type { ChildProcessByStdio } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { cpus } from 'node:os';
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

/** One helper process, and the request it is answering. */
interface Helper {
  child: ChildProcessByStdio<Writable, Readable, null>;
  answer: { resolve: (line: Buffer) => void; reject: (err: Error) => void } | undefined;
  partial: Buffer[];
  ended: boolean;
}

/**
 * Helpers at most: a request takes an idle one, or starts one. Two layers finalized at once
 * (independent branches, --jobs) walk side by side, as the CPUs allow.
 */
const HELPERS = Math.max(1, Math.min(2, cpus().length));

/** A request waiting for a helper: given one (or, undefined, room to start one) in turn. */
interface Waiter {
  give: (helper: Helper | undefined) => void;
}

class TreeOps {
  private readonly idle: Helper[] = [];
  private running = 0;
  /** Requests waiting for a helper, first come first served. */
  private readonly waiters: Waiter[] = [];

  constructor(private readonly program: string) {}

  /** One request; its answer's text after "ok ", or the helper's error as an Error. */
  async ask(fields: Field[], signal: AbortSignal): Promise<string> {
    if (fields.some((f) => (typeof f === 'string' ? f.includes('\0') : f.includes(0)))) throw new Error(`bug: a NUL byte in a tree request`);
    const request = Buffer.concat(fields.flatMap((f) => [typeof f === 'string' ? Buffer.from(f, 'utf8') : f, Buffer.of(0)]));
    const helper = await this.acquire(signal);
    try {
      return await this.askOf(helper, request, signal);
    } finally {
      this.release(helper);
    }
  }

  private acquire(signal: AbortSignal): Promise<Helper> {
    checkInterrupted(signal);
    let idle: Helper | undefined;
    while ((idle = this.idle.pop())) {
      // One that ended (killed by someone) and has not said so yet takes no request.
      if (idle.child.exitCode === null && idle.child.signalCode === null) return Promise.resolve(idle);
      this.retire(idle);
    }
    if (this.running < HELPERS) return Promise.resolve(this.start());
    return new Promise<Helper>((resolve, reject) => {
      // An interrupt stops a request still waiting for a helper, too.
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        try {
          checkInterrupted(signal);
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      };
      const waiter: Waiter = {
        give: (helper) => {
          signal.removeEventListener('abort', onAbort);
          try {
            resolve(helper ?? this.start());
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        },
      };
      this.waiters.push(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** A request is done with its helper: to the next one waiting, or idle. */
  private release(helper: Helper): void {
    if (helper.ended) return;
    const next = this.waiters.shift();
    if (next) next.give(helper);
    else this.idle.push(helper);
  }

  /** A helper that ended, or was killed: no request goes to it again; its room goes to the next one waiting. */
  private retire(helper: Helper): void {
    if (helper.ended) return;
    helper.ended = true;
    this.running--;
    const i = this.idle.indexOf(helper);
    if (i >= 0) this.idle.splice(i, 1);
    this.waiters.shift()?.give(undefined);
  }

  private async askOf(helper: Helper, request: Buffer, signal: AbortSignal): Promise<string> {
    // Interrupted: the helper is killed (the next request starts another).
    const onAbort = () => {
      helper.child.kill('SIGKILL');
      this.retire(helper);
      helper.answer?.reject(new Error('interrupted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      checkInterrupted(signal);
      const line = await new Promise<Buffer>((resolve, reject) => {
        helper.answer = { resolve, reject };
        // A request in flight keeps this process alive, the helper's end included.
        helper.child.ref();
        (helper.child.stdout as Socket).ref();
        helper.child.stdin.write(request);
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
      helper.answer = undefined;
      helper.child.unref();
      (helper.child.stdout as Socket).unref();
    }
  }

  /** A new helper (counted as running); throws when it cannot be started. */
  private start(): Helper {
    // Its own process group: a Ctrl-C at the terminal reaches node, which stops it (abort).
    const child = childProcess().spawn(this.program, [], { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
    const helper: Helper = { child, answer: undefined, partial: [], ended: false };
    this.running++;
    const end = (why: string) => {
      this.retire(helper);
      helper.answer?.reject(new Error(`the tree helper ${this.program} ${why}`));
    };
    child.once('error', (err) => end(`could not run: ${err.message}`));
    // 'close': after the last answer it wrote has been read.
    child.once('close', (code, sig) => end(`ended (${sig ?? `exit code ${code}`})`));
    child.unref();
    // No pipes when the spawn failed at once (no file descriptors left): its 'error' follows.
    if (!child.stdin || !child.stdout) {
      helper.ended = true;
      this.running--;
      throw new Error(`the tree helper ${this.program} could not start`);
    }
    child.stdin.on('error', () => {});
    child.stdout.on('data', (chunk: Buffer) => {
      let start = 0;
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, start)) {
        helper.partial.push(chunk.subarray(start, i));
        const line = Buffer.concat(helper.partial);
        helper.partial = [];
        start = i + 1;
        helper.answer?.resolve(line);
      }
      if (start < chunk.length) helper.partial.push(chunk.subarray(start));
    });
    (child.stdout as Socket).unref();
    return helper;
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
  const fields: Field[] = ['P', bytesOf(path.resolve(upper)), bytesOf(path.resolve(lowerView)), epochField(epoch)];
  fields.push(scope === undefined ? 'none' : String(scope.length), ...(scope ?? []).map(bytesOf));
  const [files, dirs, bytes] = (await treeOps().ask(fields, signal)).split(' ').map(Number);
  return { files: files!, dirs: dirs!, bytes: bytes! };
}

/**
 * Gives every entry of `upper` the mtime its pack will record (whole seconds, clamped to
 * `epoch`, in squashfs's unsigned 32 bits); atimes stay. Returns the number of entries.
 */
export async function settleTree(upper: string, epoch: number | undefined, signal: AbortSignal): Promise<number> {
  return Number(await treeOps().ask(['S', bytesOf(path.resolve(upper)), epochField(epoch)], signal));
}

/** What the content's times are (finalize.ts: a layer built without source-date-epoch). */
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
  const [newest, , ...rest] = (await treeOps().ask(['T', bytesOf(path.resolve(upper)), String(Math.ceil(clockSince))], signal)).split(' ');
  const unsettled = rest[0] === '-' ? undefined : rest.map((hex) => nameOf(Buffer.from(hex, 'hex')));
  return { newest: Number(newest), unsettled };
}

/** What stripping the overlay xattrs of an upper found. */
export interface StripResult {
  stripped: number;
  /** Entries walked (the root included). */
  entries: number;
  /** In-root paths (shown: bytes that are not UTF-8 as \xNN) of entries holding a redirect or metacopy. */
  forbidden: string[];
}

/**
 * One walk of `upper`: strips the non-portable overlay xattrs (opaque=y stays) and finds the
 * entries holding a redirect or metacopy (finalize refuses them).
 */
export async function stripOverlayXattrs(upper: string, signal: AbortSignal): Promise<StripResult> {
  const [stripped, entries, ...forbidden] = (await treeOps().ask(['X', bytesOf(path.resolve(upper))], signal)).split(' ');
  return { stripped: Number(stripped), entries: Number(entries), forbidden: forbidden.map((hex) => shownPath(nameOf(Buffer.from(hex, 'hex')))) };
}

// The mount helper (native/mounter.c): mount(2) and umount2(2) without starting mount(8) or
// umount(8) each time. A layer's tmpfs and overlay cost four process starts otherwise, each a
// fork of this process (10-20 ms with its page tables) and a start of util-linux. One helper
// serves the whole run, a second one when a request comes while the first is busy (a big
// tmpfs being unmounted); each answers one request at a time, is started on first use and
// ends when this process does (its stdin closes). Without the compiled helper, or once one
// has ended (killed by someone), mount(8) and umount(8) do it as before.

import type { ChildProcessByStdio } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { getSystemErrorMap } from 'node:util';
import { isTextPath } from '../layer/byte-path.js';
import { childProcess } from '../process/lazy-builtins.js';

/** mount(2)'s MS_RDONLY, umount2(2)'s MNT_DETACH and UMOUNT_NOFOLLOW. */
export const MS_RDONLY = 1;
const MNT_DETACH = 2;
const UMOUNT_NOFOLLOW = 8;

/** A mount as mount(2) takes it. */
export interface MountCall {
  fstype: string;
  source: string;
  target: string;
  flags: number;
  /** The filesystem's own options (no flags among them). */
  data: string;
}

/** The compiled helper: beside the compiled CLI, or in dist/ when running from src/. */
function helperPath(): string | undefined {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return [path.resolve(here, '../mounter'), path.resolve(here, '../../dist/mounter')].find((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** A request and who waits for its answer. */
interface Request {
  bytes: Buffer;
  resolve: (errno: number) => void;
  reject: (err: Error) => void;
}

/** One helper process and the request it is answering. */
interface Helper {
  child: ChildProcessByStdio<Writable, Readable, null>;
  current: Request | undefined;
  partial: string;
}

/**
 * At most this many helpers, each answering one request at a time; a request goes to the
 * first one free. Unmounting a tmpfs frees its pages before umount2(2) returns (a full
 * image's 300 MB: 0.1-0.3 s); a second helper lets the next layer's mounts go on meanwhile
 * instead of waiting behind it.
 */
const HELPERS = 2;

class Mounter {
  private readonly idle: Helper[] = [];
  private readonly queue: Request[] = [];
  private running = 0;
  private broken: Error | undefined;

  constructor(private readonly program: string) {}

  /** False once a helper has ended (killed by someone) or could not start: mount(8) and umount(8) then. */
  get usable(): boolean {
    return this.broken === undefined;
  }

  async mount(c: MountCall, cwd: string): Promise<void> {
    // Absolute, as mount(8) run in this process's cwd would see them (the helper's is /).
    const dir = path.resolve(cwd);
    const errno = await this.ask(['M', dir, c.fstype, c.source, path.resolve(dir, c.target), String(c.flags), c.data]);
    if (errno !== 0) throw failure('mount', c.target, errno);
  }

  async umount(target: string, lazy: boolean): Promise<void> {
    const errno = await this.ask(['U', path.resolve(target), String(UMOUNT_NOFOLLOW | (lazy ? MNT_DETACH : 0))]);
    if (errno !== 0) throw failure('umount', target, errno);
  }

  private ask(fields: string[]): Promise<number> {
    if (this.broken) return Promise.reject(this.broken);
    if (fields.some((f) => f.includes('\0'))) return Promise.reject(new Error(`bug: a NUL byte in a mount request: ${JSON.stringify(fields)}`));
    // UTF-8 on the way, as a command's arguments: a path holding other bytes would reach the kernel as another path.
    const notText = fields.find((f) => !isTextPath(f));
    if (notText !== undefined) return Promise.reject(new Error(`a path is not UTF-8 text: ${JSON.stringify(notText)}`));
    return new Promise((resolve, reject) => {
      this.queue.push({ bytes: Buffer.from(fields.map((f) => `${f}\0`).join(''), 'utf8'), resolve, reject });
      this.dispatch();
    });
  }

  /** Gives waiting requests to free helpers, starting one when none is free. */
  private dispatch(): void {
    while (this.queue.length > 0) {
      const helper = this.broken ? undefined : (this.idle.pop() ?? (this.running < HELPERS ? this.start() : undefined));
      if (this.broken) for (const r of this.queue.splice(0)) r.reject(this.broken);
      if (!helper) return;
      const request = this.queue.shift()!;
      helper.current = request;
      // A request in flight keeps this process alive (the helper's end included: an answer
      // that never comes must still settle it).
      helper.child.ref();
      pipe(helper.child).ref();
      helper.child.stdin.write(request.bytes);
    }
  }

  private start(): Helper | undefined {
    // Its own process group: a Ctrl-C at the terminal (SIGINT to the foreground group) must
    // leave it to undo the mounts while the run cleans up.
    const child = childProcess().spawn(this.program, [], { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
    const helper: Helper = { child, current: undefined, partial: '' };
    const end = (why: string) => {
      this.broken ??= new Error(`the mount helper ${this.program} ${why}`);
      helper.current?.reject(this.broken);
      helper.current = undefined;
      // mount(8) and umount(8) from now on: what waits is failed, its caller falls back.
      for (const r of this.queue.splice(0)) r.reject(this.broken);
    };
    child.once('error', (err) => end(`could not run: ${err.message}`));
    // 'close': after the last answer it wrote has been read.
    child.once('close', (code, signal) => end(`ended (${signal ?? `exit code ${code}`})`));
    child.unref();
    // No pipes when the spawn failed at once (no file descriptors left): its 'error' follows.
    if (!child.stdin || !child.stdout) {
      this.broken ??= new Error(`the mount helper ${this.program} could not start`);
      return undefined;
    }
    this.running++;
    child.stdin.on('error', () => {});
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      const lines = (helper.partial + text).split('\n');
      helper.partial = lines.pop()!;
      for (const line of lines) {
        const request = helper.current;
        helper.current = undefined;
        request?.resolve(Number(line));
      }
      if (!helper.current) {
        child.unref();
        pipe(child).unref();
        this.idle.push(helper);
        this.dispatch();
      }
    });
    pipe(child).unref();
    return helper;
  }
}

/** The helper's stdout, a pipe: a Socket, which can stop keeping this process alive. */
function pipe(child: ChildProcessByStdio<Writable, Readable, null>): Socket {
  return child.stdout as Socket;
}

/** The error of a failed call, as mount(8) would word it: errno's text and name. */
function failure(call: 'mount' | 'umount', target: string, errno: number): Error {
  const [code, text] = getSystemErrorMap().get(-errno) ?? [`errno ${errno}`, 'unknown error'];
  return new Error(`${call}: ${target}: ${text} (${code})`);
}

let shared: Mounter | undefined | null = null;

/** The run's mount helper; undefined when it was not compiled or has ended (mount(8) and umount(8) then). */
export function mounter(): Mounter | undefined {
  if (shared === null) {
    const program = helperPath();
    shared = program === undefined ? undefined : new Mounter(program);
  }
  return shared?.usable ? shared : undefined;
}

export type { Mounter };

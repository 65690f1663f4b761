// Reading files on worker threads, so the work uses every core and never holds up the event
// loop: sha256 of big files (inputs, fresh blobs), byte-for-byte comparison of file pairs
// (inspect, where reading a file of a layer means decompressing squashfs) and removing trees
// (a staged image of 100k entries: node's own recursive rm holds every path at once). Each
// worker reads with plain system calls into buffers it reuses, so memory stays flat.
// Comparisons are handed over in batches: one message per file pair would cost more than a
// small file's read. (prune-identical walks in the tree helper: layer/tree-ops.ts.)
// The workers start on first use and never keep the process alive while idle; an abort makes
// a worker give up at its next chunk.

import { cpus } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { workerThreads } from './lazy-builtins.js';

/** The worker, as source (eval): the same code runs from dist/ and from the TypeScript sources. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { openSync, readSync, closeSync, lstatSync, unlinkSync, readdirSync, rmdirSync } = require('node:fs');
const { createHash } = require('node:crypto');
const CHUNK = 1 << 20;
const bufA = Buffer.allocUnsafe(CHUNK);
const bufB = Buffer.allocUnsafe(CHUNK);
const check = (stop) => {
  if (Atomics.load(stop, 0) !== 0) throw Object.assign(new Error('stopped'), { code: 'ABORT_ERR' });
};
const readFull = (fd, buf, want) => {
  let n = 0;
  while (n < want) {
    const r = readSync(fd, buf, n, want - n, null);
    if (r === 0) break;
    n += r;
  }
  return n;
};
function hash(file, stop) {
  const fd = openSync(Buffer.from(file), 'r');
  try {
    const h = createHash('sha256');
    for (;;) {
      check(stop);
      const n = readSync(fd, bufA, 0, CHUNK, null);
      if (n === 0) return h.digest('hex');
      h.update(bufA.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
}
// Both files had \`size\` bytes when they were looked at: reading that much settles it (no
// read to find the end: on a small file that is a third of the system calls).
function equal(a, b, size, stop) {
  const fa = openSync(Buffer.from(a), 'r');
  try {
    const fb = openSync(Buffer.from(b), 'r');
    try {
      for (let left = size; left > 0; ) {
        check(stop);
        const want = Math.min(CHUNK, left);
        const na = readFull(fa, bufA, want);
        const nb = readFull(fb, bufB, want);
        if (na !== want || nb !== want || bufA.compare(bufB, 0, want, 0, want) !== 0) return false;
        left -= want;
      }
      return true;
    } finally {
      closeSync(fb);
    }
  } finally {
    closeSync(fa);
  }
}
// Removes the tree at \`p\` (bytes) the way rm -rf --one-file-system does: a symlink is removed,
// never followed; a directory on another filesystem (a mount point) is refused. The type
// readdir gives is not trusted (a crafted squashfs can call a symlink a directory): every
// name is unlinked, and only one that the kernel says is a directory (EISDIR), lstat agreeing,
// is walked. Holds one directory's names per level, one system call per file. Paths are
// latin1 text (a char per byte, any bytes) written into one buffer for each call: a Buffer
// per name would be memory outside the heap that grows until a full collection.
const PATH_BUF = Buffer.allocUnsafe(4096);
const bytes = (p) => {
  if (p.length >= PATH_BUF.length) throw Object.assign(new Error('path too long (' + p.length + ' bytes)'), { code: 'ENAMETOOLONG' });
  return PATH_BUF.subarray(0, PATH_BUF.write(p, 0, 'latin1'));
};
const shown = (p) => Buffer.from(p, 'latin1').toString();
function rmtree(p, stop) {
  const top = Buffer.from(p).toString('latin1');
  let st;
  try {
    st = lstatSync(bytes(top));
  } catch (err) {
    if (err.code === 'ENOENT') return true;
    throw err;
  }
  if (!st.isDirectory()) {
    unlinkSync(bytes(top));
    return true;
  }
  const walk = (dir) => {
    check(stop);
    const names = readdirSync(bytes(dir), { encoding: 'latin1' });
    for (let i = 0; i < names.length; i++) {
      if ((i & 1023) === 1023) check(stop);
      const child = dir + '/' + names[i];
      try {
        unlinkSync(bytes(child));
        continue;
      } catch (err) {
        if (err.code !== 'EISDIR') throw err;
      }
      const cst = lstatSync(bytes(child));
      if (!cst.isDirectory()) throw new Error('cannot remove ' + shown(child) + ': it changed while being removed');
      if (cst.dev !== st.dev) throw Object.assign(new Error('cannot remove ' + shown(child) + ': another filesystem is mounted there'), { code: 'EXDEV' });
      walk(child);
    }
    rmdirSync(bytes(dir));
  };
  walk(top);
  return true;
}
const failure = (err) => ({ message: err.message, code: err.code, errno: err.errno, syscall: err.syscall });
parentPort.on('message', ({ jobs, stops }) => {
  const out = jobs.map((j) => {
    // The job's own flag: set when what it was asked for is aborted.
    const stop = new Int32Array(stops.buffer, j.cell * 4, 1);
    try {
      if (j.op === 'rmtree') return { value: rmtree(j.path, stop) };
      return j.op === 'hash' ? { value: hash(j.file, stop) } : { value: equal(j.a, j.b, j.size, stop) };
    } catch (err) {
      return { error: failure(err) };
    }
  });
  parentPort.postMessage(out);
});
`;

type Op =
  | { op: 'hash'; file: Uint8Array }
  | { op: 'rmtree'; path: Uint8Array }
  | { op: 'equal'; a: Uint8Array; b: Uint8Array; size: number };
interface WireError {
  message: string;
  code?: string;
  errno?: number;
  syscall?: string;
}
type Result = { value: string | boolean } | { error: WireError };

interface Job {
  op: Op;
  /** Its signal's cell in FilePool.stops (0: never stopped). */
  cell: number;
  resolve: (value: string | boolean) => void;
  reject: (err: Error) => void;
  signal?: AbortSignal;
  done: boolean;
}

interface Slot {
  worker: Worker;
  /** Batches sent and not answered yet, oldest first (answers come in order). */
  batches: Job[][];
}

const SIZE = Math.max(1, Math.min(2, cpus().length));
/** Comparisons given to a worker at once. */
const BATCH = 64;
/**
 * Batches a worker holds at once: while this thread takes in one batch's answers and hands
 * out more work, the worker goes on with the next instead of waiting (with one, workers
 * comparing small files sat idle 40% of the time).
 */
const IN_FLIGHT = 2;
/**
 * Stop flags shared with the workers, one per signal with jobs in flight (taken in turn; 0 is
 * never set): an aborted signal stops its own jobs, not others batched with them (a layer's
 * work dropped mid-build while another layer hashes its blob).
 */
const STOP_CELLS = 64;

/** Work that takes a worker for long (a big file, a whole tree): never batched with others. */
const isLong = (j: Job) => j.op.op === 'hash' || j.op.op === 'rmtree';

class FilePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  /** Jobs not finished, by the signal that may abort them: one listener per signal, not per job. */
  private readonly bySignal = new Map<AbortSignal, { jobs: Set<Job>; onAbort: () => void; cell: number }>();
  private readonly stops = new Int32Array(new SharedArrayBuffer(4 * STOP_CELLS));
  private nextCell = 1;

  run(op: Op, signal?: AbortSignal): Promise<string | boolean> {
    signal?.throwIfAborted();
    return new Promise<string | boolean>((resolve, reject) => {
      const job: Job = { op, cell: 0, resolve, reject, signal, done: false };
      if (signal) {
        const w = this.watch(signal);
        w.jobs.add(job);
        job.cell = w.cell;
      }
      this.queue.push(job);
      this.dispatch();
    });
  }

  private watch(signal: AbortSignal): { jobs: Set<Job>; cell: number } {
    let w = this.bySignal.get(signal);
    if (!w) {
      const jobs = new Set<Job>();
      const cell = this.nextCell;
      this.nextCell = (this.nextCell % (STOP_CELLS - 1)) + 1;
      Atomics.store(this.stops, cell, 0);
      const onAbort = () => {
        // A worker busy with one of its jobs gives up at its next chunk or file.
        Atomics.store(this.stops, cell, 1);
        for (const job of [...jobs]) {
          const queued = this.queue.indexOf(job);
          if (queued >= 0) this.queue.splice(queued, 1);
          this.finish(job, { error: { message: 'aborted' } }, signal.reason);
        }
      };
      w = { jobs, onAbort, cell };
      this.bySignal.set(signal, w);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    return w;
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      // An idle worker first, then a new one, then one with room for another batch; a hash or
      // a tree's removal (long work, alone) only goes to an idle one.
      const long = isLong(this.queue[0]!);
      let slot = this.slots.find((s) => s.batches.length === 0);
      if (!slot && this.slots.length < SIZE) slot = this.spawn();
      if (!slot && !long) slot = this.slots.find((s) => s.batches.length < IN_FLIGHT && !s.batches.some((b) => isLong(b[0]!)));
      if (!slot) return;
      const take = long ? 1 : Math.min(BATCH, Math.ceil(this.queue.length / SIZE));
      const batch: Job[] = [];
      while (batch.length < take && this.queue.length > 0 && (batch.length === 0 || !isLong(this.queue[0]!))) batch.push(this.queue.shift()!);
      slot.batches.push(batch);
      slot.worker.ref();
      slot.worker.postMessage({ jobs: batch.map((j) => ({ ...j.op, cell: j.cell })), stops: this.stops });
    }
  }

  private spawn(): Slot {
    const worker = new (workerThreads().Worker)(WORKER_SOURCE, {
      eval: true,
      // Its garbage is short-lived (a directory's entries): a small young generation keeps a
      // long walk's memory flat instead of growing it to V8's 48 MB.
      resourceLimits: { maxYoungGenerationSizeMb: 3 },
    });
    const slot: Slot = { worker, batches: [] };
    worker.on('message', (results: Result[]) => {
      const batch = slot.batches.shift() ?? [];
      if (slot.batches.length === 0) worker.unref();
      batch.forEach((job, i) => this.finish(job, results[i] ?? { error: { message: 'no result from the file thread' } }));
      this.dispatch();
    });
    const lose = (err: Error) => {
      const i = this.slots.indexOf(slot);
      if (i < 0) return;
      this.slots.splice(i, 1);
      for (const job of slot.batches.flat()) this.finish(job, { error: { message: err.message } });
      slot.batches = [];
      this.dispatch();
    };
    worker.on('error', lose);
    worker.on('exit', (code) => lose(new Error(`a file thread exited (code ${code})`)));
    worker.unref();
    this.slots.push(slot);
    return slot;
  }

  private finish(job: Job, r: Result, abortReason?: unknown): void {
    if (job.done) return;
    job.done = true;
    const w = job.signal ? this.bySignal.get(job.signal) : undefined;
    if (w && w.jobs.delete(job) && w.jobs.size === 0) {
      job.signal!.removeEventListener('abort', w.onAbort);
      this.bySignal.delete(job.signal!);
    }
    if (abortReason !== undefined) job.reject(abortReason instanceof Error ? abortReason : new Error('aborted'));
    else if ('value' in r) job.resolve(r.value);
    else job.reject(Object.assign(new Error(r.error.message), r.error));
  }
}

let pool: FilePool | undefined;
const thePool = () => (pool ??= new FilePool());

/** The hex sha256 of the file named by these bytes. */
export async function hashOnWorker(file: Buffer, signal?: AbortSignal): Promise<string> {
  return (await thePool().run({ op: 'hash', file: new Uint8Array(file) }, signal)) as string;
}

/**
 * Removes the file or tree named by these bytes on a file thread, as `rm -rf
 * --one-file-system` would (nothing if it is absent; a symlink itself, never where it leads).
 * Memory stays flat however many entries it holds: node's own recursive rm (fs.rm) starts
 * the removal of every entry of a tree at once (100 MB more for 130k entries).
 */
export async function removeTreeOnWorker(file: string | Buffer, signal?: AbortSignal): Promise<void> {
  await thePool().run({ op: 'rmtree', path: new Uint8Array(Buffer.from(file)) }, signal);
}

/** Whether two files (named by these bytes), both `size` bytes long when looked at, hold the same bytes. */
export async function equalOnWorker(a: Buffer, b: Buffer, size: number, signal?: AbortSignal): Promise<boolean> {
  return (await thePool().run({ op: 'equal', a: new Uint8Array(a), b: new Uint8Array(b), size }, signal)) as boolean;
}

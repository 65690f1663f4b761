// Process running, timing and cleanup for the benchmark. Every child runs in its own
// process group (so an interrupt kills exactly what the bench started, nothing else), and
// every mount or loop device made under a directory of ours can be found and undone.

import { spawn } from 'node:child_process';
import { promises as fs, createReadStream, createWriteStream } from 'node:fs';
import path from 'node:path';
import { formatBytes } from '../dist/cli/render.js';

/** Process groups started by the bench and still running. */
const live = new Set();

export function log(...args) {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...args);
}

/**
 * Runs argv; resolves with {code, signal, seconds, stdout, lines:[{t, line}]}. `lines` are the
 * stderr+stdout lines with arrival times (ms since start), kept when `keepLines` is set.
 * Rejects on a non-zero exit unless `allowFail`.
 */
export function run(argv, o = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), {
      cwd: o.cwd,
      env: o.env ? { ...process.env, ...o.env } : process.env,
      stdio: [o.stdinFile ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: true,
    });
    live.add(child.pid);
    if (o.stdinFile) createReadStream(o.stdinFile).pipe(child.stdin);
    const logFile = o.logFile ? createWriteStream(o.logFile, { flags: 'a' }) : undefined;
    const lines = [];
    const tail = [];
    let stdout = '';
    const partial = { out: '', err: '' };
    const onData = (which) => (chunk) => {
      const now = Number(process.hrtime.bigint() - started) / 1e6;
      const text = chunk.toString('utf8');
      if (which === 'out' && o.captureStdout) stdout += text;
      logFile?.write(chunk);
      const parts = (partial[which] + text).split(/\r?\n|\r/);
      partial[which] = parts.pop() ?? '';
      for (const line of parts) {
        if (o.keepLines) lines.push({ t: now, line });
        tail.push(line);
        if (tail.length > 40) tail.shift();
        o.onLine?.(line, now);
      }
    };
    child.stdout.on('data', onData('out'));
    child.stderr.on('data', onData('err'));
    child.on('error', (err) => {
      live.delete(child.pid);
      reject(err);
    });
    child.on('close', (code, signal) => {
      live.delete(child.pid);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      for (const which of ['out', 'err']) {
        if (partial[which] !== '') {
          if (o.keepLines) lines.push({ t: seconds * 1000, line: partial[which] });
          tail.push(partial[which]);
        }
      }
      const finish = () => {
        const res = { code, signal, seconds, stdout, lines, tail };
        if ((code !== 0 || signal) && !o.allowFail) {
          const err = new Error(`${argv.join(' ')} failed (${signal ?? `exit ${code}`}):\n  | ${tail.slice(-25).join('\n  | ')}`);
          err.result = res;
          reject(err);
        } else resolve(res);
      };
      if (logFile) logFile.end(finish);
      else finish();
    });
  });
}

/** Runs a shell command line; stdout captured and returned trimmed. */
export async function sh(cmd, o = {}) {
  const res = await run(['sh', '-c', cmd], { ...o, captureStdout: true });
  return res.stdout.trim();
}

/** Kills the process groups the bench started (only those). */
export function killChildren(signal = 'SIGTERM') {
  for (const pid of live) {
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }
}

export function liveChildren() {
  return live.size;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function unescapeMountPath(s) {
  return s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount points at or below dir, most recent first (the order to unmount them in). */
export async function mountsUnder(dir) {
  const text = await fs.readFile('/proc/self/mountinfo', 'utf8');
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const out = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 5) continue;
    const target = unescapeMountPath(f[4]);
    if (target === dir || target.startsWith(prefix)) out.push(target);
  }
  return out.reverse();
}

/** Unmounts everything at or below dir (lazily as a last resort); returns how many. */
export async function unmountUnder(dir) {
  let n = 0;
  for (let pass = 0; pass < 3; pass++) {
    const mounts = await mountsUnder(dir);
    if (mounts.length === 0) break;
    for (const m of mounts) {
      const res = await run(['umount', m], { allowFail: true });
      if (res.code !== 0) {
        await sleep(300);
        const again = await run(['umount', m], { allowFail: true });
        if (again.code !== 0) await run(['umount', '-l', m], { allowFail: true });
      }
      n++;
    }
  }
  return n;
}

/** Detaches loop devices whose backing file lies below dir. */
export async function detachLoopsUnder(dir) {
  const res = await run(['losetup', '--list', '--noheadings', '--raw', '--output', 'NAME,BACK-FILE'], { allowFail: true, captureStdout: true });
  let n = 0;
  for (const line of res.stdout.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp < 0) continue;
    const dev = line.slice(0, sp);
    const back = line.slice(sp + 1).replace(/ \(deleted\)$/, '');
    if (back.startsWith(dir.endsWith('/') ? dir : `${dir}/`)) {
      await run(['losetup', '-d', dev], { allowFail: true });
      n++;
    }
  }
  return n;
}

/** Everything this bench made under dir: mounts, then loop devices, then the tree itself. */
export async function cleanupDir(dir, { remove = true } = {}) {
  const mounts = await unmountUnder(dir);
  const loops = await detachLoopsUnder(dir);
  if (remove) await fs.rm(dir, { recursive: true, force: true });
  return { mounts, loops };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function fmtBytes(n) {
  return n === undefined || n === null || Number.isNaN(n) ? 'n/a' : formatBytes(n);
}

export const fmtS = (s) => (s === undefined || Number.isNaN(s) ? 'n/a' : `${s.toFixed(s < 10 ? 3 : 1)} s`);

export async function fileSize(p) {
  return (await fs.stat(p)).size;
}

export async function exists(p) {
  return fs.lstat(p).then(
    () => true,
    () => false,
  );
}

/** Total apparent size and entry count of a tree (no symlink following). */
export async function treeStats(dir) {
  let bytes = 0;
  let entries = 0;
  const visit = async (d) => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      entries++;
      const p = path.join(d, e.name);
      if (e.isDirectory()) await visit(p);
      else if (e.isFile()) bytes += (await fs.lstat(p)).size;
    }
  };
  await visit(dir);
  return { bytes, entries };
}


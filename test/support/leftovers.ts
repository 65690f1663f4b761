// What a run may leave behind, seen from outside: mounts, loop devices, processes, temp
// files, an inconsistent cache. Root tests assert there is none, and clean up what they made.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, expect } from 'vitest';
import { tempDir } from './project.js';
import { mountsBelow } from './rootfs.js';

/** Loop devices whose backing file lies below dir. */
export function loopDevicesBackedBy(dir: string): string[] {
  const out: string[] = [];
  for (const dev of readdirSync('/sys/block').filter((d) => d.startsWith('loop'))) {
    let backing: string;
    try {
      backing = readFileSync(`/sys/block/${dev}/loop/backing_file`, 'utf8').trim();
    } catch {
      continue; // not attached
    }
    if (backing === dir || backing.startsWith(`${dir}/`)) out.push(`/dev/${dev} (${backing})`);
  }
  return out;
}

/** State letter of /proc/PID/stat, or undefined when the process is gone. */
function stateOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** Whether a process runs (a zombie waiting to be reaped counts as gone). */
export function isRunning(pid: number): boolean {
  const s = stateOf(pid);
  return s !== undefined && s !== 'Z';
}

function livePids(): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((pid) => pid !== process.pid);
}

/** Running processes whose environment holds `NAME=value` (a token only a test's steps carry). */
export function processesWithEnv(name: string, value: string): number[] {
  const needle = `${name}=${value}`;
  return livePids().filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(needle) && isRunning(pid);
    } catch {
      return false;
    }
  });
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Running processes named `comm` whose parent chain reaches `ancestor`. */
export function descendantsNamed(ancestor: number, comm: string): number[] {
  return livePids().filter((pid) => {
    let name: string;
    try {
      name = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      return false;
    }
    if (name !== comm || !isRunning(pid)) return false;
    for (let p = parentOf(pid), hops = 0; p !== undefined && p > 1 && hops < 64; p = parentOf(p), hops++) {
      if (p === ancestor) return true;
    }
    return false;
  });
}

export async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Entries of dir (recursively) whose name ends in `.tmp`. */
export function tempFilesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[]).filter((n) => n.endsWith('.tmp'));
}

/**
 * Problems of a cache directory: blobs whose content does not match their name, key records
 * that do not parse or name a missing blob, and leftovers in tmp/.
 */
export function cacheProblems(cacheDir: string): string[] {
  const problems: string[] = [];
  const blobs = path.join(cacheDir, 'blobs/sha256');
  const names = existsSync(blobs) ? readdirSync(blobs) : [];
  for (const name of names) {
    if (name.endsWith('.tmp') || sha256(path.join(blobs, name)) !== name) problems.push(`blob ${name} does not match its name`);
  }
  const keys = path.join(cacheDir, 'keys');
  for (const name of existsSync(keys) ? readdirSync(keys) : []) {
    try {
      const rec = JSON.parse(readFileSync(path.join(keys, name), 'utf8')) as { digest: string };
      if (!names.includes(rec.digest)) problems.push(`key ${name} names a missing blob ${rec.digest}`);
    } catch {
      problems.push(`key ${name} does not parse`);
    }
  }
  const tmp = path.join(cacheDir, 'tmp');
  for (const name of existsSync(tmp) ? readdirSync(tmp) : []) problems.push(`leftover ${path.join('tmp', name)}`);
  return problems;
}

/** Everything a run can leave below dir: mounts, loop devices backed by its files. */
export async function leftoversBelow(dir: string): Promise<string[]> {
  // An auto-clear loop device may detach a moment after its last unmount.
  const loops = await waitFor('loop devices to detach', () => (loopDevicesBackedBy(dir).length === 0 ? [] : false), 3000).catch(() =>
    loopDevicesBackedBy(dir),
  );
  return [...mountsBelow(dir).map((m) => `mount ${m}`), ...loops.map((l) => `loop ${l}`)];
}

/**
 * Test teardown: kills the given processes (those the test started), unmounts whatever is
 * left below dir, detaches loop devices backed by its files, removes it. Returns what it had
 * to clean, so the test can assert it was nothing.
 */
export function removeTestDir(dir: string, pids: number[] = []): string[] {
  const cleaned: string[] = [];
  for (const pid of pids) {
    if (!isRunning(pid)) continue;
    cleaned.push(`process ${pid}`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  for (const m of mountsBelow(dir).reverse()) {
    cleaned.push(`mount ${m}`);
    try {
      execFileSync('umount', [m], { stdio: 'ignore' });
    } catch {
      execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    }
  }
  for (const l of loopDevicesBackedBy(dir)) {
    cleaned.push(`loop ${l}`);
    execFileSync('losetup', ['-d', l.split(' ')[0]!], { stdio: 'ignore' });
  }
  if (mountsBelow(dir).length === 0) rmSync(dir, { recursive: true, force: true });
  return cleaned;
}

/**
 * Temp dirs for the tests of a file: after each test, every dir made is checked for mounts or
 * loop devices the CLI left, then removed. Returns the function that makes one. (Vitest runs
 * after-hooks newest first: a file's own teardown registered after this one runs before it.)
 */
export function leftoverCheckedDirs(): (label: string) => string {
  const dirs: string[] = [];
  afterEach(async () => {
    const made = dirs.splice(0);
    const left = (await Promise.all(made.map((d) => leftoversBelow(d)))).flat();
    const cleaned = made.flatMap((d) => removeTestDir(d));
    expect(left, 'mounts or loop devices left by the CLI').toEqual([]);
    expect(cleaned).toEqual([]);
  });
  return (label) => {
    const d = tempDir(label);
    dirs.push(d);
    return d;
  };
}

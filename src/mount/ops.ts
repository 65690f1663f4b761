// Mounts as data: each operation describes itself (for --dry-run and logs) and knows how
// to apply and undo itself. `Scope` makes sure that what was applied is undone.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { MOUNT_OPTIONS_MAX, OVERLAY_MAX_LOWERS } from '../plan/stack-limits.js';
import type { Runner } from '../process/run.js';
import { failureIn } from '../failure.js';
import { formatArgv } from '../process/argv.js';
import { isMountpoint, mountsUnder } from './mountinfo.js';
import { type MountCall, mounter, MS_RDONLY } from './mounter.js';

export interface MountOp {
  readonly target: string;
  /** The directory the mount command runs in (relative paths in its options start there). */
  readonly cwd?: string;
  /** The mount command as --dry-run shows it: the way the runner logs the command it runs. */
  describe(): string;
  argv(): string[];
  /** The same mount as one mount(2) call, when it is that simple (no loop device): mounter.ts. */
  readonly call?: MountCall;
}

function mountOp(target: string, argv: string[], cwd?: string, call?: MountCall): MountOp {
  return {
    target,
    ...(cwd !== undefined ? { cwd } : {}),
    ...(call !== undefined ? { call } : {}),
    describe: () => `${formatArgv(argv)}${cwd !== undefined ? `   (in ${cwd})` : ''}`,
    argv: () => [...argv],
  };
}

/** A squashfs image, read-only through a loop device that goes away with the mount. */
export function squashfsMount(file: string, target: string): MountOp {
  return mountOp(target, ['mount', '-t', 'squashfs', '-o', 'ro,loop', file, target]);
}

export function tmpfsMount(target: string, size: string): MountOp {
  const data = `size=${size},mode=0755`;
  return mountOp(target, ['mount', '-t', 'tmpfs', '-o', data, 'sqsh-layers', target], undefined, { fstype: 'tmpfs', source: 'sqsh-layers', target, flags: 0, data });
}

export interface OverlaySpec {
  /** Nearest first, like overlayfs's own lowerdir= list. */
  lowers: string[];
  upper?: string;
  work?: string;
  /** Portability options the kernel accepted (see features.ts). */
  options: string[];
  /**
   * The mount command runs here and names every dir relative to it: the legacy mount(2) takes
   * one page of options, which absolute paths under a long run dir fill at a few dozen lowers.
   * overlayfs resolves relative lowerdir, upperdir and workdir against the mounter's cwd.
   */
  cwd: string;
}

/** The -o text of an overlay mount: dirs relative to spec.cwd, nearest lower first. */
export function overlayOptions(spec: OverlaySpec): string {
  if (spec.lowers.length === 0 || spec.lowers.length > OVERLAY_MAX_LOWERS) {
    throw new Error(`bug: an overlay needs 1 to ${OVERLAY_MAX_LOWERS} lowers, found ${spec.lowers.length} (the plan should have refused the stack)`);
  }
  const rel = (p: string) => checkOverlayPath(path.relative(spec.cwd, p) || '.');
  const opts = [`lowerdir=${spec.lowers.map(rel).join(':')}`];
  if (spec.upper && spec.work) opts.push(`upperdir=${rel(spec.upper)}`, `workdir=${rel(spec.work)}`);
  else opts.push('ro');
  opts.push(...spec.options);
  const text = opts.join(',');
  if (Buffer.byteLength(text) > MOUNT_OPTIONS_MAX) {
    throw new Error(`bug: overlay options of ${Buffer.byteLength(text)} bytes do not fit the ${MOUNT_OPTIONS_MAX} that mount(2) takes: ${text.slice(0, 200)}...`);
  }
  return text;
}

/** An overlayfs mount; without upper it is a read-only view of the lowers. */
export function overlayMount(spec: OverlaySpec, target: string): MountOp {
  const options = overlayOptions(spec);
  // mount(8) takes `ro` as the read-only flag; the rest are overlayfs's own.
  const all = options.split(',');
  const own = all.filter((o) => o !== 'ro');
  const call = { fstype: 'overlay', source: 'sqsh-layers', target, flags: own.length < all.length ? MS_RDONLY : 0, data: own.join(',') };
  return mountOp(target, ['mount', '-t', 'overlay', '-o', options, 'sqsh-layers', target], spec.cwd, call);
}

/** Applies a mount: through the mount helper when it is one mount(2) call, else by mount(8). */
export async function applyMount(runner: Runner, op: MountOp): Promise<void> {
  const m = op.call && mounter();
  if (m) await runner.runDirect(op.argv(), { cwd: op.cwd }, () => m.mount(op.call!, op.cwd ?? process.cwd()));
  else await runner.run(op.argv(), { cwd: op.cwd });
}

function checkOverlayPath(p: string): string {
  if (/[,:\\]/.test(p)) throw new Error(`bug: mount path with a "," or ":" cannot be an overlay lower: ${p}`);
  return p;
}

/** Unmounts `target`, waiting out a short busy period; a lazy unmount is the last resort. */
export async function unmount(runner: Runner, target: string, warn: (m: string) => void): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    if (!(await isMountpoint(target))) return;
    try {
      await umountOnce(runner, target, false);
      return;
    } catch (err) {
      if (!failureIn(err, 'command')) throw err;
      if (attempt >= 20) {
        warn(`${target} stayed busy; detaching it lazily (it goes away when its last user exits)`);
        await umountOnce(runner, target, true);
        return;
      }
      await new Promise((r) => setTimeout(r, 100 + attempt * 50));
    }
  }
}

/** One umount(8), or its umount2(2) through the mount helper. */
async function umountOnce(runner: Runner, target: string, lazy: boolean): Promise<void> {
  const argv = lazy ? ['umount', '-l', target] : ['umount', target];
  const m = mounter();
  if (m) await runner.runDirect(argv, {}, () => m.umount(target, lazy));
  else await runner.run(argv);
}

/** Unmounts every mount at or below `dir`, nested ones first. */
export async function unmountAllUnder(runner: Runner, dir: string, warn: (m: string) => void): Promise<number> {
  let count = 0;
  for (const m of await mountsUnder(dir)) {
    await unmount(runner, m.target, warn);
    count++;
  }
  return count;
}

/** A stack of undo actions, run in reverse order; every one runs even if another fails. */
export class Scope {
  private readonly undos: { label: string; fn: () => Promise<void> }[] = [];

  constructor(
    private readonly runner: Runner,
    /** Runs cleanup commands even after an interrupt (its signal never aborts). */
    private readonly cleanupRunner: Runner,
    private readonly warn: (m: string) => void,
  ) {}

  async mount(op: MountOp): Promise<string> {
    await fs.mkdir(op.target, { recursive: true });
    // Registered before applying: an interrupt mid-mount must still try to undo it.
    this.defer(`unmount ${op.target}`, () => unmountAllUnder(this.cleanupRunner, op.target, this.warn).then(() => {}));
    await applyMount(this.runner, op);
    return op.target;
  }

  defer(label: string, fn: () => Promise<void>): void {
    this.undos.push({ label, fn });
  }

  /** Undoes the action registered under `label` now, and forgets it. */
  async release(label: string): Promise<void> {
    const i = this.undos.findLastIndex((u) => u.label === label);
    if (i < 0) throw new Error(`bug: nothing to release under "${label}"`);
    const [u] = this.undos.splice(i, 1);
    await u!.fn();
  }

  async releaseMount(target: string): Promise<void> {
    await this.release(`unmount ${target}`);
  }

  /** Runs every undo, newest first; returns the failures instead of stopping at the first. */
  async close(): Promise<Error[]> {
    const errors: Error[] = [];
    while (this.undos.length > 0) {
      const u = this.undos.pop()!;
      try {
        await u.fn();
      } catch (err) {
        errors.push(new Error(`cleanup "${u.label}" failed: ${(err as Error).message}`));
      }
    }
    return errors;
  }
}

// Mounts as data: each operation describes itself (for --dry-run and logs) and knows how
// to apply and undo itself. `Scope` makes sure that what was applied is undone.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { MOUNT_OPTIONS_MAX, OVERLAY_MAX_LOWERS } from '../plan/stack-limits.js';
import type { Runner } from '../process/run.js';
import { failureIn } from '../failure.js';
import { formatArgv } from '../process/argv.js';
import { isMountpoint, mountsUnder } from './mountinfo.js';

export interface MountOp {
  readonly target: string;
  /** The directory the mount command runs in (relative paths in its options start there). */
  readonly cwd?: string;
  /** The mount command as --dry-run shows it: the way the runner logs the command it runs. */
  describe(): string;
  argv(): string[];
}

function mountOp(target: string, argv: string[], cwd?: string): MountOp {
  return {
    target,
    ...(cwd !== undefined ? { cwd } : {}),
    describe: () => `${formatArgv(argv)}${cwd !== undefined ? `   (in ${cwd})` : ''}`,
    argv: () => [...argv],
  };
}

/** A squashfs image, read-only through a loop device that goes away with the mount. */
export function squashfsMount(file: string, target: string): MountOp {
  return mountOp(target, ['mount', '-t', 'squashfs', '-o', 'ro,loop', file, target]);
}

export function tmpfsMount(target: string, size: string): MountOp {
  return mountOp(target, ['mount', '-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'sqsh-layers', target]);
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
  return mountOp(target, ['mount', '-t', 'overlay', '-o', overlayOptions(spec), 'sqsh-layers', target], spec.cwd);
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
      await runner.run(['umount', target]);
      return;
    } catch (err) {
      if (!failureIn(err, 'command')) throw err;
      if (attempt >= 20) {
        warn(`${target} stayed busy; detaching it lazily (it goes away when its last user exits)`);
        await runner.run(['umount', '-l', target]);
        return;
      }
      await new Promise((r) => setTimeout(r, 100 + attempt * 50));
    }
  }
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
    await this.runner.run(op.argv(), { cwd: op.cwd });
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

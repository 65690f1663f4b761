// Mount points that a sandbox needs inside a layer root (/proc, /dev, a bind target...)
// are machinery, not content: what we had to create is removed afterwards, and the
// directories it was created in get their times back, so nothing of it reaches the layer.
// What a step claimed (put content in, or gave its own mode, owner or time) stays.

import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';

export interface MountpointRequest {
  /** Absolute path inside the root. */
  path: string;
  type: 'dir' | 'file';
}

interface Created {
  host: string;
  type: MountpointRequest['type'];
  parent: string;
  /** Identity and attributes right after we created it (for dirs: after our last creation inside). */
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
}

interface ParentTimes {
  before: { atime: Date; mtime: Date };
  /** mtime right after our last creation in it. */
  after: number;
}

export class Mountpoints {
  private readonly created: Created[] = [];
  private readonly parents = new Map<string, ParentTimes>();
  constructor(
    private readonly root: string,
    /** In-root directories whose entries were touched (for pruning of copied-up parents): the step's set. */
    readonly touchedDirs = new Set<string>(),
  ) {}

  /**
   * Makes sure each requested path exists in the root. Returns the requests that can be
   * mounted; a path that runs through a symlink in the root is skipped (bwrap would follow
   * it to somewhere we did not check).
   */
  async prepare(requests: MountpointRequest[]): Promise<MountpointRequest[]> {
    const usable: MountpointRequest[] = [];
    for (const req of requests) {
      const parts = req.path.split('/').filter(Boolean);
      let host = this.root;
      let ok = true;
      for (let i = 0; i < parts.length; i++) {
        const last = i === parts.length - 1;
        const next = path.join(host, parts[i]!);
        const st = await fs.lstat(next).catch(() => undefined);
        if (st) {
          if (st.isSymbolicLink() || (!last && !st.isDirectory()) || (last && !fits(req.type, st))) {
            ok = false;
            break;
          }
        } else {
          const type = last ? req.type : 'dir';
          const pst = await fs.stat(host);
          if (type === 'dir') await fs.mkdir(next, { mode: 0o755 });
          else await fs.writeFile(next, '', { mode: 0o644 });
          const parentAfter = await fs.stat(host);
          const known = this.parents.get(host);
          this.parents.set(host, { before: known?.before ?? { atime: pst.atime, mtime: pst.mtime }, after: parentAfter.mtimeMs });
          // The parent may be one of ours: it is as we left it after this creation.
          const ours = this.created.find((c) => c.host === host);
          if (ours) ours.mtimeMs = parentAfter.mtimeMs;
          this.created.push({ host: next, type, parent: host, ...identity(await fs.lstat(next)) });
          this.touchedDirs.add('/' + path.relative(this.root, host));
        }
        host = next;
      }
      if (ok) usable.push(req);
    }
    return usable;
  }

  /** Removes what `prepare` created (if still as we left it) and restores its parents' times. */
  async cleanup(): Promise<void> {
    // A parent whose mtime moved since our last creation in it was changed by a step: it keeps
    // the times the step gave it (removing our entries would move them again); the others get
    // back the ones they had before us.
    const untouched = new Set<string>();
    const stepTimes = new Map<string, { atime: Date; mtime: Date }>();
    /** Each parent's times now, before anything of ours is removed. */
    const current = new Map<string, { atime: Date; mtime: Date }>();
    for (const [dir, t] of this.parents) {
      // Never through a symlink: a step may have put one in the place of a directory.
      const st = await fs.lstat(dir).catch(() => undefined);
      if (!st?.isDirectory()) continue;
      current.set(dir, { atime: st.atime, mtime: st.mtime });
      if (Math.abs(st.mtimeMs - t.after) < 1e-3) untouched.add(dir);
      else stepTimes.set(dir, current.get(dir)!);
    }
    // Judged before anything is removed: removing an entry changes its parent's mtime.
    const states: (Stats | undefined)[] = [];
    for (const c of this.created) states.push(await fs.lstat(c.host).catch(() => undefined));
    for (let i = this.created.length - 1; i >= 0; i--) {
      const c = this.created[i]!;
      const st = states[i];
      if (!st) continue;
      if (!this.stillOurs(c, st) || (c.type === 'dir' && (await fs.readdir(c.host)).length > 0)) {
        // A step put content there or claimed the entry: it is the step's now, and so is the
        // parent's time as it is (removing another of ours from it must not move it).
        untouched.delete(c.parent);
        const now = current.get(c.parent);
        if (now) stepTimes.set(c.parent, now);
        continue;
      }
      if (c.type === 'dir') await fs.rmdir(c.host);
      else await fs.unlink(c.host);
    }
    this.created.length = 0;
    const times = new Map([...untouched].map((dir) => [dir, this.parents.get(dir)!.before]));
    for (const [dir, t] of stepTimes) times.set(dir, t);
    const deepestFirst = [...times.keys()].sort((a, b) => b.length - a.length);
    for (const dir of deepestFirst) {
      const t = times.get(dir)!;
      await fs.lutimes(dir, t.atime, t.mtime).catch(() => {});
    }
    this.parents.clear();
  }

  /** The entry is the one we created, and no step gave it other attributes or content. */
  private stillOurs(c: Created, st: Stats): boolean {
    if (st.ino !== c.ino || st.mode !== c.mode || st.uid !== c.uid || st.gid !== c.gid) return false;
    if (Math.abs(st.mtimeMs - c.mtimeMs) >= 1e-3) return false;
    if (c.type === 'file') return st.size === 0;
    return true;
  }
}

function fits(type: MountpointRequest['type'], st: Stats): boolean {
  if (type === 'dir') return st.isDirectory();
  return !st.isDirectory();
}

function identity(st: Stats): Pick<Created, 'ino' | 'mode' | 'uid' | 'gid' | 'mtimeMs'> {
  return { ino: st.ino, mode: st.mode, uid: st.uid, gid: st.gid, mtimeMs: st.mtimeMs };
}

// Mount points that a sandbox needs inside a layer root (/proc, /dev, a bind target...)
// are machinery, not content: what we had to create is removed afterwards, and the
// directories it was created in get their times back, so nothing of it reaches the layer.

import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface MountpointRequest {
  /** Absolute path inside the root. */
  path: string;
  type: 'dir' | 'file';
}

interface Created {
  host: string;
  type: 'dir' | 'file';
  parent: string;
}

interface ParentTimes {
  before: { atime: Date; mtime: Date };
  /** mtime right after our last creation in it. */
  after: number;
}

export class Mountpoints {
  private readonly created: Created[] = [];
  private readonly parents = new Map<string, ParentTimes>();
  /** In-root directories whose entries were touched (for pruning of copied-up parents). */
  readonly touchedDirs = new Set<string>();

  constructor(private readonly root: string) {}

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
          if (st.isSymbolicLink() || (!last && !st.isDirectory()) || (last && (req.type === 'dir') !== st.isDirectory())) {
            ok = false;
            break;
          }
        } else {
          const type = last ? req.type : 'dir';
          const pst = await fs.stat(host);
          if (type === 'dir') await fs.mkdir(next, { mode: 0o755 });
          else await fs.writeFile(next, '', { mode: 0o644 });
          const after = (await fs.stat(host)).mtimeMs;
          const known = this.parents.get(host);
          this.parents.set(host, { before: known?.before ?? { atime: pst.atime, mtime: pst.mtime }, after });
          this.created.push({ host: next, type, parent: host });
          this.touchedDirs.add('/' + path.relative(this.root, host));
        }
        host = next;
      }
      if (ok) usable.push(req);
    }
    return usable;
  }

  /** Removes what `prepare` created (if still empty) and restores its parents' times. */
  async cleanup(): Promise<void> {
    // A parent whose mtime moved since our last creation in it was changed by a step: keep its time.
    const untouched = new Set<string>();
    for (const [dir, t] of this.parents) {
      const st = await fs.stat(dir).catch(() => undefined);
      if (st && Math.abs(st.mtimeMs - t.after) < 1e-3) untouched.add(dir);
    }
    while (this.created.length > 0) {
      const c = this.created.pop()!;
      const st = await fs.lstat(c.host).catch(() => undefined);
      if (!st) continue;
      if (c.type === 'dir') {
        if (!st.isDirectory()) continue;
        if ((await fs.readdir(c.host)).length > 0) {
          untouched.delete(c.parent); // a step put content there: it is the step's now
          continue;
        }
        await fs.rmdir(c.host);
      } else {
        if (!st.isFile() || st.size > 0) {
          untouched.delete(c.parent);
          continue;
        }
        await fs.unlink(c.host);
      }
    }
    const deepestFirst = [...untouched].sort((a, b) => b.length - a.length);
    for (const dir of deepestFirst) {
      const t = this.parents.get(dir)!;
      await fs.utimes(dir, t.before.atime, t.before.mtime).catch(() => {});
    }
    this.parents.clear();
  }
}

// copy: a project file or tree into the layer. Staged first in the layer's scratch space
// (in process when it is small and plain: stage-copy.ts; else by cp -a),
// where owner (default 0:0, like Docker's COPY) and mode are applied; then applied onto the
// root inside the sandbox, so symlinks already in the tree resolve inside the root (a small
// plain stage in process, resolving them the same way: apply-plain.ts).

import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { CopyStep } from '../recipe/types.js';
import { bytesOf, readNames } from '../layer/byte-path.js';
import { hostPath, mkdirInRoot, resolveInRoot } from '../layer/root-path.js';
import { type StepContext, stepFailure, type StepKindImpl } from './context.js';
import { applyTree, copyDirAttributes, freshStage } from './sandboxed.js';
import { applyPlainTree } from './apply-plain.js';
import { copyPlainTree } from './stage-copy.js';

/** Where a copied file lands: into `to` when it names a directory, else at `to` itself. */
async function fileTarget(ctx: StepContext, s: CopyStep): Promise<{ dir: string; name: string }> {
  const resolved = await resolveInRoot(ctx.root, s.to, true);
  const st = await fs.stat(bytesOf(hostPath(ctx.root, resolved))).catch(() => undefined);
  if (s.to.endsWith('/') || st?.isDirectory()) return { dir: s.to, name: path.basename(s.input.abs) };
  return { dir: path.posix.dirname(resolved), name: path.posix.basename(resolved) };
}

/** Project files may have names of any bytes too (layer/byte-path.ts). */
async function applyOwnerAndMode(dir: string, s: CopyStep, includeSelf: boolean): Promise<void> {
  const visit = async (p: string, self: boolean) => {
    const st = await fs.lstat(bytesOf(p));
    if (!self || includeSelf) {
      await fs.lchown(bytesOf(p), s.owner.uid, s.owner.gid);
      if (s.mode !== undefined && !st.isSymbolicLink()) {
        // Directories keep their search bits where the mode can read: "0644" gives 0755 dirs.
        const mode = st.isDirectory() ? s.mode | ((s.mode & 0o444) >> 2) : s.mode;
        await fs.chmod(bytesOf(p), mode);
      }
    }
    if (st.isDirectory()) for (const e of await readNames(p)) await visit(path.join(p, e.name), false);
  };
  await visit(dir, true);
}

export const copyStep: StepKindImpl<CopyStep> = {
  describe: (s) => `copy ${s.input.path} to ${s.to}${s.replace ? ' (replace)' : ''}`,
  tools: () => ['cp', 'rsync', 'bwrap'],
  async run(s, ctx) {
    const isDir = (await fs.stat(s.input.abs)).isDirectory();
    if (s.replace && !isDir) throw stepFailure(`replace needs a directory to copy, ${s.input.path} is a file`);
    const stage = await freshStage(ctx);
    // A tree's content goes into `to`; a file goes into (or becomes) `to` under its name.
    const target = isDir ? undefined : await fileTarget(ctx, s);
    const destDir = target?.dir ?? s.to;
    const destHost = await mkdirInRoot(ctx.root, destDir);
    const destInRoot = await resolveInRoot(ctx.root, destDir, true);
    const [from, into] = target ? [s.input.abs, path.join(stage, target.name)] : [`${s.input.abs}/.`, `${stage}/`];
    const plain = copyPlainTree(s.input.abs, into, isDir);
    if (!plain) await ctx.runner.run(['cp', '-a', '--', from, into]);
    await applyOwnerAndMode(stage, s, false);
    await copyDirAttributes(destHost, stage);
    // A small plain stage is applied in process when nothing in the root needs rsync's care.
    if (plain && !s.replace && applyPlainTree(ctx.root, stage, destInRoot)) return;
    await applyTree(ctx, stage, destInRoot, s.replace);
  },
};

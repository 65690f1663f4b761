// Running host tools with a layer root (or a staging tree) as their `/`, and applying a
// staged tree onto the layer with rsync. Shared by restore, untar and copy.

import { type BigIntStats, promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { bytesOf, readNames } from '../layer/byte-path.js';
import { hostPath, mkdirInRoot, resolveInRoot } from '../layer/root-path.js';
import { Mountpoints } from '../mount/mountpoints.js';
import { HOST_DIR } from '../mount/host-tools.js';
import { filterSandboxArgv, pipeWithSeccomp, TOOL_ENV, toolSandboxArgv, toolSandboxMountpoints, withSeccomp } from '../mount/sandbox.js';
import { FailureError } from '../failure.js';
import { removeTreeOnWorker } from '../process/file-workers.js';
import { asStepFailure, type StepContext, stepFailure } from './context.js';

export interface ToolRun {
  /** Host directory that becomes the tool's `/`. */
  root: string;
  /** In-root working directory. */
  chdir: string;
  tool: string;
  args: string[];
  /** A project input, visible read-only to the tool at HOST_DIR/input (or fed to `decompress`). */
  input?: string;
  /** A host decompressor, sandboxed on its own, that reads `input` and feeds the tool's stdin. */
  decompress?: string[];
  extraBinds?: { host: string; name: string }[];
  /** Lines of output that are noise (matched lines are not shown). */
  quiet?: RegExp;
  okCodes?: number[];
}

/** xattr names the tool sandboxes cannot write: trusted.*, and security.* but security.capability. */
export const PRIVILEGED_XATTRS = ['system.*', 'trusted.*', 'security.[!c]*'];

/** Where a tool sees ToolRun.input. */
export const INPUT_IN_ROOT = `${HOST_DIR}/input`;

/** How to start host tool `name` in a sandbox; a missing one is the step's failure. */
async function hostCommand(ctx: StepContext, name: string): Promise<{ loader: string[]; program: string }> {
  const cmd = await ctx.tools.command(name);
  if (!cmd) throw new FailureError({ reason: 'missing-tool', tool: name });
  return cmd;
}

export async function runTool(ctx: StepContext, t: ToolRun): Promise<void> {
  const tool = await hostCommand(ctx, t.tool);
  if (!ctx.tools.enterRoot) {
    throw stepFailure(`cannot sandbox ${t.tool}: enter-root.so, the tool sandbox's helper, is not built (npm run build compiles it; it needs gcc)`);
  }
  const mountpoints = new Mountpoints(t.root, ctx.touchedDirs);
  try {
    const wanted = toolSandboxMountpoints();
    const usable = await mountpoints.prepare(wanted);
    if (usable.length < wanted.length) {
      throw stepFailure(
        `cannot run ${t.tool} in the layer root: its sandbox needs the directory ${HOST_DIR} there, and the root has a symlink or another kind of file in its place`,
      );
    }
    const binds = [...(t.extraBinds ?? [])];
    if (t.input && !t.decompress) binds.push({ host: t.input, name: 'input' });
    let argv = toolSandboxArgv({ root: t.root, tools: ctx.tools, chdir: t.chdir, extraBinds: binds, tool, args: t.args, env: TOOL_ENV });
    let stdinFile: string | undefined;
    if (t.decompress) {
      const [name, ...args] = t.decompress;
      argv = pipeWithSeccomp(ctx.tools, filterSandboxArgv(ctx.tools, await hostCommand(ctx, name!), args), argv);
      stdinFile = t.input;
    } else {
      argv = withSeccomp(ctx.tools, argv);
    }
    await ctx.runner.run(argv, {
      clearEnv: true,
      env: { PATH: ctx.runner.env.PATH ?? '/usr/bin:/bin' },
      stdinFile,
      okCodes: t.okCodes,
      onLine: (line) => {
        if (!t.quiet?.test(line)) ctx.onLine(line);
      },
      tailLines: 40,
    });
  } catch (err) {
    // The command is the sandbox (and a decompressor) around the tool: the tool is what the user knows.
    throw asStepFailure(err, t.tool, t.quiet);
  } finally {
    await mountpoints.cleanup();
  }
}

/**
 * Makes the in-root directory `destInRoot` hold what `stage` holds: new and changed entries
 * are copied (content compared by checksum, so identical files are not copied up), and with
 * `deleteExtra` entries absent from the stage are deleted (whiteouts for lower entries).
 */
export async function applyTree(ctx: StepContext, stage: string, destInRoot: string, deleteExtra: boolean): Promise<void> {
  // The privileged xattr namespaces are not the tool's to write (it runs without CAP_SYS_ADMIN);
  // system.* are the ACLs, which -A copies.
  const args = ['-aHAX', '--numeric-ids', '--checksum', '--filter', `P ${HOST_DIR}`, ...PRIVILEGED_XATTRS.map((x) => `--filter=-x ${x}`)];
  // Merging keeps the root's symlinks to directories (a merged-/usr /lib -> usr/lib) and
  // writes through them, in-root; replacing makes the tree exactly the stage, so no following
  // (and --delete never works through a symlink).
  args.push(deleteExtra ? '--delete' : '--keep-dirlinks');
  if (!deleteExtra) await matchDirlinks(ctx.root, stage, destInRoot);
  const dest = destInRoot.endsWith('/') ? destInRoot : `${destInRoot}/`;
  args.push(`${HOST_DIR}/stage/`, dest);
  await runTool(ctx, { root: ctx.root, chdir: '/', tool: 'rsync', args, extraBinds: [{ host: stage, name: 'stage' }] });
}

/**
 * rsync --keep-dirlinks writes through a symlink to a directory, but sets the staged
 * directory's times, mode and owner on the symlink itself (copying up a lower's merged-/usr
 * `/lib` for nothing). A staged directory whose destination is such a symlink gets the
 * attributes of the directory it leads to, so rsync finds nothing to set there.
 */
export async function matchDirlinks(root: string, stage: string, destInRoot: string): Promise<void> {
  const visit = async (rel: string) => {
    for (const e of await readNames(path.join(stage, rel))) {
      if (!e.dir) continue;
      const inRoot = path.posix.join(destInRoot, rel, e.name);
      const st = await fs.lstat(bytesOf(hostPath(root, inRoot))).catch(() => undefined);
      if (st?.isSymbolicLink()) {
        const resolved = await resolveInRoot(root, inRoot, true).catch(() => undefined);
        const target = resolved === undefined ? undefined : await fs.stat(bytesOf(hostPath(root, resolved))).catch(() => undefined);
        if (target?.isDirectory()) await setAttributes(bytesOf(path.join(stage, rel, e.name)), target);
      } else if (st?.isDirectory()) {
        await visit(path.join(rel, e.name));
      }
    }
  };
  await visit('');
}

/** Gives a staging dir the attributes of the destination, so applying it leaves those alone. */
export async function copyDirAttributes(from: string, to: string): Promise<void> {
  // `from` is an in-root destination, resolved through the tree's symlinks: any bytes.
  await setAttributes(to, await fs.stat(bytesOf(from)));
}

/** Owner, permission bits and times of `st`, on `file`. */
async function setAttributes(file: string | Buffer, st: Stats): Promise<void> {
  await fs.chown(file, st.uid, st.gid);
  await fs.chmod(file, st.mode & 0o7777);
  await fs.utimes(file, st.atime, st.mtime);
}

/**
 * Unpacks an image or archive at the in-root directory `to` (restore, untar). Without
 * `replace`, `unpack` runs with the layer root as its `/` and `to` as its working directory,
 * merging onto the tree; with `replace` it fills a fresh stage (with the destination's
 * attributes) that then becomes the destination, lower entries it lacks turning into whiteouts.
 */
export async function unpackAt(
  ctx: StepContext,
  to: string,
  replace: boolean,
  unpack: (root: string, chdir: string, merge: boolean) => Promise<void>,
): Promise<void> {
  const destHost = await mkdirInRoot(ctx.root, to);
  const dest = await resolveInRoot(ctx.root, to, true);
  if (!replace) {
    await unpack(ctx.root, dest, true);
    return;
  }
  const stage = await freshStage(ctx);
  await copyDirAttributes(destHost, stage);
  const setUp = await fs.stat(stage, { bigint: true });
  await unpack(stage, '/', false);
  await keepTimesUnlessGiven(stage, setUp);
  await applyTree(ctx, stage, dest, true);
}

/**
 * The stage's own times are the destination's unless the image gave it others (an entry for
 * `.`). Unpacking into it moves its mtime to the clock; applied, that time would make the
 * destination's differ from build to build (or not, as the clock and our mount points fall).
 * A time not older than the stage's set-up is the clock's: the destination's go back.
 */
async function keepTimesUnlessGiven(stage: string, setUp: BigIntStats): Promise<void> {
  const now = await fs.stat(stage, { bigint: true });
  if (now.mtimeNs >= setUp.ctimeNs) await fs.utimes(stage, setUp.atime, setUp.mtime);
}

/** A fresh, empty staging directory in the layer's scratch space. */
export async function freshStage(ctx: StepContext): Promise<string> {
  const stage = `${ctx.scratch}/stage`;
  await removeTreeOnWorker(stage, ctx.runner.signal);
  await fs.mkdir(stage, { mode: 0o755 });
  return stage;
}

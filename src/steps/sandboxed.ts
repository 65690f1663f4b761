// Running host tools with a layer root (or a staging tree) as their `/`, and applying a
// staged tree onto the layer with rsync. Shared by restore, untar and copy.

import { promises as fs } from 'node:fs';
import { bytesOf } from '../layer/byte-path.js';
import { Mountpoints } from '../mount/mountpoints.js';
import { HOST_DIR, TOOL_ENV, toolSandboxArgv, toolSandboxMountpoints } from '../mount/sandbox.js';
import { CommandError, MissingToolError } from '../process/run.js';
import { type StepContext, StepError } from './context.js';

export interface ToolRun {
  /** Host directory that becomes the sandbox's `/`. */
  root: string;
  /** In-root working directory. */
  chdir: string;
  tool: string;
  args: string[];
  stdinFile?: string;
  /** A host command whose output is piped into the tool (e.g. a decompressor). */
  stdinFrom?: string[];
  extraBinds?: { host: string; name: string }[];
  /** Lines of output that are noise (matched lines are not shown). */
  quiet?: RegExp;
  okCodes?: number[];
  /** The tool opens /dev/null (restore does): a null device node is prepared in the root. */
  devNull?: boolean;
}

export async function runTool(ctx: StepContext, t: ToolRun): Promise<void> {
  const prefix = await ctx.tools.command(t.tool);
  if (!prefix) throw new MissingToolError(t.tool);
  const mountpoints = new Mountpoints(t.root, ctx.runner);
  try {
    const wanted = toolSandboxMountpoints(t.devNull);
    const usable = await mountpoints.prepare(wanted);
    const blocked = wanted.filter((w) => !usable.includes(w));
    if (blocked.length > 0) {
      const what = blocked.map((b) => b.path).join(' and ');
      throw new StepError(
        `cannot run ${t.tool} in the layer root: its sandbox needs ${what} there, and the root has a symlink on that path or another kind of file in its place`,
      );
    }
    let argv = toolSandboxArgv({
      root: t.root,
      tools: ctx.tools,
      chdir: t.chdir,
      extraBinds: t.extraBinds,
      devNull: t.devNull,
      argv: [...prefix, ...t.args],
    });
    if (t.stdinFrom) {
      // bash with pipefail, so a failing decompressor fails the step too.
      argv = ['bash', '-c', 'set -o pipefail; n=$1; shift; "${@:1:n}" | "${@:n+1}"', 'pipe', String(t.stdinFrom.length), ...t.stdinFrom, ...argv];
    }
    await ctx.runner.run(argv, {
      clearEnv: true,
      env: { ...TOOL_ENV, PATH: `${TOOL_ENV.PATH}:${process.env.PATH ?? '/usr/bin:/bin'}` },
      stdinFile: t.stdinFile,
      okCodes: t.okCodes,
      onLine: (line) => {
        if (!t.quiet?.test(line)) ctx.onLine(line);
      },
      tailLines: 40,
    });
  } catch (err) {
    if (err instanceof CommandError) {
      throw new StepError(
        `${t.tool} failed (exit code ${err.code ?? err.signal})`,
        err.tail.filter((l) => !t.quiet?.test(l)),
        err.code ?? undefined,
      );
    }
    throw err;
  } finally {
    await mountpoints.cleanup();
    for (const d of mountpoints.touchedDirs) ctx.touchedDirs.add(d);
  }
}

/**
 * Makes the in-root directory `destInRoot` hold what `stage` holds: new and changed entries
 * are copied (content compared by checksum, so identical files are not copied up), and with
 * `deleteExtra` entries absent from the stage are deleted (whiteouts for lower entries).
 */
export async function applyTree(ctx: StepContext, stage: string, destInRoot: string, deleteExtra: boolean): Promise<void> {
  const args = ['-aHAX', '--numeric-ids', '--checksum', '--filter', `P ${HOST_DIR}`];
  // Merging keeps the root's symlinks to directories (a merged-/usr /lib -> usr/lib) and
  // writes through them, in-root; replacing makes the tree exactly the stage, so no following
  // (and --delete never works through a symlink).
  args.push(deleteExtra ? '--delete' : '--keep-dirlinks');
  const dest = destInRoot.endsWith('/') ? destInRoot : `${destInRoot}/`;
  args.push(`${HOST_DIR}/stage/`, dest);
  await runTool(ctx, { root: ctx.root, chdir: '/', tool: 'rsync', args, extraBinds: [{ host: stage, name: 'stage' }] });
}

/** Gives a staging dir the attributes of the destination, so applying it leaves those alone. */
export async function copyDirAttributes(from: string, to: string): Promise<void> {
  // `from` is an in-root destination, resolved through the tree's symlinks: any bytes.
  const st = await fs.stat(bytesOf(from));
  await fs.chown(to, st.uid, st.gid);
  await fs.chmod(to, st.mode & 0o7777);
  await fs.utimes(to, st.atime, st.mtime);
}

/** A fresh, empty staging directory in the layer's scratch space. */
export async function freshStage(ctx: StepContext): Promise<string> {
  const stage = `${ctx.scratch}/stage`;
  await fs.rm(stage, { recursive: true, force: true });
  await fs.mkdir(stage, { mode: 0o755 });
  return stage;
}

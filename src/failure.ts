// Every way a run can fail that is not a bug, as one union tagged by `reason` (as in wireit's
// event.ts), and the one switch that gives each its exit code and message. Failures cross
// layers as values (a failed layer's outcome); where one must travel by throw out of deep
// async code, it rides in the one error class, FailureError. An error that carries no
// Failure is a bug, or something nobody foresaw: it is reported as 'unexpected'.

import { describeReason, type StaleReason } from './cache/explain.js';
import { formatArgv, shortened } from './process/argv.js';
import { installHint } from './process/which.js';
import { type Diagnostic, formatDiagnostic } from './recipe/diagnostic.js';
import { didYouMean } from './recipe/suggest.js';

/** Exit codes (PRODUCT.md section 4). */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  SIGHUP: 129,
  SIGINT: 130,
  SIGTERM: 143,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export type Failure =
  /** Arguments commander refused; it has printed why, with the usage hint. */
  | { reason: 'arguments'; message: string }
  /** An option or environment variable that is malformed. */
  | { reason: 'usage'; message: string }
  /** Every problem of the recipes, sorted, found before anything runs. */
  | { reason: 'recipe'; diagnostics: Diagnostic[]; sources: ReadonlyMap<string, string> }
  /** Layers named on the command line that the project does not have. */
  | { reason: 'unknown-layer'; names: string[]; known: string[] }
  /** Layers whose .sqsh file is not there (inspect, verify, shell work on built layers). */
  | { reason: 'not-built'; layers: string[]; target: string }
  /** Boot parameters (`cmdline`) that cannot work together or at all. */
  | { reason: 'boot-option'; message: string }
  /** The project lock is held by a live run (`holder`), or could not be taken (`breaker`: a stale lock's breaker that stays). */
  | { reason: 'locked'; lockFile: string; holder?: { pid: number; since?: string }; breaker?: string }
  /** --frozen, and layers would be rebuilt: found before anything runs. */
  | { reason: 'frozen'; stale: { layer: string; reasons: StaleReason[] }[] }
  /** --frozen, and a layer planned as cached has no usable cache entry after all (gone, or evicted as corrupt). */
  | { reason: 'frozen-cache-miss'; layer: string }
  /** Host tools the build needs that are not installed, found before anything is mounted; `neededFor` names their users. */
  | { reason: 'missing-tools'; missing: { tool: string; neededFor: string[] }[] }
  /** A host tool that is not installed, found when it was to run. */
  | { reason: 'missing-tool'; tool: string }
  | CommandFailure
  /** A step failed in a way the user must fix (the builder adds the layer and step). */
  | { reason: 'step'; message: string; tail: readonly string[] }
  /** An in-root path that cannot be resolved inside the layer root. */
  | { reason: 'root-path'; path: string; problem: 'symlink-loop' | 'not-a-directory' }
  /** The upper dir holds overlay redirects or metacopy entries, which other machines cannot read. */
  | { reason: 'not-portable'; paths: string[] }
  /** merge, commit or capture cannot do what was asked with these layers or this root (exit 1). */
  | { reason: 'layer-op'; message: string; hint?: string }
  /** overlayfs refused the portable options. */
  | { reason: 'overlay-unavailable'; options: string[] }
  /** A failure while building a layer, naming the layer and the step or phase it was at. */
  | { reason: 'layer-build'; layer: string; where: string; cause: Failure; hint?: string }
  /** `boot`: the VM could not be prepared, or did not boot (its console's tail), or a check failed. */
  | { reason: 'boot'; message: string; tail: readonly string[]; hint?: string }
  /** An OCI registry refused, failed or sent something that does not verify (push, pull, the remote cache). */
  | { reason: 'registry'; registry: string; message: string; hint?: string }
  /** SIGINT or SIGTERM, and whatever failed after it (process/interrupt.ts: classify). */
  | { reason: 'interrupted'; signal: NodeJS.Signals }
  /** An error that carries no Failure: a bug, or one nothing foresaw (a bare ENOENT). */
  | { reason: 'unexpected'; error: unknown };

/** A command that failed (process/run.ts): how it ended, and the tail of its output. */
export interface CommandFailure {
  reason: 'command';
  argv: readonly string[];
  /** Its exit code; null when a signal killed it or it never started. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Why it could not be started at all. */
  startError?: string;
  tail: readonly string[];
}

export type FailureOf<R extends Failure['reason']> = Extract<Failure, { reason: R }>;

/** A Failure on its way out of deep code by throw; catchers take `failure` back out. */
export class FailureError extends Error {
  constructor(readonly failure: Failure) {
    super(explainFailure(failure).message, failure.reason === 'unexpected' ? { cause: failure.error } : undefined);
    this.name = 'FailureError';
  }
}

/** The Failure an error carries; any other error is 'unexpected'. */
export function failureOf(error: unknown): Failure {
  return error instanceof FailureError ? error.failure : { reason: 'unexpected', error };
}

/** The failure `err` carries if it is of `reason`: for code that handles one kind and lets the rest pass. */
export function failureIn<R extends Failure['reason']>(err: unknown, reason: R): FailureOf<R> | undefined {
  return err instanceof FailureError && err.failure.reason === reason ? (err.failure as FailureOf<R>) : undefined;
}

export interface Explanation {
  exitCode: ExitCode;
  /** What went wrong, in a line (or a few): for Error.message, progress events and --json. */
  message: string;
  /** The last lines of output of the command that failed. */
  tail: readonly string[];
  /** What to do about it. */
  hint: string | undefined;
  /** What the CLI prints on stderr, whole lines (nothing when commander printed it already). */
  text: string;
}

/**
 * Each failure's exit code and message: the only place that decides them. `stack` adds the
 * stack of an unexpected error (SQSH_LAYERS_DEBUG).
 */
export function explainFailure(f: Failure, o: { stack?: boolean } = {}): Explanation {
  switch (f.reason) {
    case 'arguments':
      return { exitCode: EXIT.usage, message: f.message, tail: [], hint: undefined, text: '' };
    case 'usage':
    case 'boot-option':
      return asError(EXIT.usage, f.message);
    case 'recipe': {
      const n = f.diagnostics.length;
      const summary = `${n} problem${n === 1 ? '' : 's'} in the recipes; nothing was built`;
      // Each diagnostic names its file and place: printed as it is.
      const message = [...f.diagnostics.map((d) => formatDiagnostic(d, f.sources)), summary].join('\n\n');
      return { exitCode: EXIT.usage, message, tail: [], hint: undefined, text: `${message}\n` };
    }
    case 'unknown-layer': {
      const unknown = f.names.map((n) => `unknown layer "${n}"${didYouMean(n, f.known)}`);
      const message = `${unknown.join('; ')}; layers of this project: ${[...f.known].sort().join(', ')}`;
      return asError(EXIT.usage, message);
    }
    case 'not-built':
      return asError(
        EXIT.failure,
        `layer${f.layers.length === 1 ? '' : 's'} ${f.layers.join(', ')} of ${f.target} ${f.layers.length === 1 ? 'is' : 'are'} not built`,
        [],
        `run: sqsh-layers build ${f.target}`,
      );
    case 'locked':
      return asError(
        EXIT.failure,
        f.holder
          ? `another sqsh-layers run (pid ${f.holder.pid}, since ${f.holder.since ?? '?'}) is working on this project; wait for it to finish`
          : `could not take the project lock ${f.lockFile}${f.breaker !== undefined ? ` (${f.breaker} stays)` : ''}`,
      );
    case 'frozen': {
      const lines = f.stale.map((s) => `  ${s.layer}: ${s.reasons.map(describeReason).join('; ')}`);
      const message = `--frozen: ${f.stale.length} layer(s) would be rebuilt:\n${lines.join('\n')}`;
      // Not an error of the build: the answer CI asked for.
      return { exitCode: EXIT.failure, message, tail: [], hint: undefined, text: `sqsh-layers: ${message}\n` };
    }
    case 'frozen-cache-miss':
      return asError(EXIT.failure, `--frozen: layer ${f.layer} would be rebuilt: its cache entry is missing or was corrupt`);
    case 'missing-tools': {
      const lines = f.missing.map(({ tool, neededFor: users }) => {
        const some = `${users.slice(0, 5).join(', ')}${users.length > 5 ? ', ...' : ''}`;
        return `  ${tool}: needed for ${some}; ${installHint(tool)}`;
      });
      return asError(EXIT.failure, `missing tool${f.missing.length === 1 ? '' : 's'} (nothing was built):\n${lines.join('\n')}`);
    }
    case 'missing-tool':
      return asError(EXIT.failure, `${f.tool} is not installed`, [], installHint(f.tool));
    case 'command':
      return asError(EXIT.failure, commandMessage(f), f.tail);
    case 'step':
      return asError(EXIT.failure, f.message, f.tail);
    case 'root-path':
      return asError(
        EXIT.failure,
        f.problem === 'symlink-loop' ? `too many levels of symbolic links resolving ${f.path}` : `${f.path} exists and is not a directory`,
      );
    case 'not-portable': {
      const more = f.paths.length > 5 ? ` and ${f.paths.length - 5} more` : '';
      return asError(
        EXIT.failure,
        `the upper dir holds overlay redirects or metacopy entries, which other machines cannot read: ${f.paths.slice(0, 5).join(', ')}${more}`,
      );
    }
    case 'layer-op':
      return asError(EXIT.failure, f.message, [], f.hint);
    case 'overlay-unavailable':
      return asError(
        EXIT.failure,
        `overlayfs refused the options ${f.options.join(',')}; this tool needs overlayfs (Linux 4.19 or newer, "modprobe overlay")`,
      );
    case 'layer-build': {
      const cause = explainFailure(f.cause);
      return asError(EXIT.failure, `layer ${f.layer}, ${f.where}: ${cause.message}`, cause.tail, f.hint ?? cause.hint);
    }
    case 'boot':
      return asError(EXIT.failure, f.message, f.tail, f.hint);
    case 'registry':
      return asError(EXIT.failure, `registry ${f.registry}: ${f.message}`, [], f.hint);
    case 'interrupted': {
      const message = `interrupted by ${f.signal}`;
      // Reported once the run has undone its mounts.
      return {
        exitCode: f.signal === 'SIGTERM' ? EXIT.SIGTERM : f.signal === 'SIGHUP' ? EXIT.SIGHUP : EXIT.SIGINT,
        message,
        tail: [],
        hint: undefined,
        text: `sqsh-layers: ${message}; cleaned up\n`,
      };
    }
    case 'unexpected': {
      const e = f.error instanceof Error ? f.error : undefined;
      const out = asError(EXIT.failure, e?.message ?? String(f.error));
      if (o.stack && e?.stack !== undefined) out.text += `${e.stack}\n`;
      return out;
    }
    default: {
      const never: never = f;
      throw new Error(`bug: a failure with no explanation: ${JSON.stringify(never)}`);
    }
  }
}

/** As execa says it: `Command failed with exit code 2: tar -x ...`. */
export function commandMessage(f: CommandFailure): string {
  const cmd = formatArgv(shortened(f.argv, 200));
  if (f.startError !== undefined) return `Command failed to start: ${cmd}: ${f.startError}`;
  return `Command ${howItEnded(f)}: ${cmd}`;
}

/** `failed with exit code 2`, `was killed with SIGTERM`, `failed to start: REASON`: for messages that name the command their own way. */
export function howItEnded(f: CommandFailure): string {
  if (f.startError !== undefined) return `failed to start: ${f.startError}`;
  if (f.signal !== null) return `was killed with ${f.signal}`;
  return `failed with exit code ${f.exitCode ?? '?'}`;
}

/** The usual shape: `sqsh-layers: error: MESSAGE`, the output's tail, the hint. */
function asError(exitCode: ExitCode, message: string, tail: readonly string[] = [], hint?: string): Explanation {
  const lines = [`sqsh-layers: error: ${message}`, ...tail.map((l) => `  | ${l}`), ...(hint !== undefined ? [`  hint: ${hint}`] : [])];
  return { exitCode, message, tail, hint, text: `${lines.join('\n')}\n` };
}

// Every way a run can fail that is not a bug, as one union tagged by `reason` (as in wireit's
// event.ts), and the one switch that gives each its exit code and message. Failures cross
// layers as values (a failed layer's outcome); where one must travel by throw out of deep
// async code, it rides in the one error class, FailureError. An error that carries no
// Failure is a bug, or something nobody foresaw: it is reported as 'unexpected'.
import { describeReason } from './cache/explain.js';
import { formatArgv, shortened } from './process/argv.js';
import { installHint } from './process/which.js';
import { formatDiagnostic } from './recipe/diagnostic.js';
import { didYouMean } from './recipe/suggest.js';
/** Exit codes (PRODUCT.md section 4). */
export const EXIT = {
    ok: 0,
    failure: 1,
    usage: 2,
    SIGHUP: 129,
    SIGINT: 130,
    SIGTERM: 143,
};
/** A Failure on its way out of deep code by throw; catchers take `failure` back out. */
export class FailureError extends Error {
    failure;
    constructor(failure) {
        super(explainFailure(failure).message, failure.reason === 'unexpected' ? { cause: failure.error } : undefined);
        this.failure = failure;
        this.name = 'FailureError';
    }
}
/** The Failure an error carries; any other error is 'unexpected'. */
export function failureOf(error) {
    return error instanceof FailureError ? error.failure : { reason: 'unexpected', error };
}
/** The failure `err` carries if it is of `reason`: for code that handles one kind and lets the rest pass. */
export function failureIn(err, reason) {
    return err instanceof FailureError && err.failure.reason === reason ? err.failure : undefined;
}
/**
 * Each failure's exit code and message: the only place that decides them. `stack` adds the
 * stack of an unexpected error (SQSH_LAYERS_DEBUG).
 */
export function explainFailure(f, o = {}) {
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
            return asError(EXIT.failure, `layer${f.layers.length === 1 ? '' : 's'} ${f.layers.join(', ')} of ${f.target} ${f.layers.length === 1 ? 'is' : 'are'} not built`, [], `run: sqsh-layers build ${f.target}`);
        case 'locked':
            return asError(EXIT.failure, f.holder
                ? `another sqsh-layers run (pid ${f.holder.pid}, since ${f.holder.since ?? '?'}) is working on this project; wait for it to finish`
                : `could not take the project lock ${f.lockFile}${f.breaker !== undefined ? ` (${f.breaker} stays)` : ''}`);
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
            return asError(EXIT.failure, f.problem === 'symlink-loop' ? `too many levels of symbolic links resolving ${f.path}` : `${f.path} exists and is not a directory`);
        case 'not-portable': {
            const more = f.paths.length > 5 ? ` and ${f.paths.length - 5} more` : '';
            return asError(EXIT.failure, `the upper dir holds overlay redirects or metacopy entries, which other machines cannot read: ${f.paths.slice(0, 5).join(', ')}${more}`);
        }
        case 'layer-op':
            return asError(EXIT.failure, f.message, [], f.hint);
        case 'overlay-unavailable':
            return asError(EXIT.failure, `overlayfs refused the options ${f.options.join(',')}; this tool needs overlayfs (Linux 4.19 or newer, "modprobe overlay")`);
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
            if (o.stack && e?.stack !== undefined)
                out.text += `${e.stack}\n`;
            return out;
        }
        default: {
            const never = f;
            throw new Error(`bug: a failure with no explanation: ${JSON.stringify(never)}`);
        }
    }
}
/** As execa says it: `Command failed with exit code 2: tar -x ...`. */
export function commandMessage(f) {
    const cmd = formatArgv(shortened(f.argv, 200));
    if (f.startError !== undefined)
        return `Command failed to start: ${cmd}: ${f.startError}`;
    return `Command ${howItEnded(f)}: ${cmd}`;
}
/** `failed with exit code 2`, `was killed with SIGTERM`, `failed to start: REASON`: for messages that name the command their own way. */
export function howItEnded(f) {
    if (f.startError !== undefined)
        return `failed to start: ${f.startError}`;
    if (f.signal !== null)
        return `was killed with ${f.signal}`;
    return `failed with exit code ${f.exitCode ?? '?'}`;
}
/** The usual shape: `sqsh-layers: error: MESSAGE`, the output's tail, the hint. */
function asError(exitCode, message, tail = [], hint) {
    const lines = [`sqsh-layers: error: ${message}`, ...tail.map((l) => `  | ${l}`), ...(hint !== undefined ? [`  hint: ${hint}`] : [])];
    return { exitCode, message, tail, hint, text: `${lines.join('\n')}\n` };
}
//# sourceMappingURL=failure.js.map
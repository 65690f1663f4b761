// Command-line wiring (commander): options, help with examples, and reporting how the run
// ended (failure.ts gives each failure its exit code and message). The work itself lives in
// engine/, plan/ and cache/.
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { EXIT, explainFailure, FailureError, failureOf } from '../failure.js';
import { VERSION } from './version.js';
export async function main(argv, io) {
    let exitCode = EXIT.ok;
    const program = new Command('sqsh-layers');
    const globals = () => {
        const o = program.opts();
        let jobs;
        if (o.jobs !== undefined) {
            jobs = Number(o.jobs);
            if (!Number.isInteger(jobs) || jobs < 1) {
                throw new FailureError({ reason: 'usage', message: `--jobs must be a positive integer, found "${o.jobs}"` });
            }
        }
        return {
            dir: path.resolve(io.cwd, o.C ?? '.'),
            verbose: o.verbose === true,
            quiet: o.quiet === true,
            dryRun: o.dryRun === true,
            force: o.force === true,
            json: o.json === true,
            jobs,
            cache: o.cache !== undefined ? path.resolve(io.cwd, o.cache) : undefined,
        };
    };
    program
        .description('Build stacked squashfs root-filesystem layers from recipes: cached, reproducible, portable.')
        .option('-C <dir>', 'the layer project to work on (default: the current directory)')
        .option('--verbose', 'show every command and the output of steps')
        .option('--quiet', 'only warnings and errors')
        .option('--dry-run', 'show what would be done; change nothing')
        .option('--force', 'rebuild the named layers (all when none named) even when cached')
        .option('--json', 'print a machine-readable result on stdout')
        .option('--jobs <n>', 'how many layers may build at once (default: number of CPUs)')
        .option('--cache <dir>', 'the cache directory (default: .sqsh-cache in the project, or "cache" in sqsh-layers.yaml)')
        .version(VERSION, '--version', 'print the version')
        .helpOption('-h, --help', 'show help')
        .showHelpAfterError('(run with --help for usage)')
        .configureOutput({
        writeOut: (s) => io.stdout.write(s),
        writeErr: (s) => io.stderr.write(s),
        outputError: (s, write) => write(`sqsh-layers: ${s}`),
    })
        .exitOverride()
        .addHelpText('after', `
Examples:
  sqsh-layers plan                      what is cached, what would be rebuilt and why
  sqsh-layers build                     build every layer of the project in ./recipes
  sqsh-layers -C ~/layers build config  build config and its ancestors in another project
  sqsh-layers cmdline config            the kernel parameter that boots the config stack
  sqsh-layers boot config               boot the config stack in a VM and run its checks there
  sqsh-layers init my-layers            a new project that builds as it is
  sqsh-layers inspect server            what a layer adds, changes, deletes, with sizes
  sqsh-layers verify config             digests, the stack read whole, the recipes' checks
  sqsh-layers shell config              a throw-away shell in the config stack

Exit codes: 0 ok, 1 build or verify failure, 2 usage or recipe error, 129 hung up (SIGHUP),
130 interrupted, 143 terminated.`);
    const kit = {
        program,
        globals,
        io,
        action: (fn) => async (...args) => {
            exitCode = await fn(...args);
        },
    };
    for (const register of await Promise.all(commandsFor(argv).map((name) => COMMANDS[name]())))
        register(kit);
    try {
        await program.parseAsync(argv, { from: 'user' });
        return exitCode;
    }
    catch (err) {
        return reportError(err, io);
    }
}
/**
 * Each command's module, loaded only when needed: a run of `build` or `plan` need not load
 * boot, merge or layerdev code (module loading is most of a no-op build's time). In help order.
 */
const COMMANDS = {
    plan: () => import('./plan.js').then((m) => m.planCommand),
    cmdline: () => import('./cmdline.js').then((m) => m.cmdlineCommand),
    build: () => import('./build.js').then((m) => m.buildCommand),
    gc: () => import('./gc.js').then((m) => m.gcCommand),
    layerdev: () => import('./layerdev.js').then((m) => m.layerdevCommand),
    boot: () => import('./boot.js').then((m) => m.bootCommand),
    merge: () => import('./merge.js').then((m) => m.mergeCommand),
    commit: () => import('./commit.js').then((m) => m.commitCommand),
    capture: () => import('./capture.js').then((m) => m.captureCommand),
    inspect: () => import('./inspect.js').then((m) => m.inspectCommand),
    diff: () => import('./inspect.js').then((m) => m.diffCommand),
    verify: () => import('./verify.js').then((m) => m.verifyCommand),
    shell: () => import('./shell.js').then((m) => m.shellCommand),
    init: () => import('./init.js').then((m) => m.initCommand),
    push: () => import('./push.js').then((m) => m.pushCommand),
    pull: () => import('./pull.js').then((m) => m.pullCommand),
};
const NAMES = Object.keys(COMMANDS);
/** Global options that take a value in the next argument (`-C DIR`, not `-CDIR` or `--jobs=2`). */
const VALUE_OPTIONS = new Set(['-C', '--jobs', '--cache']);
/**
 * The commands to register: the one named on the command line, or all of them when none is
 * (main help), the name is unknown (commander's "did you mean") or `help` is asked for.
 */
export function commandsFor(argv) {
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === '--')
            break;
        if (VALUE_OPTIONS.has(a)) {
            i++;
            continue;
        }
        if (a.startsWith('-'))
            continue;
        return Object.hasOwn(COMMANDS, a) ? [a] : NAMES;
    }
    return NAMES;
}
/** A run that did not end well: its message on stderr, its exit code. */
function reportError(err, io) {
    let failure;
    if (err instanceof CommanderError) {
        if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
            return EXIT.ok;
        failure = { reason: 'arguments', message: err.message };
    }
    else {
        failure = failureOf(err);
    }
    const explained = explainFailure(failure, { stack: Boolean(io.env.SQSH_LAYERS_DEBUG) });
    io.stderr.write(explained.text);
    return explained.exitCode;
}
//# sourceMappingURL=main.js.map
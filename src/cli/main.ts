// Command-line wiring (commander): options, help with examples, and reporting how the run
// ended (failure.ts gives each failure its exit code and message). The work itself lives in
// engine/, plan/ and cache/.

import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { EXIT, explainFailure, type Failure, FailureError, failureOf } from '../failure.js';
import { planCommand } from './plan.js';
import { cmdlineCommand } from './cmdline.js';
import { buildCommand } from './build.js';
import { gcCommand } from './gc.js';
import { layerdevCommand } from './layerdev.js';
import { bootCommand } from './boot.js';
import { mergeCommand } from './merge.js';
import { commitCommand } from './commit.js';
import { captureCommand } from './capture.js';
import { diffCommand, inspectCommand } from './inspect.js';
import { verifyCommand } from './verify.js';
import { shellCommand } from './shell.js';
import { initCommand } from './init.js';
import { pullCommand } from './pull.js';
import { pushCommand } from './push.js';
import { VERSION } from './version.js';
import type { CommandKit, GlobalOptions, Io } from './kit.js';

export async function main(argv: string[], io: Io): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = new Command('sqsh-layers');
  const globals = (): GlobalOptions => {
    const o = program.opts<{ C?: string; verbose?: boolean; quiet?: boolean; dryRun?: boolean; force?: boolean; json?: boolean; jobs?: string; cache?: string }>();
    let jobs: number | undefined;
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
    .addHelpText(
      'after',
      `
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
130 interrupted, 143 terminated.`,
    );

  const kit: CommandKit = {
    program,
    globals,
    io,
    action: (fn) => async (...args) => {
      exitCode = await fn(...args);
    },
  };
  planCommand(kit);
  cmdlineCommand(kit);
  buildCommand(kit);
  gcCommand(kit);
  layerdevCommand(kit);
  bootCommand(kit);
  mergeCommand(kit);
  commitCommand(kit);
  captureCommand(kit);
  inspectCommand(kit);
  diffCommand(kit);
  verifyCommand(kit);
  shellCommand(kit);
  initCommand(kit);
  pushCommand(kit);
  pullCommand(kit);

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    return reportError(err, io);
  }
}

/** A run that did not end well: its message on stderr, its exit code. */
function reportError(err: unknown, io: Io): number {
  let failure: Failure;
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
    failure = { reason: 'arguments', message: err.message };
  } else {
    failure = failureOf(err);
  }
  const explained = explainFailure(failure, { stack: Boolean(io.env.SQSH_LAYERS_DEBUG) });
  io.stderr.write(explained.text);
  return explained.exitCode;
}

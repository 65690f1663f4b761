// `build [LAYER...]`: builds the layers and their ancestors; cached layers cost nothing.

import { build, type LayerOutcome } from '../engine/build.js';
import { LayerBuildError } from '../engine/layer-build.js';
import { openSession } from '../engine/session.js';
import { FrozenError } from '../engine/status.js';
import { EXIT, Interrupted, trapInterrupts } from '../process/interrupt.js';
import { defaultJobs, type CommandKit } from './kit.js';
import { openProject } from './project.js';
import { formatBytes, makeReporter } from './render.js';
import { sourceDateEpochFromEnv, stateRootFromEnv } from './env.js';

export function buildCommand({ program, globals, io, action }: CommandKit): void {
  program
    .command('build')
    .description('build the layers and their ancestors (all when none named); cached layers are reused')
    .argument('[layers...]', 'layers to build, with their ancestors')
    .option('--frozen', 'fail (exit 1) if any layer would be rebuilt, explaining why; for CI')
    .addHelpText(
      'after',
      `
Examples:
  sqsh-layers build                   build everything that changed
  sqsh-layers build server --force    rebuild server even if cached (children may stay cached)
  sqsh-layers build --frozen          CI: fail if the cache does not cover the recipes
  SOURCE_DATE_EPOCH=1700000000 sqsh-layers build    bit-reproducible layers

Outputs: layers/NAME.sqsh for every layer and layers/manifest.json.`,
    )
    .action(
      action(async (layers: string[], o: { frozen?: boolean }) => {
        const g = globals();
        const sourceDateEpoch = sourceDateEpochFromEnv(io.env);
        const { project, graph } = await openProject(g.dir, { checkInputs: true, cacheDir: g.cache });
        const report = makeReporter({ out: io.stderr, verbose: g.verbose, quiet: g.quiet || g.json });
        const interrupts = trapInterrupts(() => io.stderr.write('sqsh-layers: cleaning up, please wait...\n'));
        try {
          const session = await openSession({
            project,
            graph,
            report,
            signal: interrupts.signal,
            verbose: g.verbose,
            dryRun: g.dryRun,
            stateRoot: stateRootFromEnv(io.env),
            env: io.env,
            envSourceDateEpoch: sourceDateEpoch,
          });
          let outcomes: LayerOutcome[];
          try {
            outcomes = await build(session, {
              targets: layers,
              force: g.force,
              frozen: o.frozen === true,
              jobs: g.jobs ?? defaultJobs(project.config.jobs),
            });
          } catch (err) {
            // Whatever failed after an interrupt failed because of it: the exit code says so.
            if (interrupts.signal.aborted && !(err instanceof Interrupted)) throw new Interrupted(interrupts.signal.reason as NodeJS.Signals);
            if (err instanceof FrozenError) {
              io.stderr.write(`sqsh-layers: ${err.message}\n`);
              return EXIT.failure;
            }
            throw err;
          } finally {
            await session.close();
          }
          if (interrupts.signal.aborted) {
            const sig = interrupts.signal.reason as NodeJS.Signals;
            io.stderr.write(`sqsh-layers: interrupted by ${sig}; cleaned up\n`);
            return sig === 'SIGTERM' ? EXIT.SIGTERM : EXIT.SIGINT;
          }
          return finish(outcomes, g.json, g.dryRun, io);
        } finally {
          interrupts.dispose();
        }
      }),
    );
}

function finish(outcomes: LayerOutcome[], json: boolean, dryRun: boolean, io: CommandKit['io']): number {
  const failed = outcomes.filter((o) => o.status === 'failed');
  for (const f of failed) {
    if (f.status !== 'failed') continue;
    io.stderr.write(`\nsqsh-layers: error: ${f.error.message}\n`);
    if (f.error instanceof LayerBuildError) {
      if (f.error.tail.length > 0) io.stderr.write(`${f.error.tail.map((l) => `  | ${l}`).join('\n')}\n`);
      if (f.error.hint) io.stderr.write(`  hint: ${f.error.hint}\n`);
    }
  }
  for (const s of outcomes) {
    if (s.status === 'skipped' && !dryRun) io.stderr.write(`sqsh-layers: ${s.layer} not built: ${s.because}\n`);
  }
  if (json) {
    const layers = outcomes.map((o) =>
      o.status === 'failed'
        ? { name: o.layer, status: o.status, error: o.error.message }
        : o.status === 'skipped'
          ? { name: o.layer, status: o.status, because: o.because }
          : { name: o.layer, status: o.status, sha256: o.digest, size: o.size, seconds: o.seconds, file: `layers/${o.layer}.sqsh` },
    );
    io.stdout.write(`${JSON.stringify({ ok: failed.length === 0, layers }, null, 2)}\n`);
  } else if (failed.length === 0 && !dryRun) {
    const built = outcomes.filter((o) => o.status === 'built').length;
    const total = outcomes.reduce((n, o) => n + ('size' in o ? o.size : 0), 0);
    io.stdout.write(`${outcomes.length} layer(s) ready in layers/ (${built} built, ${outcomes.length - built} cached, ${formatBytes(total)})\n`);
  }
  return failed.length > 0 ? EXIT.failure : EXIT.ok;
}

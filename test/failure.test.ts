import { describe, expect, it } from 'vitest';
import { EXIT, explainFailure, type Failure, FailureError, failureIn, failureOf, type FailureOf } from '../src/failure.js';

const ls = { reason: 'command', argv: ['ls', '-l', 'my dir'], exitCode: 2, signal: null, tail: ['ls: cannot access'] } as const;

/** One case per reason: a reason added to the union without one here does not compile. */
const CASES: { [R in Failure['reason']]: { failure: FailureOf<R>; exitCode: number; text: string } } = {
  arguments: {
    // commander printed it (with the usage hint) already.
    failure: { reason: 'arguments', message: "error: unknown option '--bogus'" },
    exitCode: EXIT.usage,
    text: '',
  },
  usage: {
    failure: { reason: 'usage', message: '--jobs must be a positive integer, found "0"' },
    exitCode: 2,
    text: 'sqsh-layers: error: --jobs must be a positive integer, found "0"\n',
  },
  recipe: {
    failure: {
      reason: 'recipe',
      diagnostics: [
        { loc: { file: 'recipes/a.yaml', line: 1, col: 9, endLine: 1, endCol: 12 }, message: 'unknown parent "bse"', hint: 'did you mean "base"?' },
        { loc: { file: 'recipes/b.yaml', line: 1, col: 1, endLine: 1, endCol: 1 }, message: 'recipes/b.yaml is empty' },
      ],
      sources: new Map([['recipes/a.yaml', 'parent: bse\n']]),
    },
    exitCode: 2,
    text:
      'recipes/a.yaml:1:9: unknown parent "bse"\n   1 | parent: bse\n     |         ^^^\n  hint: did you mean "base"?\n\n' +
      'recipes/b.yaml:1:1: recipes/b.yaml is empty\n\n2 problems in the recipes; nothing was built\n',
  },
  'unknown-layer': {
    failure: { reason: 'unknown-layer', names: ['sever', 'zzz'], known: ['server', 'base'] },
    exitCode: 2,
    text: 'sqsh-layers: error: unknown layer "sever" (did you mean "server"?); unknown layer "zzz"; layers of this project: base, server\n',
  },
  'not-built': {
    failure: { reason: 'not-built', layers: ['server', 'base'], target: 'server' },
    exitCode: 1,
    text: 'sqsh-layers: error: layers server, base of server are not built\n  hint: run: sqsh-layers build server\n',
  },
  'boot-option': {
    failure: { reason: 'boot-option', message: '--layerdir is relative to the root of each device, found "/layers"' },
    exitCode: 2,
    text: 'sqsh-layers: error: --layerdir is relative to the root of each device, found "/layers"\n',
  },
  locked: {
    failure: { reason: 'locked', lockFile: '/p/.sqsh-layers.lock', holder: { pid: 42, since: '2024-05-01T10:00:00.000Z' } },
    exitCode: 1,
    text: 'sqsh-layers: error: another sqsh-layers run (pid 42, since 2024-05-01T10:00:00.000Z) is working on this project; wait for it to finish\n',
  },
  frozen: {
    failure: { reason: 'frozen', stale: [{ layer: 'top', reasons: [{ reason: 'recipe', field: 'steps[1].run' }, { reason: 'forced' }] }] },
    exitCode: 1,
    // The answer CI asked for, not an error of the build.
    text: 'sqsh-layers: --frozen: 1 layer(s) would be rebuilt:\n  top: recipe field steps[1].run changed; --force\n',
  },
  'frozen-cache-miss': {
    failure: { reason: 'frozen-cache-miss', layer: 'app' },
    exitCode: 1,
    text: 'sqsh-layers: error: --frozen: layer app would be rebuilt: its cache entry is missing or was corrupt\n',
  },
  'missing-tools': {
    failure: {
      reason: 'missing-tools',
      missing: [
        { tool: 'mksquashfs', neededFor: ['building layers base, app'] },
        { tool: 'frob', neededFor: ['a 1', 'a 2', 'a 3', 'a 4', 'a 5', 'a 6'] },
      ],
    },
    exitCode: 1,
    text:
      'sqsh-layers: error: missing tools (nothing was built):\n' +
      '  mksquashfs: needed for building layers base, app; install it: apt-get install squashfs-tools\n' +
      '  frob: needed for a 1, a 2, a 3, a 4, a 5, ...; install frob\n',
  },
  'missing-tool': {
    failure: { reason: 'missing-tool', tool: 'restore' },
    exitCode: 1,
    text: 'sqsh-layers: error: restore is not installed\n  hint: install it: apt-get install dump\n',
  },
  command: {
    failure: ls,
    exitCode: 1,
    text: "sqsh-layers: error: Command failed with exit code 2: ls -l 'my dir'\n  | ls: cannot access\n",
  },
  step: {
    failure: { reason: 'step', message: 'the script failed with exit code 3', tail: ['last words'] },
    exitCode: 1,
    text: 'sqsh-layers: error: the script failed with exit code 3\n  | last words\n',
  },
  'root-path': {
    failure: { reason: 'root-path', path: '/etc/motd', problem: 'not-a-directory' },
    exitCode: 1,
    text: 'sqsh-layers: error: /etc/motd exists and is not a directory\n',
  },
  'not-portable': {
    failure: { reason: 'not-portable', paths: ['/a', '/b', '/c', '/d', '/e', '/f', '/g'] },
    exitCode: 1,
    text: 'sqsh-layers: error: the upper dir holds overlay redirects or metacopy entries, which other machines cannot read: /a, /b, /c, /d, /e and 2 more\n',
  },
  'layer-op': {
    failure: { reason: 'layer-op', message: '/mnt/sqsh_layer-upper is not empty', hint: 'commit it first' },
    exitCode: 1,
    text: 'sqsh-layers: error: /mnt/sqsh_layer-upper is not empty\n  hint: commit it first\n',
  },
  'overlay-unavailable': {
    failure: { reason: 'overlay-unavailable', options: ['index=off', 'xino=off'] },
    exitCode: 1,
    text: 'sqsh-layers: error: overlayfs refused the options index=off,xino=off; this tool needs overlayfs (Linux 4.19 or newer, "modprobe overlay")\n',
  },
  'layer-build': {
    failure: {
      reason: 'layer-build',
      layer: 'app',
      where: 'step 2 (untar inputs/x.tar)',
      cause: { reason: 'step', message: 'tar failed with exit code 2', tail: ['tar: Member name contains ".."'] },
      hint: 'the step is at recipes/app.yaml:4:5',
    },
    exitCode: 1,
    text:
      'sqsh-layers: error: layer app, step 2 (untar inputs/x.tar): tar failed with exit code 2\n' +
      '  | tar: Member name contains ".."\n' +
      '  hint: the step is at recipes/app.yaml:4:5\n',
  },
  boot: {
    failure: { reason: 'boot', message: 'the VM stopped before its checks ran', tail: ['Kernel panic'], hint: 'see the console' },
    exitCode: 1,
    text: 'sqsh-layers: error: the VM stopped before its checks ran\n  | Kernel panic\n  hint: see the console\n',
  },
  registry: {
    failure: { reason: 'registry', registry: 'ghcr.io', message: 'HEAD /v2/o/r/manifests/v1: 401 UNAUTHORIZED', hint: 'log in first' },
    exitCode: 1,
    text: 'sqsh-layers: error: registry ghcr.io: HEAD /v2/o/r/manifests/v1: 401 UNAUTHORIZED\n  hint: log in first\n',
  },
  interrupted: {
    failure: { reason: 'interrupted', signal: 'SIGTERM' },
    exitCode: 143,
    text: 'sqsh-layers: interrupted by SIGTERM; cleaned up\n',
  },
  unexpected: {
    failure: { reason: 'unexpected', error: new Error("ENOENT: no such file or directory, open 'x'") },
    exitCode: 1,
    text: "sqsh-layers: error: ENOENT: no such file or directory, open 'x'\n",
  },
};

describe('explainFailure', () => {
  it.each(Object.entries(CASES))('%s: its exit code and message', (_reason, c) => {
    const e = explainFailure(c.failure);
    expect(e.exitCode).toBe(c.exitCode);
    expect(e.text).toBe(c.text);
  });

  it('gives SIGINT its own exit code', () => {
    expect(explainFailure({ reason: 'interrupted', signal: 'SIGINT' })).toMatchObject({ exitCode: 130, message: 'interrupted by SIGINT' });
    expect(explainFailure({ reason: 'interrupted', signal: 'SIGHUP' })).toMatchObject({ exitCode: 129, message: 'interrupted by SIGHUP' });
  });

  it('names the lock that could not be taken', () => {
    expect(explainFailure({ reason: 'locked', lockFile: '/p/L' }).message).toBe('could not take the project lock /p/L');
    expect(explainFailure({ reason: 'locked', lockFile: '/p/L', breaker: '/p/L.break' }).message).toBe('could not take the project lock /p/L (/p/L.break stays)');
  });

  it('says how a command ended, as execa does', () => {
    const msg = (f: Partial<FailureOf<'command'>>) => explainFailure({ ...ls, ...f }).message;
    expect(msg({})).toBe("Command failed with exit code 2: ls -l 'my dir'");
    expect(msg({ exitCode: null, signal: 'SIGKILL' })).toBe("Command was killed with SIGKILL: ls -l 'my dir'");
    expect(msg({ exitCode: null, startError: 'spawn E2BIG' })).toBe("Command failed to start: ls -l 'my dir': spawn E2BIG");
  });

  it('wraps a command failure in its layer with its tail; the hint of the cause stays unless the layer has its own', () => {
    const f: Failure = { reason: 'layer-build', layer: 'app', where: 'packing', cause: { ...ls, tail: ['x'] } };
    expect(explainFailure(f)).toMatchObject({ message: "layer app, packing: Command failed with exit code 2: ls -l 'my dir'", tail: ['x'], hint: undefined });
    const tool: Failure = { reason: 'layer-build', layer: 'app', where: 'packing', cause: { reason: 'missing-tool', tool: 'mksquashfs' } };
    expect(explainFailure(tool).hint).toBe('install it: apt-get install squashfs-tools');
  });

  it('shows the stack of an unexpected error only when asked', () => {
    const error = new Error('boom');
    expect(explainFailure({ reason: 'unexpected', error }, { stack: true }).text).toBe(`sqsh-layers: error: boom\n${error.stack}\n`);
    expect(explainFailure({ reason: 'unexpected', error: 'a string' }).message).toBe('a string');
  });
});

describe('FailureError', () => {
  it('carries the failure, with its message', () => {
    const err = new FailureError({ reason: 'missing-tool', tool: 'bwrap' });
    expect(err.message).toBe('bwrap is not installed');
    expect(failureOf(err)).toEqual({ reason: 'missing-tool', tool: 'bwrap' });
    expect(failureIn(err, 'missing-tool')?.tool).toBe('bwrap');
    expect(failureIn(err, 'command')).toBeUndefined();
  });

  it('makes any other error unexpected', () => {
    const error = new TypeError('x is undefined');
    expect(failureOf(error)).toEqual({ reason: 'unexpected', error });
    expect(failureIn(error, 'unexpected')).toBeUndefined();
  });
});

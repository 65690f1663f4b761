// The installed command (dist/cli.cjs) compiles its bundle from the V8 code cache the build
// made (scripts/bundle.mjs, scripts/train-code-cache.cjs, scripts/cli-loader.cjs): taken when
// node starts as the #! line starts it; and without it, or with one V8 refuses or that belongs
// to other code, the command does the very same, compiling as it runs.

import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeCacheState, COMMAND, REPO, tempDir, writeFiles } from '../support/project.js';

const work = tempDir('code-cache');
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A copy of the built command (dist/cli.cjs and dist/bundle/) to damage, beside what it needs. */
function copyOfCommand(name: string): { command: string; bundleDir: string } {
  const root = path.join(work, name);
  cpSync(path.join(REPO, 'dist', 'bundle'), path.join(root, 'dist', 'bundle'), { recursive: true });
  cpSync(COMMAND, path.join(root, 'dist', 'cli.cjs'));
  cpSync(path.join(REPO, 'package.json'), path.join(root, 'package.json'));
  for (const d of ['node_modules', 'schema']) symlinkSync(path.join(REPO, d), path.join(root, d));
  return { command: path.join(root, 'dist', 'cli.cjs'), bundleDir: path.join(root, 'dist', 'bundle') };
}

function codeCacheFile(bundleDir: string): string {
  const files = readdirSync(bundleDir).filter((f) => f.endsWith('.v8-cache'));
  expect(files).toHaveLength(1);
  return path.join(bundleDir, files[0]!);
}

/** The command, through its #! line: exit code and output. */
function runCommand(command: string, args: string[], cwd: string) {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the code cache', () => {
  const project = path.join(work, 'project');
  let expected: { version: ReturnType<typeof runCommand>; plan: ReturnType<typeof runCommand> };

  beforeAll(async () => {
    await writeFiles(project, {
      'recipes/base.yaml': 'steps:\n  - run: echo hello > /hello\n',
      'recipes/app.yaml': 'parent: base\nsteps:\n  - copy: files/app.conf\n    to: /etc/\n',
      'files/app.conf': 'x = 1\n',
    });
    expected = { version: runCommand(COMMAND, ['--version'], project), plan: runCommand(COMMAND, ['plan'], project) };
    expect(expected.version.code).toBe(0);
    expect(expected.plan.code).toBe(0);
    expect(expected.plan.stdout).toContain('sqsh_layers=app:base');
  });

  it('is built beside the bundle, named by the bundle\'s id, and taken by node started by the #! line', () => {
    const bundle = readFileSync(path.join(REPO, 'dist', 'bundle', 'cli.cjs'), 'latin1');
    const id = /\/\/# sqsh-layers bundle ([0-9a-f]{16})\n$/.exec(bundle)?.[1];
    expect(id).toBeDefined();
    expect(path.basename(codeCacheFile(path.join(REPO, 'dist', 'bundle')))).toBe(`cli.cjs.${id}.v8-cache`);
    expect(codeCacheState(COMMAND, 'hash-bang')).toBe('accepted');
    // Other V8 flags: V8 refuses it.
    expect(codeCacheState(COMMAND, 'plain node')).toBe('rejected');
  });

  it('without one, or with one V8 refuses, the command does the same', () => {
    const cases: [string, (file: string) => void, string][] = [
      ['missing', (f) => rmSync(f), 'none'],
      ['truncated', (f) => writeFileSync(f, readFileSync(f).subarray(0, 4096)), 'rejected'],
      ['not a cache', (f) => writeFileSync(f, Buffer.alloc(70_000, 'sqsh')), 'rejected'],
      ['empty', (f) => writeFileSync(f, ''), 'rejected'],
    ];
    for (const [name, damage, state] of cases) {
      const copy = copyOfCommand(name);
      damage(codeCacheFile(copy.bundleDir));
      expect(codeCacheState(copy.command, 'hash-bang'), name).toBe(state);
      expect(runCommand(copy.command, ['--version'], project), name).toEqual(expected.version);
      expect(runCommand(copy.command, ['plan'], project), name).toEqual(expected.plan);
    }
  });

  it('is never used with other code, even of the same length', () => {
    const copy = copyOfCommand('other-code');
    const bundleFile = path.join(copy.bundleDir, 'cli.cjs');
    const text = readFileSync(bundleFile, 'latin1');
    // Other code of the very same length (V8's own check would take the cache): a comment
    // changed, and the id on the last line with it, as the build would give it.
    const changed = text.replace('// dist/cli/main.js', '// dist/cli/Main.js').replace(/([0-9a-f]{16})\n$/, (id) => `${id[0] === '0' ? '1' : '0'}${id.slice(1)}`);
    expect(changed).toHaveLength(text.length);
    expect(changed).not.toBe(text);
    writeFileSync(bundleFile, changed, 'latin1');
    expect(codeCacheState(copy.command, 'hash-bang')).toBe('none');
    expect(runCommand(copy.command, ['--version'], project)).toEqual(expected.version);
  });
});

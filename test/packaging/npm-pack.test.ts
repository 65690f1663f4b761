// The tool installs the way Node users expect: `npm pack` of a clean checkout builds dist/
// (prepack), and the tarball installed into a temp prefix has a working `sqsh-layers` bin,
// which compiles from the code cache prepack made.
// The checkout is a copy of the repository's files (not its dist/), so the test neither
// depends on nor rewrites the dist/ other tests run.

import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { codeCacheState, REPO, tempDir } from '../support/project.js';

const work = tempDir('npm-pack');
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('npm packaging', () => {
  it('npm pack builds dist/; the installed bin runs --version and plan', { timeout: 600_000 }, () => {
    // A clean checkout: the files git knows (tracked, or new and not ignored), without dist/.
    const checkout = path.join(work, 'checkout');
    const files = run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], REPO).split('\0').filter(Boolean);
    for (const f of files) {
      try {
        cpSync(path.join(REPO, f), path.join(checkout, f), { recursive: false });
      } catch {
        // deleted in the work tree
      }
    }
    symlinkSync(path.join(REPO, 'node_modules'), path.join(checkout, 'node_modules'));

    const out = path.join(work, 'out');
    mkdirSync(out);
    const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', out], checkout)) as { filename: string; files: { path: string }[] }[];
    const listed = packed[0]!.files.map((f) => f.path);
    expect(listed).toContain('dist/cli.cjs');
    expect(listed).toContain('dist/cli.js');
    expect(listed).toContain('dist/bundle/cli.cjs');
    expect(listed.filter((f) => /^dist\/bundle\/cli\.cjs\.[0-9a-f]{16}\.v8-cache$/.test(f))).toHaveLength(1);
    expect(listed).toContain('dist/enter-root.so');
    expect(listed).toContain('dist/mounter');
    expect(listed).toContain('dist/tree-ops');
    expect(listed).toContain('dist/registry/repository.js');
    expect(listed.filter((f) => f.startsWith('test/') || f.startsWith('src/'))).toEqual([]);

    const prefix = path.join(work, 'prefix');
    run('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', path.join(out, packed[0]!.filename)], work);
    const bin = path.join(prefix, 'bin', 'sqsh-layers');
    const version = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
    expect(run(bin, ['--version'], work).trim()).toBe(version);
    // The code cache made by prepack, taken by the installed command's node.
    expect(codeCacheState(realpathSync(bin), 'hash-bang')).toBe('accepted');

    const project = path.join(work, 'project');
    mkdirSync(path.join(project, 'recipes'), { recursive: true });
    writeFileSync(path.join(project, 'recipes/base.yaml'), 'steps:\n  - run: echo hello > /hello\n');
    writeFileSync(path.join(project, 'recipes/app.yaml'), 'parent: base\nsteps:\n  - run: echo app > /app\n');
    const plan = run(bin, ['plan'], project);
    expect(plan).toContain('2 layers in build order, 2 to build:');
    expect(plan).toContain('sqsh_layers=app:base');
  });
});

import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { failureIn } from '../../src/failure.js';
import { printable, Runner } from '../../src/process/run.js';
import { isRunning } from '../support/leftovers.js';
import { tempDir } from '../support/project.js';

function runner(signal = new AbortController().signal, dryRun = false, env: NodeJS.ProcessEnv = process.env) {
  const lines: string[] = [];
  const r = new Runner({ log: { verbose: (l) => lines.push(`v ${l}`), info: (l) => lines.push(`i ${l}`) }, dryRun, signal, env, killGraceMs: 200 });
  return { r, lines };
}

const dirs: string[] = [];
afterEach(() => {
  vi.unstubAllEnvs();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('Runner', () => {
  it('returns stdout and keeps the tail of combined output', async () => {
    const { r } = runner();
    // stdout and stderr are two pipes: lines written close together may arrive in either
    // order, so stderr comes well after stdout here.
    const res = await r.run(['sh', '-c', 'for i in 1 2 3 4 5; do echo out$i; done; sleep 0.3; for i in 1 2 3 4 5; do echo err$i >&2; done'], { tailLines: 3 });
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('out1\nout2\nout3\nout4\nout5\n');
    expect(res.tail).toEqual(['err3', 'err4', 'err5']);
  });

  it('fails with the exit code and tail, in the words of execa', async () => {
    const { r } = runner();
    const err = await r.run(['sh', '-c', 'echo boom; exit 3']).catch((e: unknown) => e);
    expect(failureIn(err, 'command')).toEqual({ reason: 'command', argv: ['sh', '-c', 'echo boom; exit 3'], exitCode: 3, signal: null, tail: ['boom'] });
    expect((err as Error).message).toBe("Command failed with exit code 3: sh -c 'echo boom; exit 3'");
  });

  it('says which signal killed a command', async () => {
    const { r } = runner();
    const err = await r.run(['sh', '-c', 'echo dying; kill -TERM $$']).catch((e: unknown) => e);
    expect(failureIn(err, 'command')).toMatchObject({ exitCode: null, signal: 'SIGTERM', tail: ['dying'] });
    expect((err as Error).message).toBe("Command was killed with SIGTERM: sh -c 'echo dying; kill -TERM $$'");
  });

  it('names a missing tool', async () => {
    const { r } = runner();
    const err = await r.run(['definitely-not-a-tool-xyz']).catch((e: unknown) => e);
    expect(failureIn(err, 'missing-tool')).toEqual({ reason: 'missing-tool', tool: 'definitely-not-a-tool-xyz' });
    expect((err as Error).message).toBe('definitely-not-a-tool-xyz is not installed');
  });

  it('passes arguments verbatim and feeds a file on stdin', async () => {
    const { r } = runner();
    const res = await r.run(['printf', '%s|', "it's", 'a b', '$HOME']);
    expect(res.stdout).toBe("it's|a b|$HOME|");
    const cat = await r.run(['cat'], { stdinFile: new URL(import.meta.url).pathname });
    expect(cat.stdout).toContain('passes arguments verbatim');
  });

  it('feeds bytes on stdin and gives stdout as bytes when asked (file names that are not UTF-8)', async () => {
    const { r } = runner();
    const names = Buffer.from('caf\xe9\0\xff\xfe-dir\0', 'latin1');
    const res = await r.run(['xargs', '-0', 'printf', '%s\\n'], { input: names, stdoutBytes: true });
    expect(res.stdoutBytes).toEqual(Buffer.from('caf\xe9\n\xff\xfe-dir\n', 'latin1'));
    expect((await r.run(['echo', 'x'])).stdoutBytes).toBeUndefined();
    // A command that does not read its input is no failure of ours.
    expect((await r.run(['true'], { input: Buffer.alloc(1 << 20) })).code).toBe(0);
  });

  it('refuses an argument that is not UTF-8 text instead of passing another name', async () => {
    const { r } = runner();
    const err = await r.run(['touch', '/tmp/caf\udce9']).catch((e: unknown) => e);
    expect(failureIn(err, 'command')).toMatchObject({ startError: 'an argument is not UTF-8 text: "/tmp/caf\\udce9"' });
    expect((err as Error).message).toBe('Command failed to start: touch \'/tmp/caf\udce9\': an argument is not UTF-8 text: "/tmp/caf\\udce9"');
  });

  it('prints instead of running in dry-run, but still runs queries', async () => {
    const { r, lines } = runner(undefined, true);
    const res = await r.run(['sh', '-c', 'exit 9']);
    expect(res.code).toBe(0);
    expect(lines).toEqual(["i + sh -c 'exit 9'"]);
    expect((await r.query(['echo', 'q'])).stdout).toBe('q\n');
  });

  it('kills the whole process group when interrupted, also a child that ignores SIGTERM', async () => {
    const ac = new AbortController();
    const { r } = runner(ac.signal);
    const pids: number[] = [];
    // The background child ignores SIGTERM: only the SIGKILL after the grace time ends it.
    const p = r.run(['sh', '-c', `sh -c 'trap "" TERM; echo $$; while :; do sleep 0.05; done' & wait`], {
      onLine: (line) => {
        pids.push(Number(line));
        ac.abort('SIGINT');
      },
    });
    const err = await p.catch((e: unknown) => e);
    expect(failureIn(err, 'interrupted')).toEqual({ reason: 'interrupted', signal: 'SIGINT' });
    expect(pids).toHaveLength(1);
    expect(pids[0]).toBeGreaterThan(1);
    const deadline = Date.now() + 3000;
    while (isRunning(pids[0]!) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    expect(isRunning(pids[0]!)).toBe(false);
  });
});

describe('Runner environment', () => {
  it('runs commands in the environment it was given, not the process\'s', async () => {
    vi.stubEnv('SQSH_TEST_ONLY_IN_PROCESS', 'leaked');
    const bin = tempDir('run-env');
    dirs.push(bin);
    writeFileSync(path.join(bin, 'only-on-injected-path'), '#!/bin/sh\necho "found $1"\n');
    chmodSync(path.join(bin, 'only-on-injected-path'), 0o755);
    const { r } = runner(undefined, false, { PATH: `${bin}:/usr/bin:/bin`, GIVEN: 'given' });
    expect(r.env).toEqual({ PATH: `${bin}:/usr/bin:/bin`, GIVEN: 'given' });
    const res = await r.run(['sh', '-c', 'echo "$GIVEN ${SQSH_TEST_ONLY_IN_PROCESS-unset} $EXTRA"; only-on-injected-path x'], { env: { EXTRA: 'extra' } });
    expect(res.stdout).toBe('given unset extra\nfound x\n');
    // The tool is not on the process's own PATH: the injected one found it.
    const { r: plain } = runner();
    expect(failureIn(await plain.run(['only-on-injected-path']).catch((e: unknown) => e), 'missing-tool')).toBeDefined();
  });

  it('with clearEnv, passes only the variables of the call', async () => {
    const { r } = runner(undefined, false, { PATH: '/usr/bin:/bin', GIVEN: 'given' });
    const res = await r.run(['/usr/bin/env'], { clearEnv: true, env: { ONLY: 'this' } });
    // No shell in between to add PWD or SHLVL.
    expect(res.stdout).toBe('ONLY=this\n');
  });
});

describe('Runner, when a command cannot start', () => {
  it('names a missing working directory and an interpreter that is not there, not a missing tool', async () => {
    const { r } = runner();
    const gone = await r.run(['true'], { cwd: '/nonexistent-sqsh-dir' }).catch((e: unknown) => e);
    expect(failureIn(gone, 'command')).toMatchObject({ startError: 'its working directory /nonexistent-sqsh-dir does not exist' });
    const dir = tempDir('run-interp');
    dirs.push(dir);
    writeFileSync(path.join(dir, 'script'), '#!/nonexistent/interpreter\n');
    chmodSync(path.join(dir, 'script'), 0o755);
    const bad = await r.run([path.join(dir, 'script')]).catch((e: unknown) => e);
    expect(failureIn(bad, 'command')?.startError).toContain('ENOENT');
  });

  it('fails with the reason instead of crashing', async () => {
    const { r } = runner();
    const err = await r.run(['echo', 'x'.repeat(200_000)]).catch((e: unknown) => e);
    expect(failureIn(err, 'command')).toMatchObject({ exitCode: null, signal: null, startError: 'spawn E2BIG', tail: [] });
    // The argument is cut: a message is for reading.
    expect((err as Error).message).toBe(`Command failed to start: echo '${'x'.repeat(200)}... (199800 more characters)': spawn E2BIG`);
  });
});

describe('printable', () => {
  it('shows control characters of command output as text, keeping tabs and ordinary text', () => {
    expect(printable('\x1b]0;title\x07plain\ttab caf\u00e9 \u009b2J')).toBe('\\x1b]0;title\\x07plain\ttab caf\u00e9 \\x9b2J');
  });
});

import { describe, expect, it } from 'vitest';
import { CommandError, MissingToolError, Runner } from '../../src/process/run.js';
import { Interrupted } from '../../src/process/interrupt.js';

function runner(signal = new AbortController().signal, dryRun = false) {
  const lines: string[] = [];
  const r = new Runner({ log: { verbose: (l) => lines.push(`v ${l}`), info: (l) => lines.push(`i ${l}`) }, dryRun, signal, killGraceMs: 200 });
  return { r, lines };
}

describe('Runner', () => {
  it('returns stdout and keeps the tail of combined output', async () => {
    const { r } = runner();
    const res = await r.run(['sh', '-c', 'for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done'], { tailLines: 3 });
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('out1\nout2\nout3\nout4\nout5\n');
    expect(res.tail.length).toBe(3);
    expect(res.tail[2]).toBe('err5');
  });

  it('fails with the exit code and tail', async () => {
    const { r } = runner();
    const err = await r.run(['sh', '-c', 'echo boom; exit 3']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).code).toBe(3);
    expect((err as CommandError).tail).toEqual(['boom']);
  });

  it('names a missing tool', async () => {
    const { r } = runner();
    const err = await r.run(['definitely-not-a-tool-xyz']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingToolError);
    expect((err as MissingToolError).tool).toBe('definitely-not-a-tool-xyz');
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
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).tail).toEqual(['cannot pass touch an argument that is not UTF-8 text: "/tmp/caf\\udce9"']);
  });

  it('prints instead of running in dry-run, but still runs queries', async () => {
    const { r, lines } = runner(undefined, true);
    const res = await r.run(['sh', '-c', 'exit 9']);
    expect(res.code).toBe(0);
    expect(lines).toEqual(["i + sh -c 'exit 9'"]);
    expect((await r.query(['echo', 'q'])).stdout).toBe('q\n');
  });

  it('kills the whole process group when interrupted', async () => {
    const ac = new AbortController();
    const { r } = runner(ac.signal);
    const p = r.run(['sh', '-c', 'sleep 30 & echo $! ; wait']);
    setTimeout(() => ac.abort('SIGINT'), 300);
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Interrupted);
    expect((err as Interrupted).signal).toBe('SIGINT');
  });
});

describe('Runner, when a command cannot start', () => {
  it('fails with the reason instead of crashing', async () => {
    const { r } = runner();
    const err = await r.run(['echo', 'x'.repeat(200_000)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).tail).toEqual(['could not start echo: spawn E2BIG']);
  });
});

import { describe, expect, it } from 'vitest';
import { failureIn } from '../../src/failure.js';
import { printable, Runner } from '../../src/process/run.js';

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

  it('kills the whole process group when interrupted', async () => {
    const ac = new AbortController();
    const { r } = runner(ac.signal);
    const p = r.run(['sh', '-c', 'sleep 30 & echo $! ; wait']);
    setTimeout(() => ac.abort('SIGINT'), 300);
    const err = await p.catch((e: unknown) => e);
    expect(failureIn(err, 'interrupted')).toEqual({ reason: 'interrupted', signal: 'SIGINT' });
  });
});

describe('Runner, when a command cannot start', () => {
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

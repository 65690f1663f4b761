// Each command's module is loaded only when that command runs (cli/main.ts): which ones the
// command line asks for, and that help, unknown names and global options still behave.

import { describe, expect, it } from 'vitest';
import { commandsFor } from '../../src/cli/main.js';
import { runCli } from '../support/project.js';

const ALL = ['plan', 'cmdline', 'build', 'gc', 'layerdev', 'boot', 'merge', 'commit', 'capture', 'inspect', 'diff', 'verify', 'shell', 'init', 'push', 'pull'];

describe('commands loaded for a command line', () => {
  it('only the named command, after global options with or without values', () => {
    expect(commandsFor(['build'])).toEqual(['build']);
    expect(commandsFor(['-C', 'build', 'plan'])).toEqual(['plan']);
    expect(commandsFor(['--jobs', '2', '--cache', '/c', '--verbose', 'build', 'base'])).toEqual(['build']);
    expect(commandsFor(['-Cdir', '--jobs=2', 'gc'])).toEqual(['gc']);
    expect(commandsFor(['--quiet', 'boot', 'config'])).toEqual(['boot']);
  });

  it('all of them for main help, `help`, an unknown name, no command or "--"', () => {
    expect(commandsFor([])).toEqual(ALL);
    expect(commandsFor(['--help'])).toEqual(ALL);
    expect(commandsFor(['help', 'build'])).toEqual(ALL);
    expect(commandsFor(['buld'])).toEqual(ALL);
    expect(commandsFor(['--', 'build'])).toEqual(ALL);
    expect(commandsFor(['toString'])).toEqual(ALL);
  });

  it('main help lists every command; an unknown one gets its suggestion', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const c of ALL) expect(help.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    const typo = await runCli(['buld']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("unknown command 'buld'");
    expect(typo.stderr).toContain('(Did you mean build?)');
  });

  it('a command\'s own help with global options before it', async () => {
    const r = await runCli(['-C', '/nonexistent', 'build', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: sqsh-layers build [options] [layers...]');
    expect(r.stdout).toContain('--frozen');
  });
});

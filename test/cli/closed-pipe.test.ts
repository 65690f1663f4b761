// A reader that stops early (`sqsh-layers --help | head -1`) is no crash: the command ends as
// it would have, its exit code unchanged, with no trace of the closed pipe.

import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI } from '../support/project.js';

function runWithStdoutClosed(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Read the first chunk, then close the pipe, as `head -1` does.
    child.stdout.once('data', () => child.stdout.destroy());
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('output to a closed pipe', () => {
  it('--help and --version end with their exit code and no trace', async () => {
    for (let i = 0; i < 5; i++) {
      expect(await runWithStdoutClosed(['--help'])).toEqual({ code: 0, stderr: '' });
    }
    expect(await runWithStdoutClosed(['--version'])).toEqual({ code: 0, stderr: '' });
  });
});

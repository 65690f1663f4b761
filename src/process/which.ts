// Finding a command on PATH the way exec(3) does, without starting a shell per tool
// (dash's `command -v` exits 127 for a missing command, bash's 1).

import { constants, promises as fs } from 'node:fs';
import path from 'node:path';

/** The file `exec` would run for `tool` with PATH `pathEnv`, or undefined when there is none. */
export async function findOnPath(tool: string, pathEnv: string): Promise<string | undefined> {
  if (tool.includes('/')) return (await isExecutable(tool)) ? tool : undefined;
  for (const dir of pathEnv.split(':')) {
    const file = path.join(dir === '' ? '.' : dir, tool);
    if (await isExecutable(file)) return file;
  }
  return undefined;
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    if (!(await fs.stat(file)).isFile()) return false;
    await fs.access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

// Unit tests that run a real host tool say so up front: without it the file fails with one
// message naming the tool and its Debian package, not with a puzzling assertion.

import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

function onPath(tool: string, pathEnv: string): boolean {
  return pathEnv.split(':').some((dir) => {
    const file = path.join(dir || '.', tool);
    try {
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  });
}

/** Throws unless every tool (name → Debian package) is on PATH. */
export function requireTools(tools: Record<string, string>, pathEnv = process.env.PATH ?? ''): void {
  const missing = Object.entries(tools).filter(([tool]) => !onPath(tool, pathEnv));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map(([, pkg]) => pkg))];
  throw new Error(
    `these tests run ${missing.map(([tool, pkg]) => `${tool} (package ${pkg})`).join(', ')}, not found on PATH: ` +
      `apt-get install ${packages.join(' ')} (npm test installs it through scripts/setup.sh)`,
  );
}

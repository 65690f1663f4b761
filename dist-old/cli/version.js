// The tool's version, read from package.json once.
import { readFileSync } from 'node:fs';
function readVersion() {
    for (const rel of ['../../package.json', '../../../package.json']) {
        try {
            return JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')).version;
        }
        catch {
            // try the next location (dist/cli/ vs src/cli/)
        }
    }
    return '0.0.0';
}
export const VERSION = readVersion();
//# sourceMappingURL=version.js.map
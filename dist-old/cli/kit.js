// What every command module gets from the CLI's entry point (main.ts): the program to
// register on, the global options, the process's streams and environment. Its own module,
// so that command modules and main.ts do not import each other.
import { availableParallelism } from 'node:os';
export function defaultJobs(configured) {
    return configured ?? Math.max(1, availableParallelism());
}
//# sourceMappingURL=kit.js.map
// Bundles the compiled command (dist/, from tsc) into dist/bundle/: a module per command and a
// few shared chunks, the npm dependencies (commander, yaml, ajv) inlined, instead of ~130
// files that node would resolve, read and compile one by one (a third of the tool's own time
// in a no-op build). dist/cli.js, the installed command, then only imports the bundle's.
// dist/bundle/ sits as deep as dist/cli/, so paths from a module's own URL (schema/,
// package.json, dist/enter-root.so) lead to the same place from either.

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const entry = path.join(dist, 'cli.js');
const outdir = path.join(dist, 'bundle');

const text = readFileSync(entry, 'utf8');
// Bundling twice would bundle the stub below: compile first (tsc).
if (text.includes('./bundle/cli.js')) throw new Error('dist/cli.js is already the bundle stub: run tsc first');
const shebang = text.split('\n', 1)[0];
if (!shebang.startsWith('#!')) throw new Error('dist/cli.js has no #! line');

/**
 * commander loads child_process on start (for subcommands that are programs of their own,
 * which this tool has none of): 7-10 ms of every command, and a no-op build starts no process.
 * Its use is made lazy.
 */
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    b.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const eager = "const childProcess = require('node:child_process');";
      if (!source.includes(eager)) return { contents: source, loader: 'js', warnings: [{ text: 'commander no longer loads child_process as expected: left as it is' }] };
      const lazy = "const childProcess = { spawn: (...a) => require('node:child_process').spawn(...a) };";
      return { contents: source.replace(eager, lazy), loader: 'js' };
    });
  },
};

/**
 * Node's builtins by require(), not by import. Importing a builtin from an ES module makes
 * node build a module facade over it, which reads every export once: that runs the lazy
 * getters of fs (streams, fs/promises, watchers), util (parseArgs, MIMEType), buffer (File)
 * and the like, loading a dozen internal modules no run of this tool needs up front.
 * Taken by require(), a builtin is just its exports object, and esbuild reads each name from
 * it where the code uses it.
 */
const builtinsByRequire = {
  name: 'builtins-by-require',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => (args.kind === 'import-statement' ? { path: args.path, namespace: 'builtin-by-require' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'builtin-by-require' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

rmSync(outdir, { recursive: true, force: true });
await build({
  plugins: [lazyChildProcess, builtinsByRequire],
  entryPoints: [entry],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Loaded from node_modules: a native addon (by its own path), and undici, 0.8 MB that only
  // a registry reached over TLS with NODE_EXTRA_CA_CERTS uses (src/registry/extra-ca.ts).
  external: ['@napi-rs/xattr', 'undici'],
  // The CommonJS dependencies' own require() calls (of node's modules) need one in ESM.
  banner: { js: "import { createRequire as __bundleCreateRequire } from 'node:module'; const require = __bundleCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
rmSync(`${entry}.map`, { force: true }); // tsc's, of the module the stub replaces
writeFileSync(entry, `${shebang}\n// The sqsh-layers command: its code is bundled in ./bundle/ (scripts/bundle.mjs).\nimport './bundle/cli.js';\n`, { mode: 0o755 });

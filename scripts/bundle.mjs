// Bundles the compiled command (dist/, from tsc) into one CommonJS file, dist/bundle/cli.cjs,
// with the npm dependencies (commander, yaml, ajv) inlined, and makes a V8 code cache for it
// (scripts/train-code-cache.cjs). Starting a command is most of a no-op build's time: node
// would otherwise resolve, read and compile ~130 files, and compile the code as it runs.
//
// - dist/cli.cjs, the installed command (package.json "bin"): src/cli.ts's #! line and
//   scripts/cli-loader.cjs, which compiles the bundle from its code cache and runs it.
// - dist/cli.js: for `node dist/cli.js`; it loads dist/cli.cjs.
// dist/bundle/ sits as deep as dist/cli/, so paths from a module's own URL (schema/,
// package.json, dist/enter-root.so) lead to the same place from either.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, transform } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const entry = path.join(dist, 'cli.js');
const outfile = path.join(dist, 'bundle', 'cli.cjs');
const command = path.join(dist, 'cli.cjs');

const text = readFileSync(entry, 'utf8');
// Bundling twice would bundle the stub below: compile first (tsc).
if (text.includes("('./cli.cjs')")) throw new Error('dist/cli.js is already the stub that loads dist/cli.cjs: run tsc first');
const shebang = text.split('\n', 1)[0];
// The options node runs with, from the #! line: the code cache must be made with the same.
const nodeOptions = /^#!\/usr\/bin\/env -S .*?\bnode((?: --?[a-z][a-z0-9-]*(?:=\S+)?)*)$/.exec(shebang)?.[1].trim().split(' ').filter(Boolean);
if (!nodeOptions) throw new Error(`dist/cli.js's #! line is not "#!/usr/bin/env -S ... node [options]": ${shebang}`);

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

rmSync(path.join(dist, 'bundle'), { recursive: true, force: true });
await build({
  plugins: [lazyChildProcess],
  entryPoints: [entry],
  outfile,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // Loaded from node_modules: a native addon (by its own path), and undici, 0.8 MB that only
  // a registry reached over TLS with NODE_EXTRA_CA_CERTS uses (src/registry/extra-ca.ts).
  external: ['@napi-rs/xattr', 'undici'],
  // The modules' own URL (paths to schema/, package.json, dist/enter-root.so): the bundle's.
  define: { 'import.meta.url': '__bundleUrl' },
  banner: { js: 'var __bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  logLevel: 'warning',
});
rmSync(`${entry}.map`, { force: true }); // tsc's, of the module the stub replaces
// esbuild keeps the entry's #! line; the loader wraps the code in a function, where it cannot
// be. An empty line instead keeps the lines of stack traces.
let bundled = readFileSync(outfile, 'utf8');
if (bundled.startsWith('#!')) bundled = bundled.slice(bundled.indexOf('\n'));
// ASCII only, so that the loader reads it as one-byte text: esbuild escapes other characters in
// the code, and keeps those of some comments (p-queue's have emoji), which become "?". Checked:
// without its comments, the code has none.
if (/[\u0080-\uffff]/.test(bundled)) {
  const code = (await transform(bundled, { loader: 'js', minifyWhitespace: true, charset: 'ascii' })).code;
  if (/[\u0080-\uffff]/.test(code)) throw new Error('dist/bundle/cli.cjs has characters beyond ASCII outside its comments: the loader reads it as latin1');
  bundled = bundled.replace(/[\u0080-\uffff]/g, '?');
}
// Its last line gives it an id, from its text, that names its code cache (scripts/cli-loader.cjs).
writeFileSync(outfile, `${bundled}//# sqsh-layers bundle ${createHash('sha256').update(bundled).digest('hex').slice(0, 16)}\n`);
chmodSync(outfile, 0o644); // esbuild made it executable, for the #! line it had

const loader = readFileSync(path.join(root, 'scripts', 'cli-loader.cjs'), 'utf8');
writeFileSync(command, `${shebang}\n${loader}`);
chmodSync(command, 0o755);
writeFileSync(
  entry,
  `${shebang}
// For \`node dist/cli.js\`: the command is dist/cli.cjs (scripts/bundle.mjs).
import { createRequire } from 'node:module';

await createRequire(import.meta.url)('./cli.cjs').load().exports.run();
`,
);
chmodSync(entry, 0o755);

// The code cache, made by node started as the #! line starts it (its V8 flags, no
// NODE_OPTIONS), then checked the same way.
const env = { ...process.env };
delete env.NODE_OPTIONS;
delete env.NODE_EXTRA_CA_CERTS;
const train = spawnSync(process.execPath, [...nodeOptions, path.join(root, 'scripts', 'train-code-cache.cjs'), command], { env, stdio: 'inherit' });
if (train.status !== 0) throw new Error(`making the code cache failed (${train.signal ?? `exit ${train.status}`})`);

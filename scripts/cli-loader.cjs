'use strict';
// The sqsh-layers command as installed (dist/cli.cjs: the build puts src/cli.ts's #! line above
// this file; scripts/bundle.mjs). The command's code is one CommonJS file, dist/bundle/cli.cjs.
// V8 compiles it from a code cache the build made by running the command's common paths
// (scripts/train-code-cache.cjs): dist/bundle/cli.cjs.<the bundle's id>.v8-cache. A no-op
// build of four layers took 133 ms with it and 208 ms without (medians side by side, 2 cores).
//
// V8 takes a code cache only from the same V8 and the same V8 flags. Node started otherwise
// (another node, NODE_OPTIONS with V8 flags, or `node dist/cli.cjs` without the #! line's
// flags) rejects it and compiles the code as it runs: slower, nothing else. V8 checks the
// source by its length only: the cache's name carries the id the build gave the bundle's text,
// so a cache is only ever used with the text it was made from. It lies beside the code,
// written by the build only: whoever could change it could change the code.
//
// Loaded with require() (scripts/train-code-cache.cjs, dist/cli.js), it only exports load().

const { readFileSync } = require('node:fs');
const { Script } = require('node:vm');

const BUNDLE = `${__dirname}/bundle/cli.cjs`;

/**
 * Compiles and runs the bundle's module code, with the code cache unless `cache` is false.
 * Returns its exports and the compiled script (whose createCachedData() makes a cache), and
 * whether V8 used a cache: 'accepted', 'rejected' (another V8, other flags, or damaged) or
 * 'none'.
 */
function load({ cache = true } = {}) {
  // The bundle is ASCII (esbuild escapes the rest): read as latin1, without UTF-8 decoding.
  const source = readFileSync(BUNDLE, 'latin1');
  const id = /\n\/\/# sqsh-layers bundle ([0-9a-f]+)\n$/.exec(source.slice(-64))?.[1];
  const codeCacheFile = id === undefined ? undefined : `${BUNDLE}.${id}.v8-cache`;
  let cachedData;
  if (cache && codeCacheFile !== undefined) {
    try {
      cachedData = readFileSync(codeCacheFile);
    } catch {
      // No cache (not built yet, or removed): compiled as it runs.
    }
  }
  // The CommonJS module wrapper, as node's own loader puts it around a file. The code's
  // require() is this file's: the bundle's only requires are node's modules and packages
  // (node_modules), found the same from dist/ as from dist/bundle/.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: BUNDLE,
    cachedData,
  });
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, require, mod, BUNDLE, `${__dirname}/bundle`);
  const codeCache = cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'accepted';
  return { exports: mod.exports, script, codeCache, codeCacheFile };
}

module.exports = { load };

if (require.main === module) load().exports.run();

'use strict';
// Preloaded into the tool's node process (node --require) by the bench: on exit it writes the
// process's own peak RSS and CPU time, and the CPU time of the children it waited for
// (restore, mksquashfs, ...), to $BENCH_PROBE_OUT. The tool itself is not changed.
// CommonJS, as the tool is: an ES module (node --import) would start node's ESM loader in the
// measured process, ~10 ms the tool itself does not spend.

const { readFileSync, writeFileSync } = require('node:fs');

const out = process.env.BENCH_PROBE_OUT;
if (out) {
  process.on('exit', () => {
    const r = process.resourceUsage();
    let childCpu;
    try {
      const stat = readFileSync('/proc/self/stat', 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      childCpu = (Number(f[13]) + Number(f[14])) / 100; // cutime + cstime, in clock ticks (USER_HZ = 100)
    } catch {
      childCpu = undefined;
    }
    writeFileSync(
      out,
      JSON.stringify({ maxRssKiB: r.maxRSS, userCpu: r.userCPUTime / 1e6, sysCpu: r.systemCPUTime / 1e6, childCpu }),
    );
  });
}

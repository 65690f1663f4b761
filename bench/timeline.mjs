// Where a `build --verbose` spends its time, from the arrival times of its stderr lines:
// the layer events ("[base] step 1/1: ...", "[base] finalizing the upper dir", ...) and the
// "+ CMD" lines that the runner logs when it starts a command. Each interval between two
// marks is charged to the first one. Layers of a chain build one after the other, so a
// "+ CMD" line belongs to the layer of the latest event.

function classify(cmd) {
  const argv = cmd.split(' ');
  const tool = argv[0];
  if (tool === 'bwrap') {
    if (/\/restore( |$)/.test(cmd)) return 'cmd: restore (bwrap)';
    if (/\/rsync( |$)/.test(cmd)) return 'cmd: rsync (bwrap)';
    if (/\/tar( |$)/.test(cmd)) return 'cmd: tar (bwrap)';
    return 'cmd: bwrap (run step)';
  }
  if (tool === 'mount') return `cmd: mount ${argv.includes('overlay') ? 'overlay' : argv.includes('tmpfs') ? 'tmpfs' : argv.includes('squashfs') ? 'squashfs' : ''}`.trim();
  // finalize runs: getfattr -R (upper), setfattr (strip), [prune: scan + content compare in
  // node], getfattr on the lower candidates, [prune: removal in node]
  if (tool === 'getfattr') return argv.includes('-R') ? 'cmd: getfattr -R upper (+ node: strip list, prune scan/compare if no setfattr)' : 'cmd: getfattr lower candidates (+ node: prune removal)';
  if (tool === 'setfattr') return 'cmd: setfattr (+ node: prune scan/compare)';
  if (tool.endsWith('.sh') || tool.includes('/hooks/')) return 'cmd: host hook';
  return `cmd: ${tool.split('/').pop()}`;
}

/**
 * @param {{t:number, line:string}[]} lines  stderr lines with arrival times in ms
 * @returns per layer: {segments: [{label, seconds}], phases: {setup, steps, finalize, mksquashfs, after, total}}
 */
export function toolTimeline(lines) {
  const marks = [];
  let current;
  for (const { t, line } of lines) {
    const ev = /^\[([a-z0-9][a-z0-9._-]*)\] (.*)$/.exec(line);
    if (ev) {
      const [, layer, text] = ev;
      if (text.startsWith('| ') || /^mksquashfs \d+%$/.test(text)) continue;
      current = layer;
      let label;
      if (text.startsWith('building')) label = 'setup';
      else if (/^step \d+\/\d+: /.test(text)) label = `step: ${text.replace(/^step \d+\/\d+: (\S+).*/, '$1')}`;
      else if (text.startsWith('finalizing')) label = 'finalize';
      else if (text.startsWith('packing')) label = 'pack';
      else if (text.startsWith('built in') || text.startsWith('cached')) label = 'done';
      else label = text;
      marks.push({ t, layer, label, event: true });
    } else if (line.startsWith('+ ') && current) {
      marks.push({ t, layer: current, label: classify(line.slice(2)), event: false });
    }
  }
  const layers = {};
  for (let i = 0; i < marks.length; i++) {
    const m = marks[i];
    const L = (layers[m.layer] ??= { marks: [] });
    L.marks.push({ ...m, until: marks[i + 1]?.t ?? m.t });
  }
  for (const L of Object.values(layers)) {
    const segs = L.marks.map((m) => ({ label: m.label, event: m.event, t: m.t, seconds: (m.until - m.t) / 1000 }));
    const phase = { setup: 0, steps: 0, finalize: 0, mksquashfs: 0, after: 0 };
    const detail = {};
    let where = 'setup';
    for (const s of segs) {
      if (s.event) {
        if (s.label === 'setup') where = 'setup';
        else if (s.label.startsWith('step: ')) where = 'steps';
        else if (s.label === 'finalize') where = 'finalize';
        else if (s.label === 'pack') where = 'pack';
        else if (s.label === 'done') continue;
      }
      // In the pack phase: mksquashfs itself, then unmounting, hashing the blob into the
      // cache, materializing layers/NAME.sqsh and the manifest ("after").
      let bucket = where;
      if (where === 'pack') bucket = s.label === 'pack' || s.label === 'cmd: mksquashfs' ? 'mksquashfs' : 'after';
      phase[bucket] += s.seconds;
      const key = `${bucket} / ${s.label}`;
      detail[key] = (detail[key] ?? 0) + s.seconds;
    }
    const start = L.marks[0].t;
    const end = L.marks[L.marks.length - 1].t;
    L.phases = { ...phase, total: (end - start) / 1000 };
    L.detail = detail;
    delete L.marks;
  }
  return layers;
}

// `boot`: a layer stack booted in a qemu VM the way a machine boots it, through an initramfs
// with RuckusRD's layer parameters: the layers on a read-only virtio disk made like
// `layerdev` (/dev/vdb), a scratch root device for the upper (/dev/vda) or ram_layer; then
// the recipes' checks run inside the booted system and their results come back on the
// serial console. Everything lives in the run's state dir, which the session removes.

import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { BuildSession } from '../engine/session.js';
import { FailureError } from '../failure.js';
import { kernelCmdline } from '../plan/cmdline.js';
import { findOnPath } from '../process/which.js';
import { type Check, type CheckResult, ConsoleLog } from './console.js';
import { makeExt4Image } from './ext4-image.js';
import { makeInitramfs } from './initramfs.js';
import { findKernel } from './kernel.js';
import { type LayerFile, makeLayerdev } from './layerdev.js';
import { bootModules } from './modules.js';
import { type Accel, chooseAccel, QEMU, runVm } from './qemu.js';

export interface BootOptions {
  /** The stack, top first. */
  stack: readonly string[];
  layers: ReadonlyMap<string, LayerFile>;
  /** The checks to run (base layer's first); undefined: an interactive console instead. */
  checks: readonly Check[] | undefined;
  kernel?: string;
  modules?: string;
  release: string;
  timeoutSeconds: number;
  memoryMiB: number;
  ramLayer?: string;
  overlayflags?: string;
  layerdir?: string;
  /** Size of the scratch root device (sparse). */
  rootBytes: number;
}

export interface BootResult {
  kernel: string;
  accel: Accel;
  init: string | undefined;
  cmdline: string;
  bootSeconds: number | undefined;
  checks: CheckResult[];
}

/** After the last check, the time the VM gets to power off before it is killed. */
const POWEROFF_GRACE_MS = 30_000;

export async function bootStack(s: BuildSession, o: BootOptions): Promise<BootResult> {
  const note = (text: string) => s.report.emit({ type: 'info', text });
  const runId = path.basename(s.runDir);
  const work = path.join(s.runDir, 'boot');
  await fs.mkdir(work, { recursive: true });
  for (const tool of [QEMU, 'mkfs.ext4', 'cpio', 'busybox']) {
    if ((await findOnPath(tool, s.runner.env.PATH ?? '')) === undefined) throw new FailureError({ reason: 'missing-tool', tool });
  }
  const busybox = (await findOnPath('busybox', s.runner.env.PATH ?? ''))!;

  const kernel = await findKernel({ kernel: o.kernel, modules: o.modules, release: o.release, cacheDir: s.project.config.cacheDir, runId, runner: s.runner, note });
  if (kernel.modulesDir === undefined) note(`no modules for ${kernel.image}: squashfs, overlay, loop, virtio and ext4 must be built in`);
  const modules = kernel.modulesDir !== undefined ? await bootModules(kernel.modulesDir) : [];

  // The layers' disk, as `layerdev` makes it; the root device: an empty ext4 with upper/upper.
  const layersImg = path.join(work, 'layers.img');
  await makeLayerdev(s.runner, {
    layers: o.stack.map((n) => o.layers.get(n)!),
    layerdir: o.layerdir,
    out: layersImg,
    staging: path.join(work, 'layerdev'),
    runId,
  });
  const rootTree = path.join(work, 'root-tree');
  await fs.mkdir(path.join(rootTree, 'upper/upper'), { recursive: true });
  await fs.mkdir(path.join(rootTree, 'upper/work'), { recursive: true });
  const rootImg = path.join(work, 'root.img');
  await makeExt4Image(s.runner, { from: rootTree, out: rootImg, bytes: o.rootBytes, label: 'sqsh-boot-root', seed: runId, runId });

  const nonce = randomBytes(8).toString('hex');
  const initrd = path.join(work, 'initramfs.cpio');
  await makeInitramfs({
    runner: s.runner,
    staging: path.join(work, 'initramfs'),
    out: initrd,
    busybox,
    modulesDir: kernel.modulesDir,
    modules,
    nonce,
    checks: o.checks,
  });

  const accel = await chooseAccel(s.runner, note, { kernel: kernel.image, initrd, pidfile: path.join(work, 'kvm-probe.pid') });
  const params = kernelCmdline(o.stack, { root: '/dev/vda', layerdev: '/dev/vdb', layerdir: o.layerdir, ramLayer: o.ramLayer, overlayflags: o.overlayflags });
  const append = `console=ttyS0 panic=-1 loglevel=4 ${params}`;
  note(`booting ${o.stack[0]} (${kernel.source}, ${accel.toUpperCase()}): ${params}`);

  const checks = o.checks ?? [];
  const started = Date.now();
  const log = new ConsoleLog(nonce, checks, started);
  const run = await runVm(
    s.runner,
    { kernel: kernel.image, initrd, append, disks: [{ file: rootImg, readonly: false }, { file: layersImg, readonly: true }], memoryMiB: o.memoryMiB, accel, pidfile: path.join(work, 'qemu.pid'), interactive: o.checks === undefined },
    {
      timeoutMs: o.timeoutSeconds * 1000,
      graceMs: POWEROFF_GRACE_MS,
      onLine: (line) => {
        if (s.verbose) s.report.emit({ type: 'info', text: `console: ${line}` });
        log.line(line, Date.now());
        return log.done || log.fatal !== undefined;
      },
    },
  );
  if (log.fatal !== undefined) {
    throw new FailureError({ reason: 'boot', message: `the VM's initramfs gave up: ${log.fatal}`, tail: log.lastLines() });
  }
  if (o.checks === undefined) note('the VM has stopped');
  else if (!log.done) {
    const running = log.running !== undefined ? checks[log.running - 1] : undefined;
    const where = running
      ? `check ${JSON.stringify(running.command)} (layer ${running.layer}) did not finish`
      : log.bootSeconds !== undefined
        ? 'the checks did not finish'
        : `the system did not come up${log.init !== undefined ? ` (init: ${log.init})` : ''}`;
    throw new FailureError({
      reason: 'boot',
      message: run.timedOut ? `${where} within --timeout ${o.timeoutSeconds}s; the VM was killed` : `the VM stopped before its checks ran: ${where}`,
      tail: log.lastLines(),
      hint: run.timedOut ? 'the console tail above shows how far it got (--verbose shows all of it)' : undefined,
    });
  }
  return { kernel: kernel.source, accel, init: log.init, cmdline: append, bootSeconds: log.bootSeconds, checks: log.results };
}

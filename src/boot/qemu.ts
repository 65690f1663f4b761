// qemu-system-x86_64 for `boot`: the command line, KVM or TCG, and a run whose serial console
// is collected line by line, with a deadline. qemu is started through the one Runner, so an
// interrupt kills it and a killed run's qemu is reaped by the next run; the deadline kills it
// by the pid qemu itself wrote (-pidfile).

import { existsSync, promises as fs } from 'node:fs';
import { failureIn } from '../failure.js';
import { classify } from '../process/interrupt.js';
import { printableInline } from '../process/printable.js';
import type { Runner } from '../process/run.js';

export const QEMU = 'qemu-system-x86_64';

export type Accel = 'kvm' | 'tcg';

export interface VmSpec {
  kernel: string;
  initrd: string;
  append: string;
  disks: readonly { file: string; readonly: boolean }[];
  memoryMiB: number;
  accel: Accel;
  pidfile: string;
  /** Serial console on the terminal (interactive) instead of collected. */
  interactive: boolean;
}

export function qemuArgv(v: VmSpec): string[] {
  return [
    QEMU,
    '-name', 'sqsh-layers-boot',
    '-machine', `q35,accel=${v.accel}`,
    ...(v.accel === 'kvm' ? ['-cpu', 'host'] : []),
    '-m', String(v.memoryMiB),
    '-smp', v.accel === 'kvm' ? '2' : '1',
    '-nodefaults', '-no-user-config', '-display', 'none',
    // A guest that reboots or panics (panic=-1) ends the VM instead of booting again.
    '-no-reboot',
    '-kernel', v.kernel,
    '-initrd', v.initrd,
    '-append', v.append,
    ...v.disks.flatMap((d) => ['-drive', `file=${d.file},if=virtio,format=raw,cache=unsafe${d.readonly ? ',readonly=on' : ''}`]),
    ...(v.interactive ? ['-serial', 'mon:stdio'] : ['-chardev', 'stdio,id=console,signal=off', '-serial', 'chardev:console']),
    '-pidfile', v.pidfile,
  ];
}

/** How long a guest kernel under KVM may take to print its first message (it takes well under a second). */
export const KVM_GUEST_PROBE_MS = 15_000;

/**
 * KVM when /dev/kvm is there, qemu starts with it and a guest really runs on it; TCG
 * otherwise, with a note saying why. /dev/kvm may exist and still fail: nested
 * virtualization off, no permission, or a host whose KVM starts a VM whose guest then
 * hangs as it leaves real mode (seen: the kernel's real-mode setup prints, then nothing). So
 * `kernel` and `initrd` (those of the boot) start once under KVM, and KVM is used if the
 * kernel's first message ("Linux version ...") comes within KVM_GUEST_PROBE_MS; that VM is
 * killed right then.
 */
export async function chooseAccel(
  runner: Runner,
  note: (text: string) => void,
  probe: { kernel: string; initrd: string; pidfile: string; device?: string; timeoutMs?: number },
): Promise<Accel> {
  const timeoutMs = probe.timeoutMs ?? KVM_GUEST_PROBE_MS;
  if (!existsSync(probe.device ?? '/dev/kvm')) {
    note('no /dev/kvm: the VM runs under TCG (emulation, much slower than KVM)');
    return 'tcg';
  }
  const starts = await runner.query([QEMU, '-accel', 'kvm', '-machine', 'none', '-nodefaults', '-display', 'none', '-monitor', 'stdio'], {
    input: Buffer.from('quit\n'),
    okCodes: [0, 1],
  });
  if (starts.code !== 0) {
    note(`/dev/kvm is there but qemu cannot use it (${starts.tail.filter((l) => l.trim() !== '').at(-1) ?? `exit ${starts.code}`}): TCG instead`);
    return 'tcg';
  }
  let printed = false;
  let failed: string | undefined;
  let timedOut = false;
  try {
    ({ timedOut } = await runVm(
      runner,
      { kernel: probe.kernel, initrd: probe.initrd, append: 'console=ttyS0 earlyprintk=ttyS0 panic=-1', disks: [], memoryMiB: 256, accel: 'kvm', pidfile: probe.pidfile, interactive: false },
      { timeoutMs, graceMs: 0, onLine: (line) => (printed ||= /\bLinux version \d/.test(line)) },
    ));
  } catch (err) {
    // An interrupt stops the boot; qemu failing on its own under KVM means TCG.
    const f = failureIn(err, 'command');
    if (classify(runner.signal) !== undefined || f === undefined) throw err;
    // Its last words may come from the guest's console: shown with control characters escaped.
    failed = printableInline(f.startError ?? f.tail.filter((l) => l.trim() !== '').at(-1) ?? `exit ${f.exitCode ?? f.signal}`).slice(0, 200);
  } finally {
    await fs.rm(probe.pidfile, { force: true });
  }
  if (printed) return 'kvm';
  note(
    failed !== undefined
      ? `qemu starts with KVM, but a guest on it failed (${failed}): TCG instead`
      : timedOut
        ? `qemu starts with KVM, but a guest kernel on it printed nothing within ${timeoutMs / 1000} s (this host's KVM does not run guests): TCG instead`
        : 'qemu starts with KVM, but a guest kernel on it ended without printing anything: TCG instead',
  );
  return 'tcg';
}

export interface VmRun {
  /** Killed at the deadline. */
  timedOut: boolean;
  /** Killed after it said it was done but did not power off in time. */
  killedAfterDone: boolean;
}

export interface VmWatch {
  timeoutMs: number;
  /** Each console line as it comes; returns true once the VM has said all it will (then it gets graceMs to power off). */
  onLine: (line: string) => boolean;
  graceMs: number;
}

export async function runVm(runner: Runner, v: VmSpec, w: VmWatch): Promise<VmRun> {
  let killedBy: 'timeout' | 'grace' | undefined;
  const kill = async (why: 'timeout' | 'grace') => {
    killedBy ??= why;
    const pid = Number((await fs.readFile(v.pidfile, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 1) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  };
  // An interactive console has a person at it: no deadline.
  const deadline = v.interactive ? undefined : setTimeout(() => void kill('timeout'), w.timeoutMs);
  let grace: NodeJS.Timeout | undefined;
  try {
    await runner.run(qemuArgv(v), {
      tailLines: 5,
      interactive: v.interactive,
      onLine: (line) => {
        if (w.onLine(line) && grace === undefined) grace = setTimeout(() => void kill('grace'), w.graceMs);
      },
    });
  } catch (err) {
    // Killed by us (the deadline, the grace time): an outcome, not an error. An interrupt is.
    if (classify(runner.signal) !== undefined || killedBy === undefined || failureIn(err, 'command') === undefined) throw err;
  } finally {
    clearTimeout(deadline);
    clearTimeout(grace);
  }
  return { timedOut: killedBy === 'timeout', killedAfterDone: killedBy === 'grace' };
}

// qemu-system-x86_64 for `boot`: the command line, KVM or TCG, and a run whose serial console
// is collected line by line, with a deadline. qemu is started through the one Runner, so an
// interrupt kills it and a killed run's qemu is reaped by the next run; the deadline kills it
// by the pid qemu itself wrote (-pidfile).
import { existsSync, promises as fs } from 'node:fs';
import { failureIn } from '../failure.js';
import { classify } from '../process/interrupt.js';
export const QEMU = 'qemu-system-x86_64';
export function qemuArgv(v) {
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
/**
 * KVM when /dev/kvm is there and qemu really starts with it (it may exist and still fail:
 * nested virtualization off, no permission); TCG otherwise, with a note saying why.
 */
export async function chooseAccel(runner, note) {
    if (!existsSync('/dev/kvm')) {
        note('no /dev/kvm: the VM runs under TCG (emulation, much slower than KVM)');
        return 'tcg';
    }
    const probe = await runner.query([QEMU, '-accel', 'kvm', '-machine', 'none', '-nodefaults', '-display', 'none', '-monitor', 'stdio'], {
        input: Buffer.from('quit\n'),
        okCodes: [0, 1],
    });
    if (probe.code === 0)
        return 'kvm';
    note(`/dev/kvm is there but qemu cannot use it (${probe.tail.filter((l) => l.trim() !== '').at(-1) ?? `exit ${probe.code}`}): TCG instead`);
    return 'tcg';
}
export async function runVm(runner, v, w) {
    let killedBy;
    const kill = async (why) => {
        killedBy ??= why;
        const pid = Number((await fs.readFile(v.pidfile, 'utf8').catch(() => '')).trim());
        if (Number.isInteger(pid) && pid > 1) {
            try {
                process.kill(pid, 'SIGKILL');
            }
            catch {
                // gone already
            }
        }
    };
    // An interactive console has a person at it: no deadline.
    const deadline = v.interactive ? undefined : setTimeout(() => void kill('timeout'), w.timeoutMs);
    let grace;
    try {
        await runner.run(qemuArgv(v), {
            tailLines: 5,
            interactive: v.interactive,
            onLine: (line) => {
                if (w.onLine(line) && grace === undefined)
                    grace = setTimeout(() => void kill('grace'), w.graceMs);
            },
        });
    }
    catch (err) {
        // Killed by us (the deadline, the grace time): an outcome, not an error. An interrupt is.
        if (classify(runner.signal) !== undefined || killedBy === undefined || failureIn(err, 'command') === undefined)
            throw err;
    }
    finally {
        clearTimeout(deadline);
        clearTimeout(grace);
    }
    return { timedOut: killedBy === 'timeout', killedAfterDone: killedBy === 'grace' };
}
//# sourceMappingURL=qemu.js.map
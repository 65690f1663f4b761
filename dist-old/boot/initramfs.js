// The boot initramfs: a static busybox, /init (boot/init-script.ts), the kernel modules it
// loads, and the check runner with the checks; packed as a newc cpio archive.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FailureError } from '../failure.js';
import { BOOT_DIR, checksUnit, initScript, runChecksScript } from './init-script.js';
/** Whether an ELF file asks for a program interpreter (is dynamically linked). */
async function isDynamic(file) {
    const head = Buffer.alloc(8192);
    const fh = await fs.open(file, 'r');
    try {
        await fh.read(head, 0, head.length, 0);
    }
    finally {
        await fh.close();
    }
    return head.includes('/ld-linux') || head.includes('/ld-musl');
}
export async function makeInitramfs(o) {
    if (await isDynamic(o.busybox)) {
        throw new FailureError({
            reason: 'boot',
            message: `${o.busybox} is dynamically linked: the initramfs needs a static busybox`,
            hint: 'install it: apt-get install busybox-static',
            tail: [],
        });
    }
    const s = o.staging;
    const put = async (rel, content, mode = 0o644) => {
        const file = path.join(s, rel);
        await fs.mkdir(path.dirname(file), { recursive: true });
        await fs.writeFile(file, content, { mode });
    };
    await fs.mkdir(path.join(s, 'bin'), { recursive: true });
    await fs.copyFile(o.busybox, path.join(s, 'bin/busybox'));
    await fs.chmod(path.join(s, 'bin/busybox'), 0o755);
    await fs.mkdir(path.join(s, 'dev'), { recursive: true });
    // The kernel opens /dev/console for init before anything is mounted.
    await o.runner.run(['mknod', '-m', '600', path.join(s, 'dev/console'), 'c', '5', '1']);
    const loads = [];
    for (const m of o.modules) {
        const name = path.basename(m.file).replace(/\.ko(\.(xz|zst|gz))?$/, '.ko');
        const from = path.join(o.modulesDir, m.file);
        // busybox's insmod may not read compressed modules: they go in plain.
        const decompress = m.file.endsWith('.xz') ? 'xz' : m.file.endsWith('.zst') ? 'zstd' : m.file.endsWith('.gz') ? 'gzip' : undefined;
        if (decompress) {
            const r = await o.runner.run([decompress, '-dc', from], { stdoutBytes: true });
            await put(`lib/modules/${name}`, r.stdoutBytes);
        }
        else {
            await fs.mkdir(path.join(s, 'lib/modules'), { recursive: true });
            await fs.copyFile(from, path.join(s, 'lib/modules', name));
        }
        loads.push({ file: name, params: m.params });
    }
    await put('init', initScript({ nonce: o.nonce, modules: loads, checks: o.checks?.length }), 0o755);
    // What the initramfs copies into the booted root: busybox (the runner's shell), the runner, the checks.
    const boot = BOOT_DIR.slice(1);
    await fs.mkdir(path.join(s, boot), { recursive: true });
    await fs.copyFile(o.busybox, path.join(s, boot, 'busybox'));
    await fs.chmod(path.join(s, boot, 'busybox'), 0o755);
    if (o.checks !== undefined) {
        await put(`${boot}/run-checks`, runChecksScript({ nonce: o.nonce, count: o.checks.length }), 0o755);
        await put(`${boot}/sqsh-boot-checks.service`, checksUnit());
        await fs.mkdir(path.join(s, boot, 'checks'), { recursive: true });
        for (const [i, c] of o.checks.entries())
            await put(`${boot}/checks/${i + 1}`, c.command);
    }
    const entries = (await fs.readdir(s, { recursive: true })).map(String).sort();
    await o.runner.run(['cpio', '--quiet', '-o', '-H', 'newc', '-R', '0:0', '-O', o.out], {
        cwd: s,
        input: Buffer.from(['.', ...entries].join('\n') + '\n'),
    });
}
//# sourceMappingURL=initramfs.js.map
// The seccomp program, run through a small classic-BPF interpreter: what it decides for the
// calls that matter, per architecture, and syscall numbers that match the kernel's headers.

import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { seccompFilter, SYSCALLS } from '../../src/mount/seccomp.js';

const ARCH = { x86_64: 0xc000003e, i386: 0x40000003, aarch64: 0xc00000b7, arm: 0x40000028 };
const ALLOW = 0x7fff0000;
const EPERM = 0x00050001;
const ENOSYS = 0x00050026;
const KILL = 0x80000000;

/** Runs the filter on one call (seccomp_data: nr, arch, args) as the kernel would. */
function decide(prog: Buffer, arch: number, nr: number, args: number[] = []): number {
  const data = Buffer.alloc(64);
  data.writeInt32LE(nr, 0);
  data.writeUInt32LE(arch, 4);
  args.forEach((a, i) => data.writeUInt32LE(a >>> 0, 16 + 8 * i));
  let acc = 0;
  for (let pc = 0; pc < prog.length / 8; pc++) {
    const code = prog.readUInt16LE(pc * 8);
    const jt = prog.readUInt8(pc * 8 + 2);
    const jf = prog.readUInt8(pc * 8 + 3);
    const k = prog.readUInt32LE(pc * 8 + 4);
    switch (code) {
      case 0x20: acc = data.readUInt32LE(k); break;
      case 0x15: pc += acc === k ? jt : jf; break;
      case 0x45: pc += (acc & k) !== 0 ? jt : jf; break;
      case 0x06: return k;
      default: throw new Error(`unexpected BPF opcode ${code.toString(16)}`);
    }
  }
  throw new Error('the program fell off its end');
}

describe('seccomp filter', () => {
  const x64 = seccompFilter('x64');

  it('refuses the mount family, kexec, bpf, module loading, keyctl and new namespaces on x86_64', () => {
    for (const name of ['mount', 'umount2', 'pivot_root', 'fsopen', 'move_mount', 'open_tree', 'kexec_load', 'bpf', 'perf_event_open', 'keyctl', 'init_module', 'finit_module', 'open_by_handle_at', 'swapon', 'reboot', 'unshare', 'setns', 'io_uring_setup'] as const) {
      expect(decide(x64, ARCH.x86_64, SYSCALLS.x86_64[name]!), name).toBe(EPERM);
    }
  });

  it('allows ordinary calls', () => {
    for (const nr of [0, 1, 2, 3, 9, 57, 59, 61, 90, 92, 161, 257, 262]) expect(decide(x64, ARCH.x86_64, nr), `nr ${nr}`).toBe(ALLOW);
  });

  it('checks clone flags, sends clone3 to ENOSYS and limits personality', () => {
    const clone = SYSCALLS.x86_64.clone!;
    expect(decide(x64, ARCH.x86_64, clone, [0x01200011])).toBe(ALLOW); // fork()'s flags
    expect(decide(x64, ARCH.x86_64, clone, [0x003d0f00])).toBe(ALLOW); // pthread_create's flags
    expect(decide(x64, ARCH.x86_64, clone, [0x10000000 | 0x11])).toBe(EPERM); // CLONE_NEWUSER
    expect(decide(x64, ARCH.x86_64, clone, [0x00020000 | 0x11])).toBe(EPERM); // CLONE_NEWNS
    expect(decide(x64, ARCH.x86_64, SYSCALLS.x86_64.clone3!)).toBe(ENOSYS);
    const personality = SYSCALLS.x86_64.personality!;
    for (const p of [0, 8, 0x20000, 0x20008, 0xffffffff]) expect(decide(x64, ARCH.x86_64, personality, [p])).toBe(ALLOW);
    expect(decide(x64, ARCH.x86_64, personality, [0x0040000])).toBe(EPERM); // ADDR_NO_RANDOMIZE
  });

  it('covers 32-bit calls and x32, and kills unknown architectures', () => {
    expect(decide(x64, ARCH.i386, 21)).toBe(EPERM); // mount
    expect(decide(x64, ARCH.i386, 120, [0x10000000])).toBe(EPERM); // clone(CLONE_NEWUSER)
    expect(decide(x64, ARCH.i386, 3)).toBe(ALLOW); // read
    expect(decide(x64, ARCH.x86_64, 0x40000000 | 165)).toBe(EPERM); // x32 mount
    expect(decide(x64, ARCH.x86_64, 0x40000000 | 0)).toBe(EPERM); // x32 read: x32 is not supported at all
    expect(decide(x64, ARCH.aarch64, 40)).toBe(KILL);
    const arm64 = seccompFilter('arm64');
    expect(decide(arm64, ARCH.aarch64, 40)).toBe(EPERM);
    expect(decide(arm64, ARCH.aarch64, 63)).toBe(ALLOW); // read
    expect(decide(arm64, ARCH.arm, 3)).toBe(KILL);
    expect(() => seccompFilter('riscv64')).toThrow(/x64 and arm64/);
  });

  // linux-libc-dev (a dependency of libc6-dev, which scripts/setup.sh installs) has the headers.
  const headers: [keyof typeof SYSCALLS, string, RegExp][] = [
    ['x86_64', '/usr/include/x86_64-linux-gnu/asm/unistd_64.h', /^#define\s+__NR_(\w+)\s+(\d+)$/],
    ['i386', '/usr/include/x86_64-linux-gnu/asm/unistd_32.h', /^#define\s+__NR_(\w+)\s+(\d+)$/],
    ['aarch64', '/usr/include/asm-generic/unistd.h', /^#define\s+__NR(?:3264)?_(\w+)\s+(\d+)$/],
  ];
  it.each(headers)('%s numbers match %s', (arch, file, re) => {
    expect(existsSync(file), `${file} (apt-get install linux-libc-dev)`).toBe(true);
    const known = new Map<string, number>();
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = re.exec(line.trim());
      if (m && !known.has(m[1]!)) known.set(m[1]!, Number(m[2]));
    }
    for (const [name, nr] of Object.entries(SYSCALLS[arch])) expect(known.get(name), `${arch} ${name}`).toBe(nr);
  });
});

// bubblewrap sandboxes over a layer root. Two shapes:
// - `run`: the layer's own /bin/sh with /proc, a minimal /dev, tmpfs /tmp and /run, no
//   network unless asked, Debian's policy-rc.d, and Docker's default capabilities;
// - `tool`: a host tool (tar, restore, rsync) working with the layer root as its `/`, so
//   absolute symlinks and `..` in the tree resolve inside the root and never on the host.
//   The host's /usr is visible read-only under HOST_DIR and the tool is started through
//   the host's dynamic loader, so the root needs no libc of its own.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { findOnPath } from '../process/which.js';
import type { MountpointRequest } from './mountpoints.js';

/** Where host tools appear inside a `tool` sandbox; removed from the root afterwards. */
export const HOST_DIR = '/.sqsh-layers-host';

/** Docker's default capability set: enough for package managers, not for mounting or modules. */
const CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

const COMMON = ['--unshare-ipc', '--unshare-pid', '--unshare-uts', '--unshare-cgroup-try', '--die-with-parent', '--new-session'];

export const SANDBOX_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface RunSandbox {
  root: string;
  script: string;
  network: boolean;
  /** Host file with `exit 101`, bound at /usr/sbin/policy-rc.d. */
  policyRcD: string;
  /** Mount points that could be prepared (see Mountpoints.prepare). */
  usable: MountpointRequest[];
}

export function runSandboxMountpoints(network: boolean): MountpointRequest[] {
  const list: MountpointRequest[] = [
    { path: '/proc', type: 'dir' },
    { path: '/dev', type: 'dir' },
    { path: '/tmp', type: 'dir' },
    { path: '/run', type: 'dir' },
    { path: '/usr/sbin/policy-rc.d', type: 'file' },
  ];
  if (network) list.push({ path: '/etc/resolv.conf', type: 'file' });
  return list;
}

export function runSandboxArgv(s: RunSandbox): string[] {
  const has = (p: string) => s.usable.some((u) => u.path === p);
  const argv = ['bwrap', '--bind', s.root, '/'];
  if (has('/proc')) argv.push('--proc', '/proc');
  if (has('/dev')) argv.push('--dev', '/dev');
  // A real /tmp is world-writable and sticky: apt's _apt user needs it to check signatures.
  if (has('/tmp')) argv.push('--perms', '1777', '--tmpfs', '/tmp');
  if (has('/run')) argv.push('--tmpfs', '/run');
  if (has('/usr/sbin/policy-rc.d')) argv.push('--ro-bind', s.policyRcD, '/usr/sbin/policy-rc.d');
  if (s.network && has('/etc/resolv.conf')) argv.push('--ro-bind', '/etc/resolv.conf', '/etc/resolv.conf');
  argv.push(...COMMON, '--hostname', 'sqsh-layers');
  if (!s.network) argv.push('--unshare-net');
  argv.push('--cap-drop', 'ALL');
  for (const c of CAPS) argv.push('--cap-add', c);
  argv.push('--chdir', '/', '/bin/sh', '-e', '-c', s.script);
  return argv;
}

/** How to start host binaries inside a root that has no libc of its own. */
export class HostTools {
  private readonly cache = new Map<string, string[]>();

  private constructor(
    /** bwrap arguments that make the host's tool directories visible under HOST_DIR. */
    readonly binds: string[],
  ) {}

  static async detect(): Promise<HostTools> {
    const binds: string[] = [];
    for (const d of ['/usr', '/lib', '/lib64', '/lib32', '/bin', '/sbin']) {
      const st = await fs.lstat(d).catch(() => undefined);
      if (st?.isDirectory()) binds.push('--ro-bind', d, `${HOST_DIR}${d}`);
    }
    return new HostTools(binds);
  }

  /** The argv prefix that starts host tool `name` in a tool sandbox (through its ELF interpreter). */
  async command(name: string): Promise<string[] | undefined> {
    const known = this.cache.get(name);
    if (known) return known;
    const found = await findOnPath(name, SANDBOX_PATH);
    if (!found) return undefined;
    const real = await fs.realpath(found);
    const interp = await elfInterpreter(real);
    const inBox = (p: string) => `${HOST_DIR}${p}`;
    let argv: string[];
    if (interp) {
      const loader = await fs.realpath(interp);
      const libdirs = [path.dirname(loader), '/usr/lib', '/lib'].filter((d, i, all) => all.indexOf(d) === i);
      argv = [inBox(loader), '--library-path', libdirs.map(inBox).join(':'), inBox(real)];
    } else {
      argv = [inBox(real)];
    }
    this.cache.set(name, argv);
    return argv;
  }
}

/** PT_INTERP of an ELF executable; undefined for static binaries and scripts. */
async function elfInterpreter(file: string): Promise<string | undefined> {
  const fh = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(64);
    await fh.read(head, 0, 64, 0);
    if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1) return undefined; // 64-bit little-endian ELF only
    const phoff = Number(head.readBigUInt64LE(32));
    const phentsize = head.readUInt16LE(54);
    const phnum = head.readUInt16LE(56);
    const ph = Buffer.alloc(phentsize * phnum);
    await fh.read(ph, 0, ph.length, phoff);
    for (let i = 0; i < phnum; i++) {
      const off = i * phentsize;
      if (ph.readUInt32LE(off) !== 3) continue; // PT_INTERP
      const at = Number(ph.readBigUInt64LE(off + 8));
      const size = Number(ph.readBigUInt64LE(off + 32));
      const buf = Buffer.alloc(size);
      await fh.read(buf, 0, size, at);
      return buf.toString('utf8').replace(/\0.*$/s, '');
    }
    return undefined;
  } finally {
    await fh.close();
  }
}

export interface ToolSandbox {
  root: string;
  tools: HostTools;
  /** In-root working directory. */
  chdir: string;
  /** Host directories made visible read-only at HOST_DIR/NAME. */
  extraBinds?: { host: string; name: string }[];
  /** The root holds a /dev/null node the tool opens (see toolSandboxMountpoints). */
  devNull?: boolean;
  argv: string[];
}

/**
 * What a tool sandbox needs in the root: HOST_DIR, and for tools that insist on opening
 * /dev/null (restore) a real null device node, since the root's own /dev is the tool's to write.
 */
export function toolSandboxMountpoints(devNull = false): MountpointRequest[] {
  const list: MountpointRequest[] = [{ path: HOST_DIR, type: 'dir' }];
  if (devNull) list.push({ path: '/dev/null', type: 'null' });
  return list;
}

export function toolSandboxArgv(s: ToolSandbox): string[] {
  // The root is bound nodev unless the tool must open the null device node prepared in it
  // (restore, which runs with -u: it unlinks what is at a path before creating its entry
  // there, so it never opens an existing device node of the root).
  const bind = s.devNull ? '--dev-bind' : '--bind';
  const argv = ['bwrap', bind, s.root, '/', '--tmpfs', HOST_DIR, ...s.tools.binds, '--dir', `${HOST_DIR}/tmp`];
  for (const b of s.extraBinds ?? []) argv.push('--ro-bind', b.host, `${HOST_DIR}/${b.name}`);
  argv.push(...COMMON, '--unshare-net', '--chdir', s.chdir, ...s.argv);
  return argv;
}

/** The environment of a tool sandbox. */
export const TOOL_ENV = { PATH: `${HOST_DIR}/usr/bin:${HOST_DIR}/usr/sbin`, TMPDIR: `${HOST_DIR}/tmp`, LC_ALL: 'C', HOME: '/' };

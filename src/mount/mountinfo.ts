// Reading /proc/self/mountinfo: which mounts live under a directory, in unmount order.

import { promises as fs } from 'node:fs';

export interface MountEntry {
  target: string;
  fstype: string;
  source: string;
  /** The filesystem's own options (overlayfs: lowerdir=..., upperdir=...), escapes kept. */
  superOptions: string;
}

/** Undoes the octal escapes (\040 for a space...) that mountinfo uses in paths. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const fields = line.split(' ');
    const sep = fields.indexOf('-');
    if (sep < 0 || fields.length < sep + 3) continue;
    out.push({ target: unescape(fields[4]!), fstype: fields[sep + 1]!, source: unescape(fields[sep + 2]!), superOptions: fields[sep + 3] ?? '' });
  }
  return out;
}

export async function readMounts(): Promise<MountEntry[]> {
  return parseMountinfo(await fs.readFile('/proc/self/mountinfo', 'utf8'));
}

/** Mounts at or below `dir`, most recent first: the order in which they can be unmounted. */
export async function mountsUnder(dir: string): Promise<MountEntry[]> {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return (await readMounts()).filter((m) => m.target === dir || m.target.startsWith(prefix)).reverse();
}

export async function isMountpoint(dir: string): Promise<boolean> {
  return (await readMounts()).some((m) => m.target === dir);
}

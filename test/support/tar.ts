// Tar archives built byte for byte, so tests control member names exactly: names tar itself
// would sanitize (`..`, absolute), and names that are not UTF-8 (given as Buffers).

export interface TarMember {
  /** A string is written as UTF-8; a Buffer as the bytes it holds. */
  name: string | Buffer;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink';
  data?: string;
  link?: string | Buffer;
  mode?: number;
  /** Seconds since the epoch (default 1600000000). */
  mtime?: number;
  /** pax extended header records for this member (an `x` header before it). */
  pax?: Record<string, string>;
}

/** pax records: `LENGTH key=value\n`, LENGTH counting the whole record with its own digits. */
function paxRecords(pax: Record<string, string>): string {
  return Object.entries(pax)
    .map(([k, v]) => {
      const body = ` ${k}=${v}\n`;
      let len = Buffer.byteLength(body);
      while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
      return `${len}${body}`;
    })
    .join('');
}

/** A ustar archive with exactly these members. */
export function ustar(members: TarMember[]): Buffer {
  const blocks: Buffer[] = [];
  const all = members.flatMap((m): (TarMember | { name: string; pax: string })[] =>
    m.pax ? [{ name: 'PaxHeaders/member', pax: paxRecords(m.pax) }, m] : [m],
  );
  for (const entry of all) {
    const extended = typeof entry.pax === 'string' ? entry.pax : undefined;
    const m: TarMember = extended === undefined ? (entry as TarMember) : { name: entry.name, data: extended };
    const h = Buffer.alloc(512);
    const data = Buffer.from(m.data ?? '');
    const type = m.type ?? 'file';
    const field = (value: string | Buffer, at: number, len: number) => {
      const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
      if (bytes.length > len) throw new Error(`tar field too long: ${bytes.toString('latin1')}`);
      bytes.copy(h, at);
    };
    const octal = (n: number, at: number, len: number) => field(n.toString(8).padStart(len - 1, '0') + '\0', at, len);
    field(m.name, 0, 100);
    octal(m.mode ?? (type === 'dir' ? 0o755 : 0o644), 100, 8);
    octal(0, 108, 8);
    octal(0, 116, 8);
    octal(type === 'file' ? data.length : 0, 124, 12);
    octal(m.mtime ?? 1_600_000_000, 136, 12);
    h.fill(' ', 148, 156);
    field(extended !== undefined ? 'x' : { file: '0', hardlink: '1', symlink: '2', dir: '5' }[type], 156, 1);
    field(m.link ?? '', 157, 100);
    field('ustar\0', 257, 6);
    field('00', 263, 2);
    let sum = 0;
    for (const b of h) sum += b;
    field(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
    blocks.push(h);
    if (type === 'file' && data.length > 0) blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

import { describe, expect, it } from 'vitest';
import { overlayMount, overlayOptions } from '../../src/mount/ops.js';
import { PORTABLE_OPTIONS } from '../../src/mount/features.js';

const RUN = '/run/sqsh-layers/20260101T000000-1234-abcdef';
const LOWERS = `${RUN}/lowers`;
const lower = (i: number) => `${LOWERS}/${i}`;

describe('overlayOptions', () => {
  it('names the lowers, upper and work dir relative to the mount cwd', () => {
    const upper = `${RUN}/layers/server/tmpfs/upper`;
    const work = `${RUN}/layers/server/tmpfs/work`;
    expect(overlayOptions({ lowers: [lower(1), lower(0)], upper, work, options: ['index=off', 'xino=off'], cwd: LOWERS })).toBe(
      'lowerdir=1:0,upperdir=../layers/server/tmpfs/upper,workdir=../layers/server/tmpfs/work,index=off,xino=off',
    );
  });

  it('mounts a view of the lowers read-only when there is no upper', () => {
    expect(overlayOptions({ lowers: [lower(2), lower(1), lower(0)], options: [], cwd: LOWERS })).toBe('lowerdir=2:1:0,ro');
    expect(overlayOptions({ lowers: [LOWERS], options: [], cwd: LOWERS })).toBe('lowerdir=.,ro');
  });

  it('fits 500 lowers in one page whatever the names and the run dir', () => {
    const longRun = `/tmp/sqsh-layers-${'r'.repeat(180)}/run-sqsh-layers/20260101T000000-1234-abcdef`;
    const lowers = Array.from({ length: 500 }, (_, i) => `${longRun}/lowers/${999 - i}`);
    const name = 'n'.repeat(64);
    const spec = {
      lowers,
      upper: `${longRun}/layers/${name}/tmpfs/upper`,
      work: `${longRun}/layers/${name}/tmpfs/work`,
      options: [...PORTABLE_OPTIONS, 'uuid=null'],
      cwd: `${longRun}/lowers`,
    };
    const text = overlayOptions(spec);
    expect(text.startsWith('lowerdir=999:998:997:')).toBe(true);
    expect(text.length).toBeLessThan(2600);
    const op = overlayMount(spec, `${longRun}/layers/${name}/root`);
    expect(op.cwd).toBe(`${longRun}/lowers`);
    expect(op.argv()).toEqual(['mount', '-t', 'overlay', '-o', text, 'sqsh-layers', `${longRun}/layers/${name}/root`]);
  });

  it('refuses more lowers than overlayfs stacks, and options past one page', () => {
    const lowers = Array.from({ length: 501 }, (_, i) => lower(i));
    expect(() => overlayOptions({ lowers, options: [], cwd: LOWERS })).toThrow(/an overlay needs 1 to 500 lowers, found 501/);
    expect(() => overlayOptions({ lowers: [], options: [], cwd: LOWERS })).toThrow(/found 0/);
    // Absolute paths would not fit: a deep cwd elsewhere gives long relative paths.
    const far = Array.from({ length: 60 }, (_, i) => `/${'d'.repeat(60)}/${i}`);
    expect(() => overlayOptions({ lowers: far, options: [], cwd: LOWERS })).toThrow(/do not fit the 4095 that mount\(2\) takes/);
  });

  it('refuses a path that the lowerdir list cannot carry', () => {
    expect(() => overlayOptions({ lowers: [`${LOWERS}/a,b`], options: [], cwd: LOWERS })).toThrow(/cannot be an overlay lower: a,b/);
    expect(() => overlayOptions({ lowers: [`${LOWERS}/a:b`], options: [], cwd: LOWERS })).toThrow(/cannot be an overlay lower/);
  });
});

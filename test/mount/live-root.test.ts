import { describe, expect, it } from 'vitest';
import { afterSwitchRoot, parseOverlayOptions } from '../../src/mount/live-root.js';
import { parseMountinfo } from '../../src/mount/mountinfo.js';

describe('the live root overlay', () => {
  it('reads lowerdir and upperdir from a RuckusRD root overlay line of mountinfo', () => {
    const line =
      '25 1 0:23 / / rw,relatime shared:1 - overlay rootfs rw,lowerdir=/sqsh_layer-upper:/sqsh_layer-extra:/sqsh_layer-base,upperdir=/upper/upper,workdir=/upper/work,redirect_dir=on,metacopy=on';
    const [m] = parseMountinfo(line);
    expect(m!.superOptions).toContain('lowerdir=/sqsh_layer-upper');
    expect(parseOverlayOptions(m!.superOptions)).toEqual({
      lowerdir: ['/sqsh_layer-upper', '/sqsh_layer-extra', '/sqsh_layer-base'],
      upperdir: '/upper/upper',
    });
  });

  it('keeps escaped separators in paths, and takes lowerdir+ lists', () => {
    expect(parseOverlayOptions('lowerdir=/a\\:b:/c\\,d,upperdir=/u\\040x')).toEqual({ lowerdir: ['/a:b', '/c,d'], upperdir: '/u x' });
    expect(parseOverlayOptions('lowerdir+=/l1,lowerdir+=/l2,upperdir=/u')).toEqual({ lowerdir: ['/l1', '/l2'], upperdir: '/u' });
  });

  it('maps initramfs paths to where RuckusRD moves them after switch_root', () => {
    expect(afterSwitchRoot('/upper/upper', 'upper')).toBe('/mnt/upper/upper');
    expect(afterSwitchRoot('/tmproot/upper/upper', 'upper')).toBe('/mnt/root-true/upper/upper');
    expect(afterSwitchRoot('/sqsh_layer-base', 'lower')).toBe('/mnt/sqsh_layer-base');
    expect(afterSwitchRoot('/', 'lower')).toBe('/');
  });
});

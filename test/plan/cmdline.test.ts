import { describe, expect, it } from 'vitest';
import { failureIn } from '../../src/failure.js';
import { bootOverlayOptions, bootOverlayWarning, cmdlineLengthWarning, kernelCmdline } from '../../src/plan/cmdline.js';

const STACK = ['config', 'extra', 'server', 'base'];
const CARRY = "the kernel command line and RuckusRD's initramfs (which runs it through the shell) take only letters, digits and . _ : / = , % + @ -";

function failure(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a boot-option failure');
}

describe('kernelCmdline', () => {
  it('is sqsh_layers= top to bottom when no option is given', () => {
    expect(kernelCmdline(STACK, {})).toBe('sqsh_layers=config:extra:server:base');
    expect(kernelCmdline(['base'], {})).toBe('sqsh_layers=base');
  });

  it.each([
    [{ root: '/dev/sda1' }, 'root=/dev/sda1 sqsh_layers=config:extra:server:base'],
    [{ layerdev: 'LABEL=layers' }, 'sqsh_layerdev=LABEL=layers sqsh_layers=config:extra:server:base'],
    [{ layerdir: 'boot/layers' }, 'sqsh_layerdir=boot/layers sqsh_layers=config:extra:server:base'],
    [{ sqshfstype: 'ext4' }, 'sqshfstype=ext4 sqsh_layers=config:extra:server:base'],
    [{ ramLayer: '2G' }, 'sqsh_layers=config:extra:server:base ram_layer=2G'],
    [{ ramLayer: '50%' }, 'sqsh_layers=config:extra:server:base ram_layer=50%'],
    [{ ramLayer: '1073741824' }, 'sqsh_layers=config:extra:server:base ram_layer=1073741824'],
    [{ overlayflags: 'redirect_dir=off,xino=off' }, 'sqsh_layers=config:extra:server:base overlayflags=redirect_dir=off,xino=off'],
    [{ ramLayer: '512M', toRam: true }, 'sqsh_layers=config:extra:server:base ram_layer=512M to_ram'],
    [{ toRam: false }, 'sqsh_layers=config:extra:server:base'],
  ])('%o', (o, line) => {
    expect(kernelCmdline(STACK, o)).toBe(line);
  });

  it('puts every parameter in the documented order', () => {
    expect(
      kernelCmdline(STACK, {
        overlayflags: 'metacopy=off',
        toRam: true,
        ramLayer: '2G',
        sqshfstype: 'ext4',
        layerdir: 'layers',
        root: '/dev/sda1',
      }),
    ).toBe('root=/dev/sda1 sqshfstype=ext4 sqsh_layerdir=layers sqsh_layers=config:extra:server:base ram_layer=2G to_ram overlayflags=metacopy=off');
    expect(kernelCmdline(STACK, { root: '/dev/xvda1', layerdev: '/dev/xvdb1', layerdir: 'layers' })).toBe(
      'root=/dev/xvda1 sqsh_layerdev=/dev/xvdb1 sqsh_layerdir=layers sqsh_layers=config:extra:server:base',
    );
  });

  it.each([
    [{ ramLayer: '2 G' }, '--ram-layer must be a tmpfs size such as 2G, 512M or 50%, found "2 G"'],
    [{ ramLayer: 'lots' }, '--ram-layer must be a tmpfs size such as 2G, 512M or 50%, found "lots"'],
    [{ ramLayer: '' }, '--ram-layer must be a tmpfs size such as 2G, 512M or 50%, found ""'],
    [{ toRam: true, layerdev: '/dev/sdb1', ramLayer: '2G' }, '--to-ram cannot be combined with --layerdev: to_ram copies the layers from the root device'],
    [{ toRam: true }, '--to-ram needs --ram-layer: with to_ram the root device may go away, so the upper must be in RAM'],
    [{ layerdir: '/layers' }, '--layerdir is relative to the root of each device, found "/layers"'],
    [{ root: '' }, '--root must be a non-empty value without spaces, found ""'],
    [{ root: '/dev/sda 1' }, '--root must be a non-empty value without spaces, found "/dev/sda 1"'],
    [{ layerdev: 'LABEL=my layers' }, '--layerdev must be a non-empty value without spaces, found "LABEL=my layers"'],
    [{ sqshfstype: 'ext\t4' }, '--sqshfstype must be a non-empty value without spaces, found "ext\\t4"'],
    [{ layerdir: 'my layers' }, '--layerdir must be a non-empty value without spaces, found "my layers"'],
    [{ overlayflags: 'a, b' }, '--overlayflags must be a non-empty value without spaces, found "a, b"'],
    [{ root: '"/dev/sda1"' }, `--root "\\"/dev/sda1\\"" cannot be carried: ${CARRY}`],
    [{ layerdev: 'LABEL=$(reboot)' }, `--layerdev "LABEL=$(reboot)" cannot be carried: ${CARRY}`],
    [{ layerdir: 'layers;sh' }, `--layerdir "layers;sh" cannot be carried: ${CARRY}`],
    [{ sqshfstype: 'ext4*' }, `--sqshfstype "ext4*" cannot be carried: ${CARRY}`],
    [{ overlayflags: "xino='off'" }, `--overlayflags "xino='off'" cannot be carried: ${CARRY}`],
    [{ root: '/dev/disk/by-label/caf\u00e9' }, `--root "/dev/disk/by-label/caf\u00e9" cannot be carried: ${CARRY}`],
    [{ overlayflags: 'xino=off,lowerdir=/x' }, '--overlayflags must not set lowerdir: the initramfs sets lowerdir, upperdir and workdir of the root overlay itself'],
    [{ overlayflags: 'workdir=/w' }, '--overlayflags must not set workdir: the initramfs sets lowerdir, upperdir and workdir of the root overlay itself'],
  ])('refuses %o', (o, message) => {
    const err = failure(() => kernelCmdline(STACK, o));
    expect(failureIn(err, 'boot-option')).toEqual({ reason: 'boot-option', message });
    expect(err.message).toBe(message);
  });
});

describe('bootOverlayOptions', () => {
  it('is the option string of linuxrc: layers at /sqsh_layer-NAME, upper on the root device', () => {
    expect(bootOverlayOptions(STACK, {})).toBe(
      'lowerdir=/sqsh_layer-config:/sqsh_layer-extra:/sqsh_layer-server:/sqsh_layer-base,upperdir=/tmproot/upper/upper,workdir=/tmproot/upper/work',
    );
  });

  it('stacks the old upper dir on top and writes to the tmpfs with ram_layer', () => {
    expect(bootOverlayOptions(['server', 'base'], { ramLayer: '2G' })).toBe(
      'lowerdir=/sqsh_layer-upper:/sqsh_layer-server:/sqsh_layer-base,upperdir=upper/upper,workdir=upper/work',
    );
  });

  it('puts overlayflags first', () => {
    expect(bootOverlayOptions(['base'], { overlayflags: 'xino=off,index=off' })).toBe(
      'xino=off,index=off,lowerdir=/sqsh_layer-base,upperdir=/tmproot/upper/upper,workdir=/tmproot/upper/work',
    );
  });
});

describe('bootOverlayWarning', () => {
  /** n layer names of `width` characters, top first: l(n-1) ... l0. */
  const chain = (n: number, width = 64) => Array.from({ length: n }, (_, i) => `l${String(n - 1 - i).padStart(3, '0')}-`.padEnd(width, 'x'));
  const bytes = (stack: string[], o = {}) => Buffer.byteLength(bootOverlayOptions(stack, o));

  it('says nothing while the options fit in one page, the last byte being the NUL', () => {
    expect(bootOverlayWarning(STACK, {})).toBeUndefined();
    // 66 fixed bytes, 77 per 64-character layer: 52 layers take 4070 bytes, 53 take 4147.
    expect(bytes(chain(52))).toBe(4070);
    expect(bytes(chain(53))).toBe(4147);
    expect(bootOverlayWarning(chain(52), {})).toBeUndefined();
    expect(bootOverlayWarning(chain(52), { ramLayer: '2G' })).toBeUndefined();
    // Exactly 4095 bytes fit, 4096 do not.
    const flags = (n: number) => ({ overlayflags: 'x'.repeat(n) });
    expect(bytes(chain(52), flags(24))).toBe(4095);
    expect(bootOverlayWarning(chain(52), flags(24))).toBeUndefined();
    expect(bootOverlayWarning(chain(52), flags(25))).toMatch(/ take 4096 bytes, /);
  });

  it('names the stack, the part of it that would boot, and merge', () => {
    const stack = chain(200);
    expect(bootOverlayWarning(stack, {})).toBe(
      `the stack ${stack[0]}..${stack[199]} (200 layers) will not boot with RuckusRD: the options of its root overlay mount ` +
        `take 15466 bytes, and mount(2) takes at most 4095 (one page); at most 52 of its layers (${stack[148]}..${stack[199]}) fit. ` +
        'Squash layers with "sqsh-layers merge NEW TOP..BOTTOM"',
    );
    expect(bytes(stack.slice(148))).toBeLessThanOrEqual(4095);
    expect(bytes(stack.slice(147))).toBeGreaterThan(4095);
  });

  it('counts the extra upper lower and the overlayflags', () => {
    const stack = chain(53, 63); // 76 bytes per layer: 53 layers take 4094 bytes
    expect(bootOverlayWarning(stack, {})).toBeUndefined();
    expect(bootOverlayWarning(stack, { ramLayer: '50%' })).toBeUndefined(); // /sqsh_layer-upper: costs what the shorter upper saves
    expect(bootOverlayWarning(stack, { overlayflags: 'redirect_dir=off' })).toMatch(/ \(53 layers\) .* take 4111 bytes, .*; at most 52 of its layers /);
  });

  it('says when the overlayflags alone leave no room', () => {
    expect(bootOverlayWarning(['base'], { overlayflags: 'x'.repeat(4090) })).toMatch(
      /^the stack base\.\.base \(1 layers\) .*; the overlayflags leave no room for a single layer\. /,
    );
  });
});

describe('cmdlineLengthWarning', () => {
  it('warns from 2048 bytes on: the kernel keeps 2047 and a NUL', () => {
    expect(cmdlineLengthWarning(`sqsh_layers=${'a'.repeat(2047 - 12)}`)).toBeUndefined();
    expect(cmdlineLengthWarning(`sqsh_layers=${'a'.repeat(2048 - 12)}`)).toMatch(/^the kernel parameters take 2048 bytes, and the kernel keeps at most 2047 /);
  });
});

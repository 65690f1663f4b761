import { describe, expect, it } from 'vitest';
import { BootOptionError, kernelCmdline } from '../../src/plan/cmdline.js';

const STACK = ['config', 'extra', 'server', 'base'];

function failure(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a BootOptionError');
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
  ])('refuses %o', (o, message) => {
    const err = failure(() => kernelCmdline(STACK, o));
    expect(err).toBeInstanceOf(BootOptionError);
    expect(err.message).toBe(message);
  });
});

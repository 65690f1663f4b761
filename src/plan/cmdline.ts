// The kernel command line that boots a stack with a RuckusRD-style initramfs. Pure.

export interface BootOptions {
  root?: string;
  layerdev?: string;
  layerdir?: string;
  sqshfstype?: string;
  ramLayer?: string;
  overlayflags?: string;
  toRam?: boolean;
}

export class BootOptionError extends Error {}

const TMPFS_SIZE = /^[0-9]+[kKmMgG%]?$/;

/** `root=... sqsh_layerdev=... sqsh_layers=top:...:base ...`, in the order the docs show. */
export function kernelCmdline(stack: readonly string[], o: BootOptions): string {
  const params: string[] = [];
  const add = (key: string, value: string | undefined, flag: string) => {
    if (value === undefined) return;
    if (value === '' || /\s/.test(value)) {
      throw new BootOptionError(`${flag} must be a non-empty value without spaces, found ${JSON.stringify(value)}`);
    }
    params.push(`${key}=${value}`);
  };
  if (o.ramLayer !== undefined && !TMPFS_SIZE.test(o.ramLayer)) {
    throw new BootOptionError(`--ram-layer must be a tmpfs size such as 2G, 512M or 50%, found ${JSON.stringify(o.ramLayer)}`);
  }
  if (o.toRam && o.layerdev !== undefined) {
    throw new BootOptionError('--to-ram cannot be combined with --layerdev: to_ram copies the layers from the root device');
  }
  if (o.toRam && o.ramLayer === undefined) {
    throw new BootOptionError('--to-ram needs --ram-layer: with to_ram the root device may go away, so the upper must be in RAM');
  }
  if (o.layerdir !== undefined && o.layerdir.startsWith('/')) {
    throw new BootOptionError(`--layerdir is relative to the root of each device, found ${JSON.stringify(o.layerdir)}`);
  }
  add('root', o.root, '--root');
  add('sqsh_layerdev', o.layerdev, '--layerdev');
  add('sqshfstype', o.sqshfstype, '--sqshfstype');
  add('sqsh_layerdir', o.layerdir, '--layerdir');
  params.push(`sqsh_layers=${stack.join(':')}`);
  add('ram_layer', o.ramLayer, '--ram-layer');
  if (o.toRam) params.push('to_ram');
  add('overlayflags', o.overlayflags, '--overlayflags');
  return params.join(' ');
}

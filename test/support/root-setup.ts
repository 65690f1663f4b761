// Global setup of the root-only test project: these tests mount loop devices, overlays and
// tmpfs and run bubblewrap, so they need root; they also run the compiled CLI (dist/).

import { execFileSync } from 'node:child_process';

export default function setup(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('the "root" test project needs root (real loop, overlay and tmpfs mounts); run: sudo npm test');
  }
  execFileSync('sh', ['scripts/setup.sh'], { stdio: 'inherit' });
}

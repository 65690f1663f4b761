import { defineConfig } from 'vitest/config';

// Two projects: `unit` runs anywhere; `root` needs root (real loop, overlay, tmpfs mounts,
// bwrap) and runs one file at a time so mounts and loop devices of tests do not contend.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.root.test.ts', 'node_modules/**'],
        },
      },
      {
        test: {
          name: 'root',
          include: ['test/**/*.root.test.ts'],
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
          globalSetup: ['test/support/root-setup.ts'],
        },
      },
    ],
  },
});

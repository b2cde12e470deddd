// Live tests (test/live): real corosync + Pacemaker clusters in network
// namespaces, see test/live/lab.ts. Root only; run with `npm run test:live`.
// One file at a time and one worker: each file brings up clusters that need
// the machine's 2 cores, and labs of one prefix must not overlap.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/live/**/*.test.ts'],
    exclude: ['node_modules/**'],
    setupFiles: ['./src/polyfills.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
  },
});

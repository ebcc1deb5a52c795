import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'main',
          globalSetup: ['test/support/environment-notice.ts'],
          include: [
            'hub/**/*.test.ts',
            'gateway/**/*.test.ts',
            'drivers/**/*.test.ts',
            'test/**/*.test.ts',
            'dashboards/console/src/**/*.test.ts',
          ],
          exclude: ['**/node_modules/**', 'test/bench/**', 'test/browser/**'],
          // PGlite is single-threaded WASM; two cores. Files in parallel, tests in a file in order.
          fileParallelism: true,
          maxWorkers: 2,
        },
      },
      {
        // The web console in Debian's chromium against one demo hub (test/browser/support/):
        // after the hub suites (groupOrder), one file at a time, so neither starves the other
        // and the pages' timings are not measured on a machine busy with PGlite.
        extends: true,
        test: {
          name: 'browser',
          include: ['test/browser/**/*.browser.test.ts'],
          globalSetup: ['test/browser/support/global-setup.ts'],
          fileParallelism: false,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
})

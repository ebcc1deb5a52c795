import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['hub/**/*.test.ts', 'gateway/**/*.test.ts', 'drivers/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'test/bench/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // PGlite is single-threaded WASM; two cores. Files in parallel, tests in a file in order.
    fileParallelism: true,
    maxWorkers: 2,
  },
})

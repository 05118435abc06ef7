/**
 * Vitest settings for `npm test`: every test under test/, bounded in time. Process and
 * WebSocket tests use real sockets on 127.0.0.1, so files run in forked workers.
 */
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    teardownTimeout: 10_000,
    reporters: ['default'],
  },
})

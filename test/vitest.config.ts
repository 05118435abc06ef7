/**
 * Vitest settings for `npm test`: every test under test/, bounded in time. Process and
 * WebSocket tests use real sockets on 127.0.0.1, so files run in forked workers.
 */
import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Two files at a time even on two cores (vitest's default there is one): most files wait on
    // sockets, child processes and timers more than they compute. On the CI machine's kind the
    // suite took 394-461 s one file at a time and 263 s two at a time.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 30_000,
    hookTimeout: 30_000,
    teardownTimeout: 10_000,
    reporters: ['default'],
  },
})

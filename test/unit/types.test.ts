/**
 * The public types, checked by the compiler: test/types/*.ts must compile (every
 * `@ts-expect-error` there must meet an error). Narrowing of SwarmEvent, user protocols
 * widening it, and `command()` typed by protocol.
 */
import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'

const root = new URL('../..', import.meta.url).pathname

describe('public types', () => {
  it('test/types compiles with tsc (narrowing, widening by user protocols, typed commands)', () => {
    let out = ''
    try {
      execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'test/types/tsconfig.json'], { cwd: root, encoding: 'utf8', timeout: 120_000 })
    } catch (error) {
      out = String((error as { stdout?: string }).stdout ?? error)
    }
    expect(out).toBe('')
  }, 150_000)
})

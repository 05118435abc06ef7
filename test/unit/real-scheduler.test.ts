/**
 * The real scheduler (src/runtime/clock.ts) hands Node whole milliseconds: a fractional delay
 * fires at its whole part in Node anyway, and the first one in a process turns a field of every
 * Node Timeout from small integer to double, which deoptimizes the timer code on the frame path
 * (bench/README, "The light phase's compilations, one by one").
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { realScheduler } from '../../src/runtime/clock.js'

describe('realScheduler', () => {
  afterEach(() => { vi.restoreAllMocks() })

  it('asks Node for whole milliseconds, cut, and still fires the callback', async () => {
    const asked: number[] = []
    const real = globalThis.setTimeout
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      asked.push(ms ?? 0)
      return real(fn, ms)
    }) as typeof setTimeout)
    const fired = await new Promise<number>((resolve) => {
      realScheduler.setTimeout(() => resolve(1), 2.7)
    })
    expect(fired).toBe(1)
    expect(asked).toEqual([2])
    realScheduler.clearTimeout(realScheduler.setTimeout(() => { throw new Error('cleared timer fired') }, 0.4))
    expect(asked).toEqual([2, 0])
  })
})

/**
 * machines/refusals.machine.ts alone, under a simulated clock: refused inbound connections
 * become events, at most REFUSALS_PER_WINDOW per window, and the rest are summarised once.
 */
import { describe, expect, it } from 'vitest'
import { createActor, SimulatedClock } from 'xstate'
import { MAX_SUMMARY_REASONS, REFUSAL_WINDOW_MS, REFUSALS_PER_WINDOW, refusalsMachine } from '../../machines/refusals.machine.js'

function start() {
  const clock = new SimulatedClock()
  const actor = createActor(refusalsMachine, { clock })
  const out: { type: string; [key: string]: unknown }[] = []
  actor.on('*', (e) => out.push(e as never))
  actor.start()
  return { clock, actor, out }
}

const refused = (i: number, reason = 'private-network') => ({ type: 'refused' as const, address: `ws://10.0.0.${i}:4000`, reason })

describe('refusals', () => {
  it('one refusal: one connection.refused with its address and reason, no summary', () => {
    const { clock, actor, out } = start()
    actor.send(refused(1))
    clock.increment(REFUSAL_WINDOW_MS)
    expect(out).toEqual([{ type: 'connection.refused', address: 'ws://10.0.0.1:4000', reason: 'private-network' }])
    expect(actor.getSnapshot().value).toBe('quiet')
  })

  it('a flood: the first 10 of a window shown, the rest summarised once per window; every refusal accounted for', () => {
    const { clock, actor, out } = start()
    for (let i = 0; i < 25; i++) actor.send(refused(i, i % 2 === 0 ? 'private-network' : 'too-many-connections'))
    expect(out.filter((e) => e.type === 'connection.refused')).toHaveLength(REFUSALS_PER_WINDOW)
    expect(out.some((e) => e.type === 'connection.refused.suppressed')).toBe(false)
    clock.increment(REFUSAL_WINDOW_MS)
    expect(out.at(-1)).toEqual({ type: 'connection.refused.suppressed', count: 15, reasons: { 'private-network': 8, 'too-many-connections': 7 } })
    // The next window starts afresh.
    for (let i = 0; i < 12; i++) actor.send(refused(i))
    clock.increment(REFUSAL_WINDOW_MS)
    expect(out.filter((e) => e.type === 'connection.refused')).toHaveLength(2 * REFUSALS_PER_WINDOW)
    expect(out.at(-1)).toEqual({ type: 'connection.refused.suppressed', count: 2, reasons: { 'private-network': 2 } })
  })

  it('a summary names at most MAX_SUMMARY_REASONS reasons; the rest are counted as other', () => {
    const { clock, actor, out } = start()
    for (let i = 0; i < REFUSALS_PER_WINDOW; i++) actor.send(refused(i))
    for (let i = 0; i < 40; i++) actor.send(refused(i, `reason-${i}`))
    clock.increment(REFUSAL_WINDOW_MS)
    const summary = out.at(-1) as unknown as { count: number; reasons: Record<string, number> }
    expect(summary.count).toBe(40)
    expect(Object.keys(summary.reasons)).toHaveLength(MAX_SUMMARY_REASONS + 1)
    expect(summary.reasons.other).toBe(40 - MAX_SUMMARY_REASONS)
  })

  it('flush (the swarm closing) summarises the open window at once', () => {
    const { actor, out } = start()
    for (let i = 0; i < REFUSALS_PER_WINDOW + 3; i++) actor.send(refused(i))
    actor.send({ type: 'flush' })
    expect(out.at(-1)).toMatchObject({ type: 'connection.refused.suppressed', count: 3 })
  })
})

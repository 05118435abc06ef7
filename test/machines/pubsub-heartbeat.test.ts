/**
 * When the pubsub heartbeat runs: the first one at a point of the first interval drawn from the
 * router's seeded rng, then one every heartbeatInterval, so each node keeps its own phase. Nodes
 * started together (a benchmark, a simulation, a host running many swarms) keep apart instead
 * of all running their heartbeat in the same millisecond, and the same seed gives the same
 * schedule. Times are the actor's simulated clock.
 */
import { describe, expect, it } from 'vitest'
import { sha256 } from '@noble/hashes/sha2.js'
import type { PubsubProtocolOptions } from '../../machines/pubsub/pubsub.machine.js'
import type { PubsubContext } from '../../machines/pubsub/state.js'
import { startPubsub, testKey } from '../helpers/pubsub-actor.js'

const me = testKey('heartbeat-0')
const seedOf = (i: number): Uint8Array => sha256(new TextEncoder().encode(`heartbeat-seed-${i}`))

/** The times (ms after start) of the heartbeats a new actor runs in its first `forMs`, its clock stepped 1 ms at a time. */
function heartbeatTimes(seed: Uint8Array, forMs: number, options: PubsubProtocolOptions = {}): number[] {
  const { actor, clock } = startPubsub(options, me, seed)
  const heartbeats = (): number => (actor.getSnapshot().context as PubsubContext).s.heartbeats
  const times: number[] = []
  for (let t = 1; t <= forMs; t++) {
    const before = heartbeats()
    clock.increment(1)
    for (let n = heartbeats() - before; n > 0; n--) times.push(t)
  }
  actor.stop()
  return times
}

/** The gaps between consecutive times. */
const gaps = (times: number[]): number[] => times.slice(1).map((t, i) => t - times[i])

describe('pubsub: heartbeat schedule', () => {
  it('runs the first heartbeat within (0, heartbeatInterval], then one every heartbeatInterval', () => {
    for (const [interval, i] of [[1_000, 1], [1_000, 2], [1_000, 3], [250, 4], [250, 5]]) {
      const times = heartbeatTimes(seedOf(i), 4 * interval + interval / 2, { heartbeatInterval: interval })
      expect(times[0], `seed ${i}`).toBeGreaterThan(0)
      expect(times[0], `seed ${i}`).toBeLessThanOrEqual(interval)
      expect(times.length, `seed ${i}`).toBeGreaterThanOrEqual(4)
      expect(new Set(gaps(times)), `seed ${i}`).toEqual(new Set([interval]))
    }
  })

  it('with heartbeatInterval 1, runs one every millisecond from the first', () => {
    expect(heartbeatTimes(seedOf(1), 5, { heartbeatInterval: 1 })).toEqual([1, 2, 3, 4, 5])
  })

  it('the same seed gives the same schedule; 30 routers with different seeds spread over the interval', () => {
    expect(heartbeatTimes(seedOf(7), 3_000)).toEqual(heartbeatTimes(seedOf(7), 3_000))
    const firsts = Array.from({ length: 30 }, (_, i) => heartbeatTimes(seedOf(100 + i), 1_000)[0])
    const perMs = new Map<number, number>()
    for (const t of firsts) perMs.set(t, (perMs.get(t) ?? 0) + 1)
    // Before the stagger all 30 ran at 1,000 ms; now no millisecond has more than two of them,
    // and they cover most of the interval.
    expect(Math.max(...perMs.values())).toBeLessThanOrEqual(2)
    expect(Math.max(...firsts) - Math.min(...firsts)).toBeGreaterThan(500)
  })
})

/**
 * When discovery's connection manager checks the watermarks: the first tick at a point of the
 * first tickInterval drawn from the seeded rng, then one every tickInterval, so nodes started
 * together (many swarms in one process, a simulation) do not all purge, trim and fill in the
 * same millisecond. Seen from outside: the trims of a node kept above its high watermark.
 */
import { describe, expect, it } from 'vitest'
import { DiscoveryProbe, simPeerId } from '../../src/discovery/probe.js'

/**
 * The times (ms after start) at which a node always two connections above its watermarks hangs
 * up on them (each tick trims both, and two new peers connect), over `forMs`, its clock stepped
 * 1 ms at a time.
 */
function trimTimes(seed: number, forMs: number, tickInterval = 1_000): number[] {
  const probe = new DiscoveryProbe({ lowWatermark: 0, highWatermark: 1, gracePeriod: 0, tickInterval, refreshInterval: 0 }, { seed })
  let next = 0
  const connectTwo = (): void => { for (let i = 0; i < 2; i++) probe.connect(simPeerId(`tick-peer-${next++}`)) }
  connectTwo()
  const times: number[] = []
  for (let t = 1; t <= forMs; t++) {
    probe.advance(1, 1)
    const hung = probe.hangUps()
    if (hung.length === 0) continue
    times.push(t)
    for (const { peer } of hung) probe.send({ type: 'peer.disconnected', peer, reason: 'trimmed' })
    probe.clear()
    connectTwo()
  }
  probe.stop()
  return times
}

const gaps = (times: number[]): number[] => times.slice(1).map((t, i) => t - times[i])

describe('discovery: connection manager ticks', () => {
  it('the first tick within (0, tickInterval], then one every tickInterval', () => {
    for (const [interval, seed] of [[1_000, 1], [1_000, 2], [1_000, 3], [300, 4]]) {
      const times = trimTimes(seed, 4 * interval + interval / 2, interval)
      expect(times[0], `seed ${seed}`).toBeGreaterThan(0)
      expect(times[0], `seed ${seed}`).toBeLessThanOrEqual(interval)
      expect(times.length, `seed ${seed}`).toBeGreaterThanOrEqual(4)
      expect(new Set(gaps(times)), `seed ${seed}`).toEqual(new Set([interval]))
    }
  })

  it('the same seed gives the same ticks; 30 nodes with different seeds spread over the interval', () => {
    expect(trimTimes(7, 3_000)).toEqual(trimTimes(7, 3_000))
    const firsts = Array.from({ length: 30 }, (_, i) => trimTimes(100 + i, 1_000)[0])
    const perMs = new Map<number, number>()
    for (const t of firsts) perMs.set(t, (perMs.get(t) ?? 0) + 1)
    // With one tickInterval for every node, all 30 ticked at 1,000 ms.
    expect(Math.max(...perMs.values())).toBeLessThanOrEqual(2)
    expect(Math.max(...firsts) - Math.min(...firsts)).toBeGreaterThan(500)
  })
})

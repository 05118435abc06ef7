/**
 * When discovery's periodic waits end: the connection manager's tick (checking the
 * watermarks), the republish of the keys this node provides and the sweep of expired provider
 * records. Each comes first at a point of its first period drawn from the seeded rng, then once
 * every period, so nodes started together (many swarms in one process, a simulation) do not all
 * purge, trim and fill, republish or sweep in the same millisecond. Seen from outside: the trims
 * of a node kept above its high watermark; the ADD_PROVIDERs of a node providing a key; the
 * sweep's timer, and the records it frees within providerTtl + one sweep period.
 */
import { describe, expect, it } from 'vitest'
import { DiscoveryProbe, simPeerId } from '../../src/discovery/probe.js'
import { providerSweepInterval } from '../../machines/discovery/options.js'

/**
 * Step `probe`'s clock 1 ms at a time for `forMs` ms, then stop it; `fired` looks at what the
 * machine asked for in that ms (and answers it) and says whether the wait under test ended. The
 * times (ms after start) at which it did.
 */
function firings(probe: DiscoveryProbe, forMs: number, fired: () => boolean): number[] {
  const times: number[] = []
  for (let t = 1; t <= forMs; t++) {
    probe.advance(1, 1)
    if (fired()) times.push(t)
    probe.clear()
  }
  probe.stop()
  return times
}

/**
 * A node always two connections above its watermarks: each tick trims both, and two new peers
 * connect.
 */
function trimTimes(seed: number, forMs: number, tickInterval = 1_000): number[] {
  const probe = new DiscoveryProbe({ lowWatermark: 0, highWatermark: 1, gracePeriod: 0, tickInterval, refreshInterval: 0 }, { seed })
  let next = 0
  const connectTwo = (): void => { for (let i = 0; i < 2; i++) probe.connect(simPeerId(`tick-peer-${next++}`)) }
  connectTwo()
  return firings(probe, forMs, () => {
    const hung = probe.hangUps()
    for (const { peer } of hung) probe.send({ type: 'peer.disconnected', peer, reason: 'trimmed' })
    if (hung.length > 0) connectTwo()
    return hung.length > 0
  })
}

const KEY = new Uint8Array(32).fill(7)

/** Answer every FIND_NODE with no closer peers, at once; the ADD_PROVIDERs that follow. */
function answerFinds(probe: DiscoveryProbe): Array<{ peer: string; body: any }> {
  for (const f of probe.frames().filter((f) => f.body.t === 'find')) {
    probe.send({ type: 'message', peer: f.peer, body: { t: 'found', id: f.body.id, peers: [] } } as never)
  }
  return probe.frames().filter((f) => f.body.t === 'provide')
}

/** A node providing a key, connected to two peers that answer at once: when it announces the key again. */
function republishTimes(seed: number, forMs: number, republishInterval = 1_000): number[] {
  const options = { lowWatermark: 0, refreshInterval: 0, k: 2, republishInterval, providerTtl: Math.max(1_000, 2 * republishInterval) }
  const probe = new DiscoveryProbe(options, { seed })
  for (const peer of [simPeerId('republish-peer-0'), simPeerId('republish-peer-1')]) probe.connect(peer, 'outbound', `memory://h/p2p/${peer}`)
  probe.send({ type: 'discovery.provide', key: KEY } as never)
  expect(answerFinds(probe).length).toBe(2) // the announce at provide time
  probe.clear()
  return firings(probe, forMs, () => answerFinds(probe).length > 0)
}

/** Options whose provider sweep comes every `sweep` ms (a quarter of providerTtl). */
const sweepOptions = (sweep: number) => ({ lowWatermark: 0, refreshInterval: 0, providerTtl: 4 * sweep, republishInterval: sweep })

/** When the provider sweep's wait ends (its timer: with nothing expired, a sweep changes nothing a peer sees). */
function sweepTimes(seed: number, forMs: number, sweep = 1_000): number[] {
  const probe = new DiscoveryProbe(sweepOptions(sweep), { seed })
  let ended = false
  probe.actor.system.inspect((ev) => {
    if (ev.type === '@xstate.event' && ev.event.type.startsWith('xstate.after.providerSweep.')) ended = true
  })
  return firings(probe, forMs, () => { const fired = ended; ended = false; return fired })
}

const gaps = (times: number[]): number[] => times.slice(1).map((t, i) => t - times[i])

/** The two promises every periodic wait keeps, for one wait seen through `timesOf`. */
function periodicWait(name: string, timesOf: (seed: number, forMs: number, interval: number) => number[], intervals: [number, number]): void {
  describe(`discovery: ${name}`, () => {
    it('the first within (0, interval], then one every interval', () => {
      for (const [interval, seed] of [[intervals[0], 1], [intervals[0], 2], [intervals[0], 3], [intervals[1], 4]]) {
        const times = timesOf(seed, 4 * interval + interval / 2, interval)
        expect(times[0], `seed ${seed}`).toBeGreaterThan(0)
        expect(times[0], `seed ${seed}`).toBeLessThanOrEqual(interval)
        expect(times.length, `seed ${seed}`).toBeGreaterThanOrEqual(4)
        expect(new Set(gaps(times)), `seed ${seed}`).toEqual(new Set([interval]))
      }
    })

    it('the same seed gives the same times; 30 nodes with different seeds spread over the interval', () => {
      const interval = intervals[0]
      expect(timesOf(7, 3 * interval, interval)).toEqual(timesOf(7, 3 * interval, interval))
      const firsts = Array.from({ length: 30 }, (_, i) => timesOf(100 + i, interval, interval)[0])
      const perMs = new Map<number, number>()
      for (const t of firsts) perMs.set(t, (perMs.get(t) ?? 0) + 1)
      // With one full interval for every node, all 30 fired at the interval's end.
      expect(Math.max(...perMs.values())).toBeLessThanOrEqual(2)
      expect(Math.max(...firsts) - Math.min(...firsts)).toBeGreaterThan(interval / 2)
    })
  })
}

periodicWait('connection manager ticks', trimTimes, [1_000, 300])
periodicWait('republishing the provided keys', republishTimes, [1_000, 300])
periodicWait('sweeping expired provider records', sweepTimes, [1_000, 1_500])

describe('discovery: expired provider records', () => {
  it('are freed within providerTtl + one sweep period of their last announcement, whatever the sweep\'s phase', () => {
    const sweep = 1_000
    const ttl = 4 * sweep
    expect(providerSweepInterval({ providerTtl: ttl })).toBe(sweep)
    for (const seed of [1, 2, 3]) {
      for (const announcedAt of [0, 333, 1_777]) {
        const probe = new DiscoveryProbe(sweepOptions(sweep), { seed })
        const peer = simPeerId('announcer')
        probe.connect(peer, 'outbound', `memory://h/p2p/${peer}`)
        probe.advance(announcedAt, 1)
        probe.send({ type: 'message', peer, body: { t: 'provide', key: KEY, addrs: [`memory://h/p2p/${peer}`] } } as never)
        probe.advance(ttl - 1, 1)
        expect(probe.context.providerStore.size, `seed ${seed}, at ${announcedAt}: alive until its TTL`).toBe(1)
        probe.advance(sweep + 1, 1)
        expect(probe.context.providerStore.size, `seed ${seed}, at ${announcedAt}: freed by the next sweep`).toBe(0)
        probe.stop()
      }
    }
  })
})

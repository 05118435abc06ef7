/**
 * Connections opened together do not keep-alive together: n swarms dial one hub in the same
 * instant of the simulated clock and then carry nothing (no ping protocol, pubsub or
 * discovery), so only the connections' keep-alive pings go over them. Each connection's first
 * wait is shortened by its own seeded jitter, so their pings spread over time, the same way
 * for the same seeds.
 * @module
 */
import { describe, expect, it } from 'vitest'
import type { AnyMachineSnapshot, InspectionEvent } from 'xstate'
import { createSimulation } from '../../src/testing/simulation.js'
import type { Swarm } from '../../src/swarm.js'
import { createSimTestSwarm, eventsOf, useSwarmCleanup } from '../helpers/swarm-test.js'

useSwarmCleanup()

const timeouts = { keepAlive: 1000, pingTimeout: 500 }
const N = 12

/** The hub and N swarms that dial it at once; the virtual times of every keep-alive ping sent, for 3 × keepAlive after they connected. */
async function quietStar(seed: number): Promise<{ connectedAt: number[]; pings: number[] }> {
  const sim = createSimulation()
  const pings: number[] = []
  // A connection's chart moves to `open.awaitingPong` when its keep-alive wait ends in a ping.
  const inspect = (e: InspectionEvent) => {
    if (e.type !== '@xstate.snapshot' || !e.event.type.startsWith('xstate.after.keepAlive')) return
    if ((e.snapshot as AnyMachineSnapshot).matches({ open: 'awaitingPong' })) pings.push(sim.now())
  }
  const quiet = { timeouts, ping: false, pubsub: false, discovery: false, inspect } as const
  const hub = await createSimTestSwarm(sim, { seed: seed * 100, ...quiet })
  const spokes: Swarm[] = []
  for (let i = 1; i <= N; i++) spokes.push(await createSimTestSwarm(sim, { seed: seed * 100 + i, ...quiet }))
  for (const s of spokes) s.dial(hub.addresses[0])
  const r = await sim.run({ until: () => hub.peers().length === N, forMs: 1000 })
  expect(r.satisfied).toBe(true)
  const connectedAt = [hub, ...spokes].flatMap((s) => eventsOf(s).filter((e) => e.type === 'peer.connected').map(() => sim.now()))
  const start = sim.now()
  await sim.run({ forMs: 3 * timeouts.keepAlive })
  expect(hub.peers().length).toBe(N) // every ping was answered
  return { connectedAt, pings: pings.map((t) => t - start) }
}

describe('simulation: keep-alive of connections opened together', () => {
  it(`${N} connections opened in one instant send their first pings spread over the last quarter of keepAlive, not in one instant`, async () => {
    const { connectedAt, pings } = await quietStar(1)
    expect(new Set(connectedAt).size).toBe(1) // all opened together
    // One ping per connection opens each connection's keep-alive (the other side hears it as traffic).
    const first = pings.filter((t) => t <= timeouts.keepAlive)
    expect(first.length).toBe(N)
    for (const t of first) expect(t).toBeGreaterThanOrEqual(timeouts.keepAlive * 3 / 4)
    expect(new Set(first).size).toBeGreaterThanOrEqual(N / 2)
    // Later pings keep each connection's phase: still spread, never all in one instant.
    const later = pings.filter((t) => t > 2 * timeouts.keepAlive)
    expect(later.length).toBeGreaterThanOrEqual(N)
    expect(new Set(later).size).toBeGreaterThanOrEqual(N / 2)
  })

  it('the same seeds give the same ping schedule; other seeds another', async () => {
    const a = await quietStar(1)
    const b = await quietStar(1)
    expect(b.pings).toEqual(a.pings)
    const c = await quietStar(2)
    expect(c.pings).not.toEqual(a.pings)
  })
})

/**
 * Connections opened together do not keep-alive together: n swarms dial one hub in the same
 * instant of the simulated clock and then carry nothing (no ping protocol, pubsub or
 * discovery), so only the connections' keep-alive pings go over them. Each connection's first
 * wait is shortened by its own seeded jitter, so their pings spread over time, the same way
 * for the same seeds. And each quiet connection carries one ping per period, not one from each
 * end: the dialer leads (`keepAliveLead`), so after the first round only the spokes ping, once
 * per `keepAlive − lead` each (the links have no latency, so the period is exact).
 * @module
 */
import { describe, expect, it } from 'vitest'
import type { AnyMachineSnapshot, InspectionEvent } from 'xstate'
import { keepAliveLead, type ConnectionContext } from '../../machines/connection.machine.js'
import { createSimulation } from '../../src/testing/simulation.js'
import type { Swarm } from '../../src/swarm.js'
import { createSimTestSwarm, eventsOf, useSwarmCleanup } from '../helpers/swarm-test.js'

useSwarmCleanup()

const timeouts = { keepAlive: 1000, pingTimeout: 500 }
const N = 12
/** A quiet connection's period once the dialer leads. */
const PERIOD = timeouts.keepAlive - keepAliveLead(timeouts.keepAlive)
/** Simulated time watched after the swarms connected: the first round and three full periods. */
const WATCH = timeouts.keepAlive + 3 * PERIOD

/** A keep-alive ping: when, by which end, and on which connection (the spoke's index, 1..N). */
interface Ping { at: number; by: 'hub' | 'spoke'; conn: number }

/** The hub and N swarms that dial it at once; every keep-alive ping sent, for WATCH ms after they connected. */
async function quietStar(seed: number): Promise<{ connectedAt: number[]; pings: Ping[] }> {
  const sim = createSimulation()
  const sent: { at: number; spoke: number; peer: string }[] = []
  // A connection's chart moves to `open.awaitingPong` when its keep-alive wait ends in a ping.
  const inspector = (spoke: number) => (e: InspectionEvent) => {
    if (e.type !== '@xstate.snapshot' || !e.event.type.startsWith('xstate.after.keepAlive')) return
    const snapshot = e.snapshot as AnyMachineSnapshot
    if (snapshot.matches({ open: 'awaitingPong' })) sent.push({ at: sim.now(), spoke, peer: (snapshot.context as ConnectionContext).peer! })
  }
  const quiet = { timeouts, ping: false, pubsub: false, discovery: false } as const
  const hub = await createSimTestSwarm(sim, { seed: seed * 100, ...quiet, inspect: inspector(0) })
  const spokes: Swarm[] = []
  for (let i = 1; i <= N; i++) spokes.push(await createSimTestSwarm(sim, { seed: seed * 100 + i, ...quiet, inspect: inspector(i) }))
  for (const s of spokes) s.dial(hub.addresses[0])
  const r = await sim.run({ until: () => hub.peers().length === N, forMs: 1000 })
  expect(r.satisfied).toBe(true)
  const connectedAt = [hub, ...spokes].flatMap((s) => eventsOf(s).filter((e) => e.type === 'peer.connected').map(() => sim.now()))
  const start = sim.now()
  await sim.run({ forMs: WATCH })
  expect(hub.peers().length).toBe(N) // every ping was answered
  const spokeOf = (peer: string) => spokes.findIndex((s) => s.peerId === peer) + 1
  const pings = sent.filter((p) => p.at >= start).map((p): Ping =>
    p.spoke === 0 ? { at: p.at - start, by: 'hub', conn: spokeOf(p.peer) } : { at: p.at - start, by: 'spoke', conn: p.spoke })
  return { connectedAt, pings }
}

describe('simulation: keep-alive of connections opened together', () => {
  it(`${N} connections opened in one instant send their first pings spread over the last quarter of keepAlive, not in one instant`, async () => {
    const { connectedAt, pings } = await quietStar(1)
    expect(new Set(connectedAt).size).toBe(1) // all opened together
    // One ping per connection opens each connection's keep-alive (the other side hears it as traffic).
    const first = pings.filter((p) => p.at <= timeouts.keepAlive)
    expect(first.length).toBe(N)
    expect(new Set(first.map((p) => p.conn)).size).toBe(N)
    for (const p of first) expect(p.at).toBeGreaterThanOrEqual(timeouts.keepAlive * 3 / 4)
    expect(new Set(first.map((p) => p.at)).size).toBeGreaterThanOrEqual(N / 2)
  })

  it(`then one ping per connection per period, by its dialer: ${N} pings a round for ${N} connections, not ${2 * N}, still spread`, async () => {
    const { pings } = await quietStar(1)
    for (let round = 0; round < 3; round++) {
      const from = timeouts.keepAlive + round * PERIOD
      const inRound = pings.filter((p) => p.at >= from && p.at < from + PERIOD)
      expect(inRound.length).toBe(N)
      expect(new Set(inRound.map((p) => p.conn)).size).toBe(N)
      expect(inRound.every((p) => p.by === 'spoke')).toBe(true)
      expect(new Set(inRound.map((p) => p.at)).size).toBeGreaterThanOrEqual(N / 2)
    }
    // On each connection, the pings after its first come exactly one period apart.
    for (let conn = 1; conn <= N; conn++) {
      const times = pings.filter((p) => p.conn === conn).map((p) => p.at)
      expect(times.slice(1).map((t, i) => t - times[i])).toEqual(times.slice(1).map(() => PERIOD))
    }
  })

  it('the same seeds give the same ping schedule; other seeds another', async () => {
    const a = await quietStar(1)
    const b = await quietStar(1)
    expect(b.pings).toEqual(a.pings)
    const c = await quietStar(2)
    expect(c.pings).not.toEqual(a.pings)
  })
})

/**
 * Swarms started together in one simulation (one virtual clock, seeded) do not run their pubsub
 * heartbeats in the same millisecond: each node's first heartbeat comes at a point of the first
 * interval drawn from its seed, then one every heartbeatInterval, so each keeps its own phase
 * while the nodes connect, subscribe and publish. The same seeds give the same schedule.
 */
import { describe, expect, it } from 'vitest'
import type { InspectionEvent } from 'xstate'
import { createSimulation } from '../../src/testing/simulation.js'
import type { Swarm } from '../../src/swarm.js'
import { createSimTestSwarm, useSwarmCleanup } from '../helpers/swarm-test.js'
import { pubsubProtocol } from '../../machines/pubsub/pubsub.machine.js'

useSwarmCleanup()

const N = 12
const INTERVAL = 1_000

/** Each swarm's start time and the virtual times of its pubsub heartbeats over a few seconds of traffic. */
async function heartbeats(seed: number): Promise<Array<{ start: number; times: number[] }>> {
  const sim = createSimulation()
  const nodes = Array.from({ length: N }, () => ({ start: 0, times: [] as number[] }))
  const swarms: Swarm[] = []
  for (let i = 0; i < N; i++) {
    nodes[i].start = sim.now()
    const inspect = (ev: InspectionEvent): void => {
      if (ev.type === '@xstate.event' && ev.event.type.startsWith('xstate.after.heartbeat.')) nodes[i].times.push(sim.now())
    }
    swarms.push(await createSimTestSwarm(sim, { seed: seed * 100 + i, discovery: false, protocols: [pubsubProtocol()], inspect }))
  }
  for (let i = 0; i < N; i++) swarms[i].dial(swarms[(i + 1) % N].addresses[0])
  await sim.run({ forMs: 1_000 })
  for (const s of swarms) s.subscribe('news')
  for (let k = 0; k < 20; k++) {
    swarms[k % N].publish('news', new TextEncoder().encode(`m${k}`))
    await sim.run({ forMs: 200 })
  }
  return nodes
}

describe('pubsub: heartbeats of swarms started together', () => {
  it('are spread over the interval, each node every heartbeatInterval; same seeds, same schedule', async () => {
    const nodes = await heartbeats(5)
    expect(new Set(nodes.map((n) => n.start)).size).toBe(1) // started together
    const perMs = new Map<number, number>()
    for (const [i, { start, times }] of nodes.entries()) {
      expect(times.length, `node ${i}`).toBeGreaterThanOrEqual(4)
      expect(times[0] - start, `node ${i}`).toBeGreaterThan(0)
      expect(times[0] - start, `node ${i}`).toBeLessThanOrEqual(INTERVAL)
      expect(new Set(times.slice(1).map((t, k) => t - times[k])), `node ${i}`).toEqual(new Set([INTERVAL]))
      for (const t of times) perMs.set(t, (perMs.get(t) ?? 0) + 1)
    }
    // Before the stagger, all 12 ran in the same millisecond every second.
    expect(Math.max(...perMs.values())).toBeLessThanOrEqual(2)
    expect((await heartbeats(5)).map((n) => n.times)).toEqual(nodes.map((n) => n.times))
  }, 60_000)
})

/**
 * Swarms started together in one simulation (one virtual clock, seeded) do not republish their
 * provided keys, nor sweep expired provider records, in the same millisecond: each node's first
 * republish (sweep) comes at a point of its first period drawn from its seed, then one every
 * period. And no republish is lost: after each of a provider's republishes, its key reaches
 * every other node again (ADD_PROVIDER).
 */
import { describe, expect, it } from 'vitest'
import type { InspectionEvent } from 'xstate'
import '../../src/discovery/builtin.js'
import { createSimulation } from '../../src/testing/simulation.js'
import type { Swarm } from '../../src/swarm.js'
import { DISCOVERY_ID } from '../../machines/discovery/discovery.machine.js'
import { providerSweepInterval } from '../../machines/discovery/options.js'
import { createSimTestSwarm, useSwarmCleanup } from '../helpers/swarm-test.js'

useSwarmCleanup()

const N = 12
const REPUBLISH = 1_000
const TTL = 2_500
const SWEEP = providerSweepInterval({ providerTtl: TTL })

/** What one node saw: its start, when its republish and sweep waits ended, and ADD_PROVIDERs received (time, from). */
interface Node { start: number; republishes: number[]; sweeps: number[]; received: Array<[number, string]> }

/** N swarms started in one instant, in a ring, each providing its own key; watched for `forMs` after they started. */
async function providersRing(seed: number, forMs: number): Promise<{ nodes: Node[]; swarms: Swarm[]; providedAt: number }> {
  const sim = createSimulation()
  const nodes: Node[] = []
  const swarms: Swarm[] = []
  const discovery = { lowWatermark: 0, refreshInterval: 0, republishInterval: REPUBLISH, providerTtl: TTL }
  for (let i = 0; i < N; i++) {
    const node: Node = { start: sim.now(), republishes: [], sweeps: [], received: [] }
    nodes.push(node)
    const inspect = (ev: InspectionEvent): void => {
      if (ev.type !== '@xstate.event') return
      const event = ev.event as { type: string; peer?: string; body?: { t?: string } }
      if (event.type.startsWith('xstate.after.republishInterval.')) node.republishes.push(sim.now())
      else if (event.type.startsWith('xstate.after.providerSweep.')) node.sweeps.push(sim.now())
      else if (event.type === 'message' && event.body?.t === 'provide') node.received.push([sim.now(), event.peer!])
    }
    swarms.push(await createSimTestSwarm(sim, { seed: seed * 100 + i, ping: false, pubsub: false, discovery, inspect }))
  }
  for (let i = 0; i < N; i++) swarms[i].dial(swarms[(i + 1) % N].addresses[0])
  await sim.run({ until: () => swarms.every((s) => s.peers().length >= 2), forMs: 500 })
  const providedAt = sim.now()
  for (let i = 0; i < N; i++) swarms[i].command(DISCOVERY_ID, { type: 'discovery.provide', key: new Uint8Array(32).fill(i + 1) })
  await sim.run({ forMs: forMs - (providedAt - nodes[0].start) })
  return { nodes, swarms, providedAt }
}

describe('discovery: provider republish and sweep of swarms started together', () => {
  it('are spread over their periods, each node every period; every republish reaches the others', async () => {
    const { nodes, swarms, providedAt } = await providersRing(3, 4 * REPUBLISH + REPUBLISH / 2)
    expect(new Set(nodes.map((n) => n.start)).size).toBe(1) // started together
    expect(swarms.every((s) => s.peers().length >= 2)).toBe(true)
    for (const [name, period, timesOf] of [['republish', REPUBLISH, (n: Node) => n.republishes], ['sweep', SWEEP, (n: Node) => n.sweeps]] as const) {
      const firsts = nodes.map((n) => timesOf(n)[0] - n.start)
      for (const [i, n] of nodes.entries()) {
        const times = timesOf(n)
        expect(times.length, `${name}, node ${i}`).toBeGreaterThanOrEqual(4)
        expect(firsts[i], `${name}, node ${i}`).toBeGreaterThan(0)
        expect(firsts[i], `${name}, node ${i}`).toBeLessThanOrEqual(period)
        expect(new Set(times.slice(1).map((t, k) => t - times[k])), `${name}, node ${i}`).toEqual(new Set([period]))
      }
      // With one full period for every node, all 12 fired in the same millisecond.
      expect(new Set(firsts).size, name).toBeGreaterThanOrEqual(N - 1)
    }
    // No republish lost: after each republish of a provider (once it provides), its key reaches every other node (k ≥ N).
    for (const [i, n] of nodes.entries()) {
      const from = swarms[i].peerId
      for (const at of n.republishes.filter((t) => t > providedAt)) {
        const reached = nodes.filter((m) => m.received.some(([t, peer]) => peer === from && t >= at && t < at + REPUBLISH))
        expect(reached.length, `node ${i}'s republish at ${at}`).toBe(N - 1)
      }
    }
  }, 60_000)
})

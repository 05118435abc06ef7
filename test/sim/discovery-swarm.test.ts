/**
 * Discovery inside real swarms (createSwarm over the simulated in-memory network, with the
 * root swarm machine, connections, handshakes and codec): importing src/discovery/builtin.ts
 * registers the protocol. 24 swarms that know only swarm 0 end up in one connected overlay
 * within the watermarks, findPeer answers through `swarm.command`, and `discovery: false`
 * leaves the protocol out.
 */
import { describe, expect, it } from 'vitest'
import '../../src/discovery/builtin.js'
import { createSwarm } from '../../src/create-swarm.js'
import { createSimulation, type Simulation } from '../../src/testing/simulation.js'
import type { AnySwarmEvent as SwarmEvent, Swarm } from '../../src/swarm.js'
import { DISCOVERY_ID } from '../../machines/discovery/discovery.machine.js'

async function start(sim: Simulation, i: number, extra: Record<string, unknown>, log: Array<[number, SwarmEvent]>): Promise<Swarm> {
  const swarm = await createSwarm({ listen: ['memory://0'], transports: [sim.transport()], scheduler: sim.scheduler, seed: 500 + i, ping: false, ...extra })
  sim.add(swarm, (e) => log.push([i, e]))
  await sim.run({ until: () => swarm.addresses.length > 0, forMs: 1_000 })
  return swarm
}

function connected(swarms: Swarm[]): boolean {
  const index = new Map(swarms.map((s, i) => [s.peerId, i]))
  const seen = new Set([0])
  const stack = [0]
  while (stack.length > 0) {
    for (const p of swarms[stack.pop()!].peers()) {
      const j = index.get(p)
      if (j !== undefined && !seen.has(j)) { seen.add(j); stack.push(j) }
    }
  }
  return seen.size === swarms.length
}

describe('discovery in real swarms (simulated network)', () => {
  it('24 swarms knowing one bootstrap address form one overlay within the watermarks; findPeer works', async () => {
    const sim = createSimulation()
    const log: Array<[number, SwarmEvent]> = []
    const discovery = { lowWatermark: 4, highWatermark: 8, tickInterval: 2_000, gracePeriod: 5_000, refreshInterval: 30_000 }
    const swarms: Swarm[] = [await start(sim, 0, { discovery }, log)]
    for (let i = 1; i < 24; i++) swarms.push(await start(sim, i, { discovery, bootstrap: [swarms[0].addresses[0]] }, log))
    const ok = (): boolean => swarms.every((s) => s.peers().length >= 4 && s.peers().length <= 8) && connected(swarms)
    const r = await sim.run({ until: ok, forMs: 300_000 })
    expect(r.satisfied).toBe(true)
    expect(log.some(([, e]) => e.type === 'peer.discovered')).toBe(true)

    const target = swarms.findIndex((s, i) => i > 0 && !swarms[1].peers().includes(s.peerId) && s !== swarms[1])
    swarms[1].command(DISCOVERY_ID, { type: 'discovery.findPeer', peer: swarms[target].peerId, queryId: 'q1' })
    const answered = await sim.run({ until: () => log.some(([, e]) => e.type.startsWith('discovery.peer.') && (e as { queryId?: unknown }).queryId === 'q1'), forMs: 60_000 })
    expect(answered.satisfied).toBe(true)
    const answer = log.find(([, e]) => (e as { queryId?: unknown }).queryId === 'q1')![1] as SwarmEvent & { addresses: string[] }
    expect(answer.type).toBe('discovery.peer.found')
    expect(answer.addresses).toContain(swarms[target].addresses[0])

    let closed = 0
    for (const s of swarms) void s.close().then(() => closed++)
    await sim.run({ until: () => closed === swarms.length, forMs: 30_000 })
    expect(log.filter(([, e]) => e.type === 'discovery.exported').length).toBe(swarms.length) // one export each on closing
  }, 120_000)

  it('discovery: false leaves the protocol out (static peers only)', async () => {
    const sim = createSimulation()
    const log: Array<[number, SwarmEvent]> = []
    const a = await start(sim, 100, { discovery: false }, log)
    const b = await start(sim, 101, { discovery: false, bootstrap: [a.addresses[0]] }, log)
    await sim.run({ forMs: 30_000 })
    expect(b.peers()).toEqual([a.peerId])
    expect(log.some(([, e]) => e.type.startsWith('discovery.') || e.type === 'peer.discovered')).toBe(false)
    expect(() => b.command(DISCOVERY_ID, { type: 'discovery.export' })).toThrow()
    await Promise.all([a.close(), b.close(), sim.run({ forMs: 10_000 })])
  }, 60_000)
})

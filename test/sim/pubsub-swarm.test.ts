/**
 * Pubsub through whole swarms in simulation (in-memory network, virtual time, seeded): the
 * facade's commands, the root machine's routing, codec and secure channel, and the pubsub
 * actor together. Every message reaches every other subscriber exactly once, also after two
 * swarms close mid-run, and the same seed gives the same event log.
 */
import { describe, expect, it } from 'vitest'
import { createSimulation } from '../../src/testing/simulation.js'
import type { Swarm } from '../../src/swarm.js'
import { createSimTestSwarm, eventsOf, useSwarmCleanup } from '../helpers/swarm-test.js'
import { pubsubProtocol } from '../../machines/pubsub/pubsub.machine.js'

useSwarmCleanup()

type Ev = { type: string; [key: string]: any }
const N = 12

async function run(seed: number): Promise<{ log: string; swarms: Swarm[]; closed: Set<number> }> {
  const sim = createSimulation()
  const swarms: Swarm[] = []
  const lines: string[] = []
  for (let i = 0; i < N; i++) {
    const s = await createSimTestSwarm(sim, { seed: seed * 100 + i, discovery: false, protocols: [pubsubProtocol()] }, false)
    swarms.push(s)
    sim.add(s, (e) => {
      eventsOf(s).push(e)
      if (e.type.startsWith('pubsub.') || e.type.startsWith('peer.')) lines.push(`${sim.now()} ${i} ${JSON.stringify(e)}`)
    })
  }
  await sim.run({ forMs: 10 })
  for (let i = 0; i < N; i++) {
    swarms[i].dial(swarms[(i + 1) % N].addresses[0])
    swarms[i].dial(swarms[(i + 4) % N].addresses[0])
  }
  await sim.run({ forMs: 2_000 })
  for (const s of swarms) s.subscribe('news')
  await sim.run({ forMs: 3_000 })
  for (let k = 0; k < 6; k++) {
    swarms[(k * 5) % N].publish('news', new TextEncoder().encode(`before ${k}`))
    await sim.run({ forMs: 300 })
  }
  await sim.run({ forMs: 2_000 })
  const closed = new Set([3, 8])
  for (const i of closed) void swarms[i].close()
  await sim.run({ forMs: 3_000 })
  for (let k = 0; k < 6; k++) {
    swarms[(k * 5 + 1) % N].publish('news', new TextEncoder().encode(`after ${k}`))
    await sim.run({ forMs: 300 })
  }
  await sim.run({ forMs: 3_000 })
  return { log: lines.join('\n'), swarms, closed }
}

describe('pubsub: swarms in simulation', () => {
  it('every subscriber gets every message once, before and after two swarms close; same seed, same log', async () => {
    const a = await run(3)
    const messages = (s: Swarm): Ev[] => (eventsOf(s) as Ev[]).filter((e) => e.type === 'pubsub.message')
    const published = a.swarms.flatMap((s) => (eventsOf(s) as Ev[]).filter((e) => e.type === 'pubsub.published'))
    expect(published).toHaveLength(12)
    for (const [i, s] of a.swarms.entries()) {
      const texts = messages(s).map((e) => new TextDecoder().decode(e.data))
      expect(new Set(texts).size, `swarm ${i} duplicates`).toBe(texts.length)
      const own = (eventsOf(s) as Ev[]).filter((e) => e.type === 'pubsub.published').length
      if (a.closed.has(i)) expect(texts.filter((t) => t.startsWith('before')).length + own).toBe(6)
      else expect(texts.length + own, `swarm ${i}`).toBe(12)
    }
    const b = await run(3)
    expect(b.log === a.log).toBe(true)
  }, 60_000)
})

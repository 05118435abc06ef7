/**
 * The actors protocol keeps per-peer link state (what waits while a peer is dialed, its redial
 * backoff, its watch grace period): many peers coming and going must not leave it growing. A
 * node watches, sends at least once to, and refuses events of peer after peer, each killed
 * in turn; afterwards the node keeps no link for any of them, and still works.
 * @module
 */
import { describe, expect, it } from 'vitest'
import { assign, createMachine, type AnyActorRef, type InspectionEvent } from 'xstate'
import type { ActorsContext } from '../../machines/actors/context.js'
import { connectSim, createSimTestSwarm, eventsOf, transportOf, useSwarmCleanup } from '../helpers/swarm-test.js'
import { createSimulation } from '../../src/testing/simulation.js'

useSwarmCleanup()

const counter = createMachine({
  context: { n: 0 },
  on: { add: { actions: assign({ n: ({ context }) => context.n + 1 }) } },
})

const PEERS = 24

describe('actors: per-peer link state', () => {
  it('peers coming and going leave no link behind (bounded by the peers that still need one)', async () => {
    const protocols = new Set<AnyActorRef>()
    const inspect = (e: InspectionEvent) => { const ref = e.actorRef as AnyActorRef; if (ref.id === 'protocol:/xswarm/actors/1') protocols.add(ref) }
    const sim = createSimulation()
    const a = await createSimTestSwarm(sim, { seed: 70, inspect })
    const contextOfA = () => [...protocols].map((p) => p.getSnapshot().context as ActorsContext).find((c) => c.peerId === a.peerId)!
    const downs = () => eventsOf(a).filter((e) => e.type === 'actor.down')
    const undelivered = () => eventsOf(a).filter((e) => e.type === 'actor.undelivered')
    let peak = 0
    for (let i = 0; i < PEERS; i++) {
      const p = await createSimTestSwarm(sim, { seed: 100 + i })
      await connectSim(sim, p, a)
      const w = p.actors.spawn(counter, { name: 'w', accept: 'any' })
      a.actors.watch(w.address)
      a.actors.send(w.address, { type: 'add' }, { delivery: 'at-least-once' })
      a.actors.send(w.address.replace(/\/w$/, '/nobody'), { type: 'add' })
      await sim.run({ until: () => w.ref.getSnapshot().context.n === 1 && undelivered().length === 2 * i + 1, forMs: 5000 })
      // Killed: the watch ends after its grace period; a send to the gone node fails its dial.
      sim.network.kill(transportOf(p))
      sim.remove(p)
      await sim.run({ until: () => downs().length === i + 1, forMs: 10_000 })
      a.actors.send(w.address, { type: 'add' })
      await sim.run({ until: () => undelivered().length === 2 * i + 2, forMs: 10_000 })
      peak = Math.max(peak, contextOfA().links.size)
    }
    expect(downs()).toHaveLength(PEERS)
    expect(downs().every((e) => (e as { reason?: string }).reason === 'peer-disconnected')).toBe(true)
    expect(undelivered().map((e) => (e as { reason?: string }).reason)).toEqual(Array.from({ length: PEERS }, () => ['no-such-actor', 'unreachable']).flat())
    expect(contextOfA().links.size).toBe(0)
    expect(peak).toBeLessThanOrEqual(1)
    // The node still hosts and answers after all of that.
    const b = await createSimTestSwarm(sim, { seed: 200 })
    await connectSim(sim, b, a)
    const c = a.actors.spawn(counter, { name: 'c', accept: 'any' })
    b.actors.send(c.address, { type: 'add' }, { delivery: 'at-least-once' })
    await sim.run({ until: () => c.ref.getSnapshot().context.n === 1, forMs: 5000 })
    expect(c.ref.getSnapshot().context.n).toBe(1)
    expect(contextOfA().links.size).toBe(0) // a never sent to b: no link
  }, 60_000)
})

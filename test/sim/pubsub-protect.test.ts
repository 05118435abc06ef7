/**
 * Pubsub and discovery together: peers in a pubsub mesh are protected from discovery's
 * connection manager (tag `pubsub`), and unprotected once they leave every mesh.
 */
import { describe, expect, it } from 'vitest'
import type { AnyActorRef } from 'xstate'
import { createSwarm } from '../../src/create-swarm.js'
import { createSimulation } from '../../src/testing/simulation.js'
import type { Swarm } from '../../src/swarm.js'

describe('pubsub mesh peers are protected in discovery', () => {
  it('protects mesh peers with the pubsub tag, and withdraws it after unsubscribe', async () => {
    const sim = createSimulation()
    const discoveryActors = new Map<number, AnyActorRef>()
    const swarms: Swarm[] = []
    for (let i = 0; i < 3; i++) {
      const swarm = await createSwarm({
        listen: ['memory://0'],
        transports: [sim.transport()],
        scheduler: sim.scheduler,
        seed: 900 + i,
        ping: false,
        inspect: (ev) => {
          if (ev.type === '@xstate.actor' && (ev.actorRef as AnyActorRef).id === 'protocol:/xswarm/discovery/1') discoveryActors.set(i, ev.actorRef as AnyActorRef)
        },
      })
      sim.add(swarm)
      swarms.push(swarm)
    }
    await sim.run({ until: () => swarms.every((s) => s.addresses.length > 0), forMs: 1_000 })
    for (const s of swarms) s.subscribe('t')
    swarms[1].dial(swarms[0].addresses[0])
    swarms[2].dial(swarms[0].addresses[0])
    await sim.run({ forMs: 5_000 })
    const tags = (i: number, peer: string) =>
      (discoveryActors.get(i)!.getSnapshot().context.protections as Map<string, Set<string>>).get(peer) ?? new Set()
    expect(swarms[0].peers()).toHaveLength(2)
    expect([...tags(0, swarms[1].peerId)]).toContain('pubsub')
    expect([...tags(0, swarms[2].peerId)]).toContain('pubsub')
    swarms[1].unsubscribe('t')
    await sim.run({ forMs: 5_000 })
    expect([...tags(0, swarms[1].peerId)]).not.toContain('pubsub')
    expect([...tags(0, swarms[2].peerId)]).toContain('pubsub')
  })
})

/**
 * Simulated swarms with discovery on (its defaults, ping off), and the protection tags each
 * one's discovery actor holds for a peer: what the tests of `discovery.protect` by other
 * protocols (pubsub's mesh, the actor layer) read.
 */
import type { AnyActorRef } from 'xstate'
import { createSwarm } from '../../src/create-swarm.js'
import type { Simulation } from '../../src/testing/simulation.js'
import type { Swarm } from '../../src/swarm.js'

export interface ProtectingSwarms {
  swarms: Swarm[]
  /** The tags swarm `i`'s discovery protects `peer` with. */
  tags(i: number, peer: string): string[]
}

/** `count` swarms on `sim` (seeds `seed`, `seed + 1`, ...), listening once this resolves. */
export async function startProtectingSwarms(sim: Simulation, count: number, seed: number): Promise<ProtectingSwarms> {
  const discoveryActors = new Map<number, AnyActorRef>()
  const swarms: Swarm[] = []
  for (let i = 0; i < count; i++) {
    const swarm = await createSwarm({
      listen: ['memory://0'], transports: [sim.transport()], scheduler: sim.scheduler, seed: seed + i, ping: false,
      inspect: (ev) => {
        if (ev.type === '@xstate.actor' && (ev.actorRef as AnyActorRef).id === 'protocol:/xswarm/discovery/1') discoveryActors.set(i, ev.actorRef as AnyActorRef)
      },
    })
    sim.add(swarm)
    swarms.push(swarm)
  }
  await sim.run({ until: () => swarms.every((s) => s.addresses.length > 0), forMs: 1_000 })
  const tags = (i: number, peer: string) =>
    [...((discoveryActors.get(i)!.getSnapshot().context.protections as Map<string, Set<string>>).get(peer) ?? [])]
  return { swarms, tags }
}

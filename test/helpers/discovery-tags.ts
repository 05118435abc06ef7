/**
 * Simulated swarms with discovery on (its defaults unless told otherwise, ping off), and the
 * protection tags each one's discovery actor holds for a peer: what the tests of
 * `discovery.protect` by other protocols (pubsub's mesh, the actor layer) read.
 */
import type { AnyActorRef } from 'xstate'
import { createSwarm, type SwarmOptions } from '../../src/create-swarm.js'
import type { Simulation } from '../../src/testing/simulation.js'
import type { AnySwarmEvent, Swarm } from '../../src/swarm.js'

export interface ProtectingSwarms {
  swarms: Swarm[]
  /** The events each swarm handed out, in order. */
  events: AnySwarmEvent[][]
  /** The tags swarm `i`'s discovery protects `peer` with. */
  tags(i: number, peer: string): string[]
  /** Whether swarm `i`'s discovery opened its connection to `peer` only for a lookup (and has not let it become an ordinary one). */
  isLookupConnection(i: number, peer: string): boolean
}

/**
 * `count` swarms on `sim` (seeds `seed`, `seed + 1`, ...), listening once this resolves; `options`
 * adds to swarm `i`'s options (it sees the swarms made before it, e.g. to bootstrap from one).
 */
export async function startProtectingSwarms(
  sim: Simulation, count: number, seed: number, options: (i: number, before: Swarm[]) => SwarmOptions = () => ({}),
): Promise<ProtectingSwarms> {
  const discoveryActors = new Map<number, AnyActorRef>()
  const swarms: Swarm[] = []
  const events: AnySwarmEvent[][] = []
  for (let i = 0; i < count; i++) {
    const swarm = await createSwarm({
      ...options(i, swarms),
      listen: ['memory://0'], transports: [sim.transport()], scheduler: sim.scheduler, seed: seed + i, ping: false,
      inspect: (ev) => {
        if (ev.type === '@xstate.actor' && (ev.actorRef as AnyActorRef).id === 'protocol:/xswarm/discovery/1') discoveryActors.set(i, ev.actorRef as AnyActorRef)
      },
    })
    const handedOut: AnySwarmEvent[] = []
    sim.add(swarm, (e) => handedOut.push(e))
    swarms.push(swarm)
    events.push(handedOut)
  }
  await sim.run({ until: () => swarms.every((s) => s.addresses.length > 0), forMs: 1_000 })
  const context = (i: number) => discoveryActors.get(i)!.getSnapshot().context as {
    protections: Map<string, Set<string>>
    connected: Map<string, { transient: boolean }>
  }
  const tags = (i: number, peer: string) => [...(context(i).protections.get(peer) ?? [])]
  const isLookupConnection = (i: number, peer: string) => context(i).connected.get(peer)?.transient === true
  return { swarms, events, tags, isLookupConnection }
}

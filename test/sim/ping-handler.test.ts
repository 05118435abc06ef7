/**
 * A protocol's per-peer chart through a swarm: the ping protocol's handler (ready /
 * awaitingPong, stepped by the ping behaviour) as a user watching the inspection stream sees it
 * — one readable entry per connected peer in the ping actor's context, moving between its
 * states as pings go out and pongs come back, and gone when the peer disconnects.
 * @module
 */
import { describe, expect, it } from 'vitest'
import type { InspectionEvent } from 'xstate'
import { createSimulation } from '../../src/testing/simulation.js'
import { connectSim, createSimTestSwarm, eventsOf, useSwarmCleanup } from '../helpers/swarm-test.js'

useSwarmCleanup()

type PeerEntry = { state: string; seq: number; sentAt: number; timers?: Array<{ id: string; at: number }> }

describe('ping handler through a swarm', () => {
  it('the inspector shows each peer\'s chart state in the ping actor, readable, and it follows pings and pongs', async () => {
    const snapshots: Array<Record<string, PeerEntry>> = []
    const inspect = (ev: InspectionEvent): void => {
      if (ev.type !== '@xstate.snapshot' || (ev.actorRef as unknown as { systemId?: string }).systemId !== 'protocol:/xswarm/ping/1') return
      // What an inspector serializes: the readable form.
      const snapshot = JSON.parse(JSON.stringify((ev as { snapshot: unknown }).snapshot)) as { context: { peers: Record<string, PeerEntry> } }
      snapshots.push(snapshot.context.peers)
    }
    const sim = createSimulation()
    const a = await createSimTestSwarm(sim, { seed: 1, ping: { interval: 1000 }, inspect })
    const b = await createSimTestSwarm(sim, { seed: 2, ping: { interval: 1000 } })
    await connectSim(sim, a, b)
    await sim.run({ forMs: 5_000 })

    const states = snapshots.map((peers) => peers[b.peerId]?.state).filter((s) => s !== undefined)
    // A ping outstanding, then answered, again every interval.
    expect(states).toContain('awaitingPong')
    expect(states).toContain('ready')
    const transitions = states.filter((s, i) => s !== states[i - 1])
    expect(transitions.filter((s) => s === 'awaitingPong').length).toBeGreaterThanOrEqual(4)
    const waiting = snapshots.map((peers) => peers[b.peerId]).find((e) => e?.state === 'awaitingPong')!
    // The lost-ping delay is data on the entry: due three intervals after the ping went out.
    expect(waiting.timers).toEqual([{ id: 'xstate.after.pongTimeout.pingPeer.awaitingPong', at: waiting.sentAt + 3000 }])
    expect(eventsOf(a).filter((e) => e.type === 'ping.rtt' && e.peer === b.peerId).length).toBeGreaterThanOrEqual(4)

    void b.close()
    await sim.run({ until: () => eventsOf(a).some((e) => e.type === 'peer.disconnected'), forMs: 10_000 })
    expect(snapshots.at(-1)![b.peerId]).toBeUndefined()
  })
})

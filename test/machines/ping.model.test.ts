/**
 * Model-based test of the ping behaviour chart (machines/protocols/ping.machine.ts, `pingMachine`):
 * `xstate/graph` walks it and every edge is replayed on a real actor (model-walk.ts), so every
 * state is entered and every transition taken. Its per-peer chart has its own walk (ping-peer.test.ts).
 * @module
 */
import { describe, expect, it } from 'vitest'
import { createActor, SimulatedClock, type AnyMachineSnapshot, type InspectionEvent } from 'xstate'
import { nobleSuite } from '../../machines/lib/crypto-noble.js'
import { bindRuntime } from '../../machines/lib/runtime.js'
import { createSignerIssuer } from '../../machines/lib/signer.js'
import { PING_ID, pingMachine } from '../../machines/protocols/ping.machine.js'
import { walkAndReplay, withoutActions, type Ev, type Sample } from './model-walk.js'

const INTERVAL = 1000
const input = {
  peerId: 'Me', protocol: PING_ID, seed: new Uint8Array(32), options: { interval: INTERVAL }, addresses: [],
  crypto: nobleSuite, signer: createSignerIssuer(nobleSuite, new Uint8Array(32)).issue(PING_ID), publicKey: new Uint8Array(32),
}

const samples = (): Sample[] => [
  { type: 'peer.connected', peer: 'B', direction: 'outbound', address: 'memory://b' },
  { type: 'peer.disconnected', peer: 'B', reason: 'test' },
  { type: 'message', peer: 'B', body: [0, 7] },
  { type: 'message', peer: 'B', body: [1, 1] },
  { type: 'ping.send', peer: 'B' },
  { type: 'xstate.after.interval.ping.active' },
  { type: 'swarm.closing' },
]

function start(inspect: (event: InspectionEvent) => void) {
  const clock = new SimulatedClock()
  const actor = createActor(pingMachine, { clock, inspect, input })
  bindRuntime(actor, { sink: () => {}, now: () => clock.now() })
  actor.start()
  return {
    send(event: Ev): void {
      if (event.type.startsWith('xstate.after.')) clock.increment(INTERVAL)
      else actor.send(event as never)
    },
    snapshot: () => actor.getSnapshot() as AnyMachineSnapshot,
  }
}

describe('ping chart: model-based (xstate/graph)', () => {
  it('every edge replayed on a real actor reaches the predicted state; every transition is taken', () => {
    const { edges, states } = walkAndReplay({ machine: pingMachine, model: withoutActions(pingMachine), input, samples, start })
    expect(states).toBe(2)
    expect(edges).toBeGreaterThanOrEqual(7)
  })
})

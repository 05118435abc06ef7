/**
 * Model-based test of the pubsub chart (machines/pubsub/pubsub.machine.ts) with `xstate/graph`:
 * the walk covers running/closed, the heartbeat and every guarded branch of the commands and
 * peer inputs; each edge is replayed on a real pubsub actor (SimulatedClock), whose data makes
 * every guard decide the way the sample intends (see model-walk.ts). The per-topic actor has
 * its own model test (pubsub-topic.test.ts).
 */
import { describe, expect, it } from 'vitest'
import { createActor, SimulatedClock, type AnyMachineSnapshot, type InspectionEvent } from 'xstate'
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { base58 } from '@scure/base'
import { nobleSuite } from '../../machines/lib/crypto-noble.js'
import { bindRuntime } from '../../machines/lib/runtime.js'
import { pubsubMachine, pubsubProtocol, PUBSUB_ID } from '../../machines/pubsub/pubsub.machine.js'
import { signedBytes } from '../../machines/pubsub/wire.js'
import { walkAndReplay, withoutActions, type Ev, type Sample } from './model-walk.js'
import { createSignerIssuer } from '../../machines/lib/signer.js'

function keyOf(i: number): { peerId: string; publicKey: Uint8Array; secretKey: Uint8Array } {
  const secretKey = sha256(new TextEncoder().encode(`pubsub-model-${i}`))
  const publicKey = ed25519.getPublicKey(secretKey)
  return { peerId: base58.encode(sha256(publicKey)), publicKey, secretKey }
}

const me = keyOf(0)
const P = keyOf(1).peerId
const G = keyOf(2)
const HEARTBEAT = 1_000
// One invalid message makes a peer graylisted; at most two topics; small messages.
const protocol = pubsubProtocol({
  heartbeatInterval: HEARTBEAT,
  maxTopicsPerPeer: 2,
  maxMessageSize: 1024,
  score: { invalidWeight: -1000, gossipThreshold: -1, publishThreshold: -5, graylistThreshold: -10, disconnectThreshold: -20 },
})
const input = {
  peerId: me.peerId, protocol: PUBSUB_ID, seed: new Uint8Array(32), options: protocol.options, addresses: [],
  crypto: nobleSuite, publicKey: me.publicKey, signer: createSignerIssuer(nobleSuite, me.secretKey).issue(PUBSUB_ID),
}

/** A message of G's on `held` whose signature is broken. */
function forged(): unknown {
  const data = new Uint8Array([1])
  const { buffer, signedLength } = signedBytes(G.peerId, 1, 'held', data)
  const s = ed25519.sign(buffer.subarray(0, signedLength), G.secretKey)
  s[0] ^= 1
  return { f: G.peerId, k: G.publicKey, n: 1, t: 'held', d: data, s }
}

const connect = (peer: string): Ev => ({ type: 'peer.connected', peer, direction: 'outbound', address: '' })
const subscribe = (topic: string): Ev => ({ type: 'pubsub.subscribe', topic })
const publish = (topic: string, data: unknown): Ev => ({ type: 'pubsub.publish', topic, data })

const SAMPLES: Sample[] = [
  connect(P),
  { type: 'peer.disconnected', peer: P, reason: 'test', before: [connect(P)] },
  { type: 'message', peer: P, body: { sub: [{ t: 'held', on: true }] }, before: [connect(P)] },
  { type: 'messages', items: [{ peer: P, body: { sub: [{ t: 'held', on: true }] } }, { peer: G.peerId, body: {} }], before: [connect(P)] },
  {
    type: 'message', peer: G.peerId, body: {},
    before: [subscribe('held'), connect(G.peerId), { type: 'message', peer: G.peerId, body: { sub: [{ t: 'held', on: true }], msg: [forged()] } }],
  },
  subscribe(''),
  { ...subscribe('held'), before: [subscribe('held')] },
  { ...subscribe('new'), before: [subscribe('a'), subscribe('b')] },
  subscribe('new'),
  { type: 'pubsub.unsubscribe', topic: 'held', before: [subscribe('held')] },
  { type: 'pubsub.unsubscribe', topic: 'never' },
  publish('', new Uint8Array([1])),
  publish('t', 'not bytes'),
  publish('t', new Uint8Array(2048)),
  { ...publish('held', new Uint8Array([1])), before: [connect(P), { type: 'message', peer: P, body: { sub: [{ t: 'held', on: true }] } }] },
  { type: 'call.done', callId: 1, value: 'accept' },
  { type: 'swarm.closing' },
  { type: 'xstate.after.heartbeat.pubsub.running' },
]

function samples(snapshot: AnyMachineSnapshot): Sample[] {
  const types = new Set(snapshot._nodes.flatMap((node) => [...node.transitions.keys()]))
  return SAMPLES.filter((e) => types.has(e.type))
}

function start(inspect: (event: InspectionEvent) => void) {
  const clock = new SimulatedClock()
  const actor = createActor(pubsubMachine, { clock, inspect, input } as never)
  bindRuntime(actor, { sink: () => {}, now: () => clock.now() })
  actor.start()
  return {
    send(event: Ev): void {
      if (event.type.startsWith('xstate.after.')) clock.increment(HEARTBEAT)
      else actor.send(event as never)
    },
    snapshot: () => actor.getSnapshot() as AnyMachineSnapshot,
  }
}

describe('pubsub chart: model-based (xstate/graph)', () => {
  it('every edge replayed on a real actor reaches the predicted state; every transition is taken', () => {
    const { edges, states } = walkAndReplay({ machine: pubsubMachine, model: withoutActions(pubsubMachine), input, samples, start })
    expect(states).toBe(2)
    expect(edges).toBeGreaterThan(15)
  })
})

/**
 * The pubsub protocol machine alone: no swarm, a stub root actor (systemId 'swarm') that
 * records hang-up requests, a SimulatedClock driving the heartbeat, and real ed25519 keys.
 * Inputs are the protocol's FromSwarm events; outputs are the emitted effects and user events.
 */
import { describe, expect, it } from 'vitest'
import { createActor, createMachine, SimulatedClock, type AnyActorRef } from 'xstate'
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { base58 } from '@scure/base'
import { nobleSuite } from '../../machines/lib/crypto-noble.js'
import type { CryptoSuite } from '../../machines/lib/crypto.js'
import { bindRuntime } from '../../machines/lib/runtime.js'
import { pubsubProtocol, PUBSUB_ID, type PubsubProtocolOptions } from '../../machines/pubsub/pubsub.machine.js'
import type { PubsubContext } from '../../machines/pubsub/state.js'
import { computeScore } from '../../machines/pubsub/score.js'
import { idToHex, signedBytes, type Rpc, type WireMessage } from '../../machines/pubsub/wire.js'
import { createSignerIssuer, protocolSignedBytes } from '../../machines/lib/signer.js'

export interface Identity { peerId: string; publicKey: Uint8Array; secretKey: Uint8Array }

export function identity(i: number): Identity {
  const secretKey = sha256(new TextEncoder().encode(`pubsub-test-key-${i}`))
  const publicKey = ed25519.getPublicKey(secretKey)
  return { peerId: base58.encode(sha256(publicKey)), publicKey, secretKey }
}

/** A message authored by `author` (optionally with a broken signature). */
export function authored(author: Identity, topic: string, data: Uint8Array, n: number, forge = false): { msg: WireMessage; hex: string } {
  const { buffer, signedLength } = signedBytes(author.peerId, n, topic, data)
  const s = ed25519.sign(protocolSignedBytes(PUBSUB_ID, buffer.subarray(0, signedLength)), author.secretKey)
  if (forge) s[0] ^= 1
  buffer.set(s, signedLength)
  return { msg: { f: author.peerId, k: author.publicKey, n, t: topic, d: data, s }, hex: idToHex(sha256(buffer).slice(0, 20)) }
}

type Out = { type: string; [key: string]: any }

function countingSuite(): CryptoSuite & { verifies: number } {
  const suite = { ...nobleSuite, verifies: 0 }
  suite.ed25519Verify = (sig, msg, key) => { suite.verifies++; return nobleSuite.ed25519Verify(sig, msg, key) }
  return suite
}

function node(options: PubsubProtocolOptions = {}, me = identity(0)) {
  const clock = new SimulatedClock()
  const hangUps: Array<{ peer: string; reason: string }> = []
  const root = createActor(createMachine({
    on: { 'proto.hangUp': { actions: ({ event }) => { hangUps.push(event as never) } } },
  }), { systemId: 'swarm', clock })
  bindRuntime(root, { sink: () => {}, now: () => clock.now() })
  root.start()
  const crypto = countingSuite()
  const protocol = pubsubProtocol(options)
  const actor = createActor(protocol.machine, {
    parent: root as AnyActorRef,
    input: {
      peerId: me.peerId, protocol: PUBSUB_ID, seed: new Uint8Array(32).fill(7), options: protocol.options,
      addresses: [], crypto, publicKey: me.publicKey,
      signer: createSignerIssuer(nobleSuite, me.secretKey).issue(PUBSUB_ID),
    },
  } as never)
  const out: Out[] = []
  actor.on('*', (e: Out) => { out.push(e) })
  actor.start()
  const send = (e: Out): void => actor.send(e as never)
  const ctx = (): PubsubContext['s'] => (actor.getSnapshot().context as PubsubContext).s
  return {
    actor, clock, out, hangUps, crypto, protocol, ctx, send,
    connect(peer: string, direction: 'inbound' | 'outbound' = 'inbound') { send({ type: 'peer.connected', peer, direction, address: '' }) },
    rpc(peer: string, body: Rpc) {
      const parsed = protocol.parse!(body)
      expect(parsed).toBeDefined()
      send({ type: 'message', peer, body: parsed })
    },
    sends(peer?: string): Rpc[] {
      return out.filter((e) => e.type === 'effect.send' && (peer === undefined || e.peer === peer)).map((e) => e.body)
    },
    events(type: string): Out[] { return out.filter((e) => e.type === type) },
    tick(ms: number) { clock.increment(ms) },
    clear() { out.length = 0 },
    score(peer: string): number { return computeScore(ctx().peers.get(peer)!.stats, ctx().params.score, clock.now()) },
  }
}

const T = 'chat'
const bytes = (n: number, fill = 1): Uint8Array => new Uint8Array(n).fill(fill)
const peers = Array.from({ length: 40 }, (_, i) => identity(100 + i).peerId)

/** Connect `n` peers that subscribe to T. */
function connectSubscribed(n: ReturnType<typeof node>, count: number, from = 0, direction: 'inbound' | 'outbound' = 'inbound'): string[] {
  const list = peers.slice(from, from + count)
  for (const p of list) {
    n.connect(p, direction)
    n.rpc(p, { sub: [{ t: T, on: true }] })
  }
  return list
}

describe('pubsub: subscriptions and mesh', () => {
  it('announces its subscriptions to a new peer', () => {
    const n = node()
    n.send({ type: 'pubsub.subscribe', topic: T })
    expect(n.events('pubsub.subscribed')).toEqual([{ type: 'pubsub.subscribed', topic: T }])
    n.connect(peers[0])
    expect(n.sends(peers[0])).toEqual([{ sub: [{ t: T, on: true }] }])
  })

  it('grafts subscribed peers when subscribing, and reports remote subscriptions', () => {
    const n = node()
    connectSubscribed(n, 3)
    expect(n.events('pubsub.peer.subscribed')).toHaveLength(3)
    n.clear()
    n.send({ type: 'pubsub.subscribe', topic: T })
    for (const p of peers.slice(0, 3)) {
      expect(n.sends(p)).toEqual([{ sub: [{ t: T, on: true }], ctl: { graft: [T] } }])
    }
    expect(n.ctx().topics.get(T)!.mesh.size).toBe(3)
  })

  it('keeps the mesh within [D_lo, D_hi] across heartbeats with many peers', () => {
    const n = node()
    n.send({ type: 'pubsub.subscribe', topic: T })
    connectSubscribed(n, 20, 0, 'outbound')
    connectSubscribed(n, 10, 20, 'inbound')
    const sizes: number[] = []
    for (let i = 0; i < 5; i++) { n.tick(1000); sizes.push(n.ctx().topics.get(T)!.mesh.size) }
    // Inbound GRAFTs beyond D_hi are refused with PRUNE; outbound ones are taken, over D_hi
    // until the next heartbeat cuts the mesh back to D (keeping D_out outbound peers).
    for (const p of peers.slice(0, 30)) n.rpc(p, { ctl: { graft: [T] } })
    const mesh = n.ctx().topics.get(T)!.mesh
    expect(mesh.size).toBeGreaterThan(12)
    for (const p of peers.slice(20, 30)) if (!mesh.has(p)) expect(n.sends(p).at(-1)).toEqual({ ctl: { prune: [{ t: T, b: 60 }] } })
    n.tick(1000)
    sizes.push(n.ctx().topics.get(T)!.mesh.size)
    for (const size of sizes) { expect(size).toBeGreaterThanOrEqual(4); expect(size).toBeLessThanOrEqual(12) }
    expect(sizes.at(-1)).toBe(6)
    // Mesh peers dropping out: the pruned ones are in backoff, so the mesh is low until new
    // peers come; new subscribers are grafted at once while the mesh is below D_lo.
    for (const p of [...n.ctx().topics.get(T)!.mesh].slice(0, 4)) n.send({ type: 'peer.disconnected', peer: p, reason: 'x' })
    n.tick(1000)
    expect(n.ctx().topics.get(T)!.mesh.size).toBe(2)
    expect(n.ctx().topics.get(T)!.phase).toBe('meshLow')
    connectSubscribed(n, 4, 30)
    expect(n.ctx().topics.get(T)!.mesh.size).toBe(4)
    n.tick(1000)
    expect(n.ctx().topics.get(T)!.mesh.size).toBe(4)
    expect(n.ctx().topics.get(T)!.phase).toBe('meshHealthy')
  })

  it('refuses a GRAFT during backoff with PRUNE and a behaviour penalty', () => {
    const n = node()
    n.send({ type: 'pubsub.subscribe', topic: T })
    const [p] = connectSubscribed(n, 1)
    n.rpc(p, { ctl: { prune: [{ t: T, b: 60 }] } })
    n.clear()
    n.rpc(p, { ctl: { graft: [T] } })
    expect(n.sends(p)).toEqual([{ ctl: { prune: [{ t: T, b: 60 }] } }])
    expect(n.score(p)).toBeLessThan(0)
  })
})

describe('pubsub: scoring', () => {
  it('P3: a mesh peer that delivers too little is penalized after activation, pruned, and keeps P3b', () => {
    const n = node({ score: { meshDeliveriesWeight: -1, meshDeliveriesThreshold: 2, meshDeliveriesActivation: 2_000, meshFailureWeight: -1, timeInMeshWeight: 0 } })
    n.send({ type: 'pubsub.subscribe', topic: T })
    const [lazy, busy] = connectSubscribed(n, 2)
    n.tick(1000)
    expect(n.ctx().topics.get(T)!.mesh.size).toBe(2)
    for (let i = 1; i <= 6; i++) {
      n.rpc(busy, { msg: [authored(identity(9), T, bytes(3), i).msg] })
      if (i % 2 === 0) n.tick(1000)
    }
    // lazy: active in the mesh for >= 2 s with 0 deliveries: (2 - 0)^2 * -1 = -4 => pruned.
    expect(n.ctx().topics.get(T)!.mesh.has(busy)).toBe(true)
    expect(n.ctx().topics.get(T)!.mesh.has(lazy)).toBe(false)
    expect(n.score(busy)).toBeGreaterThan(0)
    expect(n.score(lazy)).toBeLessThan(0)
    expect(n.sends(lazy).some((r) => r.ctl?.prune)).toBe(true)
  })
})

describe('pubsub: opportunistic grafting', () => {
  it('grafts peers scoring above a poor mesh median every opportunisticGraftTicks', () => {
    const n = node({ opportunisticGraftTicks: 3 })
    const mesh = connectSubscribed(n, 6)
    n.send({ type: 'pubsub.subscribe', topic: T })
    expect(n.ctx().topics.get(T)!.mesh.size).toBe(6)
    const extra = connectSubscribed(n, 2, 6)
    let seq = 0
    for (const p of extra) for (let i = 0; i < 3; i++) n.rpc(p, { msg: [authored(identity(9), T, bytes(3), ++seq).msg] })
    n.tick(1000); n.tick(1000)
    expect(n.ctx().topics.get(T)!.mesh.size).toBe(6)
    n.tick(1000)
    const after = n.ctx().topics.get(T)!.mesh
    expect(after.size).toBe(8)
    for (const p of [...mesh, ...extra]) expect(after.has(p)).toBe(true)
  })
})

describe('pubsub: messages', () => {
  it('delivers and forwards a valid message once; a duplicate is neither delivered nor verified', () => {
    const n = node()
    n.send({ type: 'pubsub.subscribe', topic: T })
    const [a, b, c] = connectSubscribed(n, 3)
    n.tick(1000)
    const author = identity(7)
    const { msg, hex } = authored(author, T, bytes(10), 1)
    n.clear()
    n.rpc(a, { msg: [msg] })
    expect(n.crypto.verifies).toBe(1)
    expect(n.events('pubsub.message')).toEqual([{ type: 'pubsub.message', topic: T, data: msg.d, from: author.peerId, id: hex }])
    expect(n.sends(a)).toEqual([])
    expect(n.sends(b)).toEqual([{ msg: [msg] }])
    expect(n.sends(c)).toEqual([{ msg: [msg] }])
    n.rpc(b, { msg: [msg] })
    n.rpc(c, { msg: [msg] })
    expect(n.crypto.verifies).toBe(1)
    expect(n.events('pubsub.message')).toHaveLength(1)
  })

  it('drops an invalid signature, penalizes the sender, graylists it and asks for a hang-up', () => {
    const n = node()
    n.send({ type: 'pubsub.subscribe', topic: T })
    const [bad, good] = connectSubscribed(n, 2)
    const author = identity(8)
    for (let i = 1; i <= 3; i++) n.rpc(bad, { msg: [authored(author, T, bytes(5), i, true).msg] })
    expect(n.events('pubsub.message')).toHaveLength(0)
    expect(n.sends(good).some((r) => r.msg)).toBe(false)
    expect(n.score(bad)).toBeLessThan(-80)
    // Graylisted: its RPCs are ignored entirely (even a valid message).
    n.rpc(bad, { msg: [authored(author, T, bytes(5), 99).msg] })
    expect(n.events('pubsub.message')).toHaveLength(0)
    expect(n.hangUps).toEqual([])
    // A fourth invalid message from another angle: an honest-looking forged author.
    n.ctx().peers.get(bad)!.stats.topics.get(T)!.invalid += 1
    n.tick(1000)
    expect(n.hangUps).toEqual([{ type: 'proto.hangUp', peer: bad, reason: 'pubsub-low-score' }])
    // The honest copy of the content still gets through from a good peer.
    n.rpc(good, { msg: [authored(author, T, bytes(5), 1).msg] })
    expect(n.events('pubsub.message')).toHaveLength(1)
  })

  it('rejects a message whose author id does not match its key', () => {
    const n = node()
    n.send({ type: 'pubsub.subscribe', topic: T })
    const [a] = connectSubscribed(n, 1)
    const { msg } = authored(identity(9), T, bytes(3), 1)
    n.rpc(a, { msg: [{ ...msg, f: identity(10).peerId }] })
    expect(n.events('pubsub.message')).toHaveLength(0)
    expect(n.score(a)).toBeLessThan(0)
    expect(n.crypto.verifies).toBe(0)
  })

  it('ignores messages of topics it is not subscribed to', () => {
    const n = node()
    const [a] = connectSubscribed(n, 1)
    n.rpc(a, { msg: [authored(identity(9), T, bytes(3), 1).msg] })
    expect(n.events('pubsub.message')).toHaveLength(0)
    expect(n.crypto.verifies).toBe(0)
  })

  it('asks the validator through effect.call and acts on call.done', () => {
    const n = node({ validate: () => 'accept' })
    n.send({ type: 'pubsub.subscribe', topic: T })
    const [a, b] = connectSubscribed(n, 2)
    n.tick(1000)
    const { msg } = authored(identity(9), T, bytes(3), 1)
    n.clear()
    n.rpc(a, { msg: [msg] })
    const [call] = n.events('effect.call')
    expect(call).toMatchObject({ protocol: PUBSUB_ID, fn: 'validate', args: { topic: T, data: msg.d, from: msg.f } })
    expect(n.events('pubsub.message')).toHaveLength(0)
    expect(n.sends(b)).toEqual([])
    n.send({ type: 'call.done', callId: call.callId, value: 'accept' })
    expect(n.events('pubsub.message')).toHaveLength(1)
    expect(n.sends(b)).toEqual([{ msg: [msg] }])
    // Rejected: not delivered, every sender penalized.
    const second = authored(identity(9), T, bytes(3), 2).msg
    n.rpc(a, { msg: [second] })
    n.rpc(b, { msg: [second] })
    const call2 = n.events('effect.call')[1]
    n.send({ type: 'call.done', callId: call2.callId, value: 'reject' })
    expect(n.events('pubsub.message')).toHaveLength(1)
    expect(n.score(a)).toBeLessThan(0)
    expect(n.score(b)).toBeLessThan(0)
  })

  it('bounds pending validations (excess dropped without penalty)', () => {
    const n = node({ validate: () => 'accept', maxPendingValidations: 2 })
    n.send({ type: 'pubsub.subscribe', topic: T })
    const [a] = connectSubscribed(n, 1)
    for (let i = 1; i <= 4; i++) n.rpc(a, { msg: [authored(identity(9), T, bytes(3), i).msg] })
    expect(n.events('effect.call')).toHaveLength(2)
    expect(n.score(a)).toBe(0)
  })

  it('sends IDONTWANT for a large message and respects IDONTWANT, batching parts per peer', () => {
    const n = node()
    n.send({ type: 'pubsub.subscribe', topic: T })
    const [a, b, c] = connectSubscribed(n, 3)
    n.tick(1000)
    const big = authored(identity(9), T, bytes(2048), 1)
    const id = Uint8Array.from(big.hex.match(/../g)!.map((h) => parseInt(h, 16)))
    n.rpc(c, { ctl: { idw: [id] } })
    n.clear()
    n.rpc(a, { msg: [big.msg] })
    expect(n.sends(b)).toEqual([{ msg: [big.msg], ctl: { idw: [id] } }])
    expect(n.sends(c)).toEqual([{ ctl: { idw: [id] } }])
    expect(n.sends(a)).toEqual([])
  })
})

describe('pubsub: gossip', () => {
  it('answers IHAVE with IWANT and penalizes a broken promise', () => {
    const n = node()
    n.send({ type: 'pubsub.subscribe', topic: T })
    const [a] = connectSubscribed(n, 1)
    const { hex } = authored(identity(9), T, bytes(3), 1)
    const id = Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)))
    n.clear()
    n.rpc(a, { ctl: { ihave: [{ t: T, ids: [id] }] } })
    expect(n.sends(a)).toEqual([{ ctl: { iwant: [id] } }])
    n.tick(1000); n.tick(1000)
    expect(n.score(a)).toBeGreaterThanOrEqual(0)
    n.tick(1000)
    expect(n.score(a)).toBeLessThan(0)
  })

  it('a kept promise is no penalty; IHAVE is sent to non-mesh peers; IWANT is served up to gossipRetransmission', () => {
    const n = node({ D: 1, Dlo: 1, Dscore: 1, Dout: 0, Dhi: 2 })
    n.send({ type: 'pubsub.subscribe', topic: T })
    const list = connectSubscribed(n, 3)
    n.tick(1000)
    const [meshPeer] = [...n.ctx().topics.get(T)!.mesh]
    const others = list.filter((p) => p !== meshPeer)
    const { msg, hex } = authored(identity(9), T, bytes(3), 1)
    const id = Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)))
    n.rpc(others[0], { ctl: { ihave: [{ t: T, ids: [id] }] } })
    n.rpc(others[0], { msg: [msg] })
    n.clear()
    n.tick(1000)
    expect(n.sends(others[1])).toEqual([{ ctl: { ihave: [{ t: T, ids: [id] }] } }])
    for (let i = 0; i < 3; i++) n.tick(1000)
    expect(n.score(others[0])).toBeGreaterThanOrEqual(0)
    n.clear()
    for (let i = 0; i < 5; i++) n.rpc(others[1], { ctl: { iwant: [id] } })
    expect(n.sends(others[1])).toEqual([{ msg: [msg] }, { msg: [msg] }, { msg: [msg] }])
  })

  it('bounds IWANT spam per heartbeat and IHAVE floods', () => {
    const n = node({ maxIwantServedPerHeartbeat: 5, maxIhaveMessages: 2 })
    n.send({ type: 'pubsub.subscribe', topic: T })
    const [a] = connectSubscribed(n, 1)
    const ids: Uint8Array[] = []
    for (let i = 0; i < 10; i++) n.send({ type: 'pubsub.publish', topic: T, data: bytes(4, i) })
    for (const e of n.events('pubsub.published')) ids.push(Uint8Array.from(e.id.match(/../g).map((h: string) => parseInt(h, 16))))
    n.clear()
    n.rpc(a, { ctl: { iwant: ids } })
    n.rpc(a, { ctl: { iwant: ids } })
    expect(n.sends(a).flatMap((r) => r.msg ?? [])).toHaveLength(5)
    n.clear()
    const unknown = (i: number): Uint8Array => new Uint8Array(20).fill(i)
    for (let i = 0; i < 5; i++) n.rpc(a, { ctl: { ihave: [{ t: T, ids: [unknown(i)] }] } })
    expect(n.sends(a).flatMap((r) => r.ctl?.iwant ?? [])).toHaveLength(2)
  })
})

describe('pubsub: publishing', () => {
  it('fails with no-peers when nobody is subscribed, and too-large over the limit', () => {
    const n = node({ maxMessageSize: 100 })
    n.send({ type: 'pubsub.publish', topic: T, data: bytes(3), publishId: 1 })
    expect(n.events('pubsub.publish.failed')).toEqual([expect.objectContaining({ topic: T, reason: 'no-peers', publishId: 1 })])
    n.send({ type: 'pubsub.publish', topic: T, data: bytes(101), publishId: 2 })
    expect(n.events('pubsub.publish.failed')[1]).toEqual({ type: 'pubsub.publish.failed', topic: T, reason: 'too-large', publishId: 2 })
  })

  it('flood-publishes to every subscribed peer and keeps a fanout that expires after its TTL', () => {
    const n = node({ fanoutTtl: 5_000 })
    const list = connectSubscribed(n, 8)
    n.send({ type: 'pubsub.publish', topic: T, data: bytes(3), publishId: 9 })
    const [published] = n.events('pubsub.published')
    expect(published).toMatchObject({ topic: T, peers: 8, publishId: 9 })
    for (const p of list) expect(n.sends(p).at(-1)!.msg![0].d).toEqual(bytes(3))
    const t = n.ctx().topics.get(T)!
    expect(t.phase).toBe('fanout')
    expect(t.fanout.size).toBe(6)
    for (let i = 0; i < 4; i++) n.tick(1000)
    expect(n.ctx().topics.get(T)!.phase).toBe('fanout')
    n.tick(1000)
    expect(n.ctx().topics.has(T)).toBe(false)
  })

  it('refuses to publish once the swarm is closing', () => {
    const n = node()
    n.send({ type: 'swarm.closing' })
    n.send({ type: 'pubsub.publish', topic: T, data: bytes(1) })
    expect(n.events('pubsub.publish.failed')).toEqual([{ type: 'pubsub.publish.failed', topic: T, reason: 'closed' }])
  })
})

/**
 * Attacks on the built-in pubsub (`/xswarm/pubsub/1`) by an authenticated raw peer against a
 * live node: RPCs of the wrong shape or over a per-RPC bound (`invalid-message`), forged
 * messages (an author id that is not the hash of the key, a bad signature, another peer's id),
 * replays, and a subscription flood over many RPCs. A message the attacker signs correctly is
 * the control case: it is delivered exactly once, so the refusals are not an artefact of a
 * broken attacker. The honest peer keeps pinging throughout.
 * @module
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { signedBytes } from '../../machines/pubsub/wire.js'
import { nativeSuite } from '../../src/crypto/native.js'
import {
  RawPeer, Target, useFaultRecorder, rawIdentity, settledHeapMiB, sleep, type RawIdentity,
} from '../helpers/raw-peer.js'
import { protocolSignedBytes } from '../../machines/lib/signer.js'

const PUBSUB = '/xswarm/pubsub/1'
const TOPIC = 'news'
useFaultRecorder(() => target)
let target: Target
let seq = 0

beforeAll(async () => {
  target = await Target.start({})
  target.node.swarm.subscribe(TOPIC)
  await target.node.waitFor((e) => e.type === 'pubsub.subscribed', 3000, 0, 'pubsub.subscribed')
})

/** An authenticated attacker subscribed to TOPIC. */
async function subscriber(): Promise<{ peer: RawPeer; identity: RawIdentity }> {
  const peer = await RawPeer.connect(target.address)
  const identity = rawIdentity()
  const since = performance.now()
  await peer.handshake({ identity })
  await target.node.waitFor((e) => e.type === 'peer.connected' && (e as { peer: string }).peer === identity.peerId, 3000, since)
  peer.discard = true
  peer.sendFrame(PUBSUB, { sub: [{ t: TOPIC, on: true }] })
  return { peer, identity }
}

/** A message signed by `signer` (defaults: author = signer, correct signature). */
function message(signer: RawIdentity, data: Uint8Array, over: Partial<{ f: string; k: Uint8Array; s: Uint8Array }> = {}) {
  const f = over.f ?? signer.peerId
  const n = ++seq
  const { buffer, signedLength } = signedBytes(f, n, TOPIC, data)
  const s = over.s ?? nativeSuite.ed25519Sign(signer.secretKey, protocolSignedBytes(PUBSUB, buffer.subarray(0, signedLength)))
  return { f, k: over.k ?? signer.identityKey, n, t: TOPIC, d: data, s }
}

const text = (s: string) => new TextEncoder().encode(s)
const delivered = (data: Uint8Array) => target.node.count((e) => e.type === 'pubsub.message' &&
  Buffer.from((e as { data: Uint8Array }).data).equals(Buffer.from(data)))

describe('pubsub under attack', () => {
  it('a message the attacker signs correctly is delivered exactly once, replays included (control case)', async () => {
    const { peer, identity } = await subscriber()
    const data = text(`hello ${Math.random()}`)
    const m = message(identity, data)
    peer.sendFrame(PUBSUB, { msg: [m] })
    const e = await target.node.waitFor((x) => x.type === 'pubsub.message' && (x as { from: string }).from === identity.peerId, 3000)
    expect((e as { topic: string }).topic).toBe(TOPIC)
    for (let i = 0; i < 5; i++) peer.sendFrame(PUBSUB, { msg: [m] }) // replays
    // A new message after the replays: once it is delivered, the replays were handled before it.
    const marker = text(`marker ${Math.random()}`)
    peer.sendFrame(PUBSUB, { msg: [message(identity, marker)] })
    await target.node.waitFor((x) => x.type === 'pubsub.message' && Buffer.from((x as { data: Uint8Array }).data).equals(Buffer.from(marker)), 3000)
    expect(delivered(data)).toBe(1)
    peer.terminate()
    await target.assertHonestAlive()
  })

  it('forged messages are never delivered: author id not the hash of the key, bad signature, another peer\'s id', async () => {
    const honestId = target.honest.swarm.peerId
    const other = rawIdentity()
    const forgeries: Array<[string, (identity: RawIdentity, data: Uint8Array) => ReturnType<typeof message>]> = [
      ['forged-author', (identity, data) => message(identity, data, { f: other.peerId })],
      ['bad-signature', (identity, data) => {
        const bad = message(identity, data)
        bad.s = bad.s.slice()
        bad.s[10] ^= 1
        return bad
      }],
      ['impersonation', (identity, data) => message(identity, data, { f: honestId })],
    ]
    // One attacker per forgery (each costs its sender a penalty; three from one peer would
    // graylist it), each followed by a correct message on the same connection: once that one is
    // delivered, the forged one was handled before it.
    for (const [kind, forge] of forgeries) {
      const { peer, identity } = await subscriber()
      const data = text(`${kind} ${Math.random()}`)
      peer.sendFrame(PUBSUB, { msg: [forge(identity, data)] })
      const marker = text(`marker ${Math.random()}`)
      peer.sendFrame(PUBSUB, { msg: [message(identity, marker)] })
      await target.node.waitFor((x) => x.type === 'pubsub.message' && Buffer.from((x as { data: Uint8Array }).data).equals(Buffer.from(marker)), 3000)
      expect(delivered(data), kind).toBe(0)
      peer.terminate()
    }
    await target.assertHonestAlive()
  })

  it('RPCs of the wrong shape or over a per-RPC bound: invalid-message', async () => {
    const cases: unknown[] = [
      { sub: [{ t: TOPIC, on: true }], evil: 1 },
      { sub: Array.from({ length: 257 }, (_, i) => ({ t: `t${i}`, on: true })) },
      { msg: [{ f: 'x', k: new Uint8Array(31), n: 1, t: TOPIC, d: new Uint8Array(1), s: new Uint8Array(64) }] },
      { ctl: { iwant: [new Uint8Array(19)] } },
      { sub: [{ t: '', on: true }] },
      'not an object',
    ]
    for (const body of cases) {
      const { peer, identity } = await subscriber()
      peer.discard = false
      peer.sendFrame(PUBSUB, body)
      expect((await peer.waitClosed(3000)).readable).toBe('invalid-message')
      expect(await target.disconnectReason(identity.peerId)).toBe('invalid-message')
    }
    await target.assertHonestAlive()
  })

  it('topics named like Object.prototype members are plain strings (no crash, no pollution)', async () => {
    const { peer, identity } = await subscriber()
    const names = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf']
    peer.sendFrame(PUBSUB, { sub: names.map((t) => ({ t, on: true })) })
    for (const t of names) {
      const { buffer, signedLength } = signedBytes(identity.peerId, ++seq, t, text(t))
      const s = nativeSuite.ed25519Sign(identity.secretKey, protocolSignedBytes(PUBSUB, buffer.subarray(0, signedLength)))
      peer.sendFrame(PUBSUB, { msg: [{ f: identity.peerId, k: identity.identityKey, n: seq, t, d: text(t), s }] })
    }
    target.node.swarm.subscribe('constructor')
    await sleep(300)
    expect(({} as Record<string, unknown>).on).toBeUndefined()
    expect(target.node.swarm.isConnected(identity.peerId)).toBe(true)
    target.node.swarm.unsubscribe('constructor')
    peer.terminate()
    await target.assertHonestAlive()
  })

  it('2,000 subscriptions over 8 RPCs: the node stays healthy and the memory returns', async () => {
    const heapBefore = await settledHeapMiB()
    const { peer, identity } = await subscriber()
    for (let r = 0; r < 8; r++) {
      peer.sendFrame(PUBSUB, { sub: Array.from({ length: 250 }, (_, i) => ({ t: `flood-${r}-${i}`, on: true })) })
    }
    await sleep(300)
    await target.assertHonestAlive()
    peer.terminate()
    await target.disconnectReason(identity.peerId)
    const heapAfter = await settledHeapMiB()
    console.log(`pubsub subscription flood: heap ${heapBefore.toFixed(1)} MiB before, ${heapAfter.toFixed(1)} MiB after`)
    expect(heapAfter).toBeLessThan(heapBefore * 1.5 + 16)
  })
})

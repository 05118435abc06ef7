/**
 * Attacks by a peer that completed a correct Noise handshake (so it holds valid session keys)
 * against a live node over real WebSockets: frames that fail to decrypt, tampered and replayed
 * ciphertexts, unknown protocols, hostile msgpack (deep nesting, huge declared counts,
 * extensions, `__proto__`), oversized frames, messages a protocol's `parse` refuses, handshake
 * and control frames out of place, and floods above the per-connection rate limits. Each must
 * end the attacker's connection with the documented reason (seen by the attacker as the close
 * reason and by the node as `peer.disconnected.reason`), except unknown protocols, which are
 * ignored while the connection stays usable; an honest peer keeps pinging the node throughout.
 * @module
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { HANDSHAKE_PROTOCOL } from '../../machines/handshake.machine.js'
import { encryptWithAd } from '../../machines/secure/cipher-state.js'
import { encodeFrame } from '../../src/codec/frame.js'
import { nativeSuite } from '../../src/crypto/native.js'
import {
  RawPeer, Target, concatBytes, useFaultRecorder, mpStr, rawFrame, rawIdentity, settledHeapMiB,
} from '../helpers/raw-peer.js'

useFaultRecorder(() => target)
const MAX_FRAME = 64 * 1024
let target: Target
let heapBefore = 0

beforeAll(async () => {
  target = await Target.start({
    limits: { maxFrameBytes: MAX_FRAME, maxFramesPerSecond: 200, maxBytesPerSecond: 256 * 1024 },
  })
  heapBefore = await settledHeapMiB()
})


/** A raw peer with a session, accepted by the node as a connected peer. */
async function attacker(): Promise<{ peer: RawPeer; id: string }> {
  const peer = await RawPeer.connect(target.address)
  const identity = rawIdentity()
  const since = performance.now()
  await peer.handshake({ identity })
  await target.node.waitFor((e) => e.type === 'peer.connected' && (e as { peer: string }).peer === identity.peerId, 3000, since, 'the attacker to be accepted')
  return { peer, id: identity.peerId }
}

/** Both ends agree on why the attacker was dropped; the honest peer is unaffected. */
async function expectDropped(peer: RawPeer, id: string, reason: string): Promise<void> {
  expect((await peer.waitClosed(4000)).readable).toBe(reason)
  expect(await target.disconnectReason(id)).toBe(reason)
  expect(target.node.swarm.isConnected(id)).toBe(false)
  await target.assertHonestAlive()
}

const PING = '/xswarm/ping/1'
const isPong = (seq: number) => (f: { protocol: string; body: unknown }) =>
  f.protocol === PING && Array.isArray(f.body) && f.body[0] === 1 && f.body[1] === seq

describe('after a correct handshake', () => {
  it('frames pipelined right behind message 3 are all served (the handshaking quota pauses, then resumes)', async () => {
    const peer = await RawPeer.connect(target.address)
    await peer.handshake()
    for (let i = 0; i < 20; i++) peer.sendFrame(PING, [0, 500 + i]) // before the node has even read message 3
    const seen = new Set<number>()
    while (seen.size < 20) {
      const f = await peer.nextFrame(3000)
      if (f.protocol === PING && Array.isArray(f.body) && f.body[0] === 1) seen.add(f.body[1] as number)
    }
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => 500 + i))
    peer.terminate()
    await target.assertHonestAlive()
  })

  it('a frame that fails to decrypt: decrypt-failed', async () => {
    const { peer, id } = await attacker()
    peer.sendRaw(crypto.getRandomValues(new Uint8Array(64)))
    await expectDropped(peer, id, 'decrypt-failed')
  })

  it('a valid ciphertext with one bit flipped: decrypt-failed', async () => {
    const { peer, id } = await attacker()
    const frame = encodeFrame(PING, [0, 1])
    const sealed = new Uint8Array(frame.length + 16)
    // Encrypt by hand with a copy of the cipher state, so the real one stays in step with the node.
    sealed.set(encryptWithAd(nativeSuite, { ...peer.send! }, new Uint8Array(0), frame)!)
    sealed[5] ^= 0x10
    peer.sendRaw(sealed)
    await expectDropped(peer, id, 'decrypt-failed')
  })

  it('a replayed ciphertext (nonce already used): decrypt-failed', async () => {
    const { peer, id } = await attacker()
    const sent: Uint8Array[] = []
    const original = peer.sendRaw.bind(peer)
    peer.sendRaw = (bytes) => { sent.push(bytes); original(bytes) }
    peer.sendFrame(PING, [0, 5])
    await peer.expectFrame(isPong(5))
    original(sent[0])
    await expectDropped(peer, id, 'decrypt-failed')
  })

  it('frames for unknown protocols are ignored and the connection stays usable', async () => {
    const { peer, id } = await attacker()
    for (let i = 0; i < 20; i++) peer.sendFrame(`/evil/unknown-${i}/1`, { junk: new Uint8Array(100), i })
    peer.sendFrame(PING, [0, 77])
    await peer.expectFrame(isPong(77))
    expect(peer.isOpen).toBe(true)
    expect(target.node.swarm.isConnected(id)).toBe(true)
    await target.assertHonestAlive()
    peer.terminate()
    expect(await target.disconnectReason(id)).toBe('connection-lost')
  })

  it('deeply nested msgpack (refused by the scan, before msgpackr recurses): frame-too-complex', async () => {
    const { peer, id } = await attacker()
    const nested = concatBytes(new Uint8Array(5000).fill(0x91), Uint8Array.of(0xc0)) // [[[[...nil]]]]
    peer.sendPlaintext(rawFrame('/evil/nest/1', nested))
    await expectDropped(peer, id, 'frame-too-complex')
  })

  it('a container declaring 200,000 elements in 5 bytes: frame-too-complex, nothing allocated', async () => {
    const { peer, id } = await attacker()
    peer.sendPlaintext(rawFrame('/evil/wide/1', Uint8Array.of(0xdd, 0x00, 0x03, 0x0d, 0x40)))
    await expectDropped(peer, id, 'frame-too-complex')
  })

  it('a msgpack extension (fixext 1): frame-extension', async () => {
    const { peer, id } = await attacker()
    peer.sendPlaintext(rawFrame(PING, Uint8Array.of(0x92, 0xd4, 0x01, 0x00, 0x01)))
    await expectDropped(peer, id, 'frame-extension')
  })

  it("msgpackr's record extension and a timestamp: frame-extension", async () => {
    for (const ext of [Uint8Array.of(0xd4, 0x72, 0x40), Uint8Array.of(0xd6, 0xff, 0, 0, 0, 1)]) {
      const { peer, id } = await attacker()
      peer.sendPlaintext(rawFrame('/evil/ext/1', ext))
      await expectDropped(peer, id, 'frame-extension')
    }
  })

  it('__proto__ and constructor keys: frame-forbidden-key', async () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const { peer, id } = await attacker()
      const map = concatBytes(Uint8Array.of(0x81), mpStr('ok'), Uint8Array.of(0x81), mpStr(key), Uint8Array.of(0x81), mpStr('x'), Uint8Array.of(1))
      peer.sendPlaintext(rawFrame('/evil/proto/1', map))
      await expectDropped(peer, id, 'frame-forbidden-key')
    }
    expect(({} as Record<string, unknown>).x).toBeUndefined()
  })

  it('a frame one byte over maxFrameBytes: refused by its length (frame-too-large), a frame at the limit passes', async () => {
    const { peer, id } = await attacker()
    // At the limit (ciphertext = maxFrameBytes): an unknown protocol, ignored.
    const atLimit = MAX_FRAME - 32 // frame = 0x92 + fixstr(12) + bin16 header(3) + body; + 16 tag
    peer.sendFrame('/evil/big/1', new Uint8Array(atLimit))
    peer.sendFrame(PING, [0, 9])
    await peer.expectFrame(isPong(9))
    peer.sendFrame('/evil/big/1', new Uint8Array(MAX_FRAME))
    const info = await peer.waitClosed(4000)
    expect(info.code).toBe(1009)
    expect(info.readable).toBe('frame-too-large')
    expect(await target.disconnectReason(id)).toBe('frame-too-large')
    await target.assertHonestAlive()
  })

  it("a message the protocol's parse refuses: invalid-message", async () => {
    const { peer, id } = await attacker()
    peer.sendFrame(PING, [2, 'not a ping'])
    await expectDropped(peer, id, 'invalid-message')
  })

  it('an encrypted handshake frame after the handshake: protocol-violation', async () => {
    const { peer, id } = await attacker()
    peer.sendFrame(HANDSHAKE_PROTOCOL, new Uint8Array(33))
    await expectDropped(peer, id, 'protocol-violation')
  })

  it('a malformed control frame: protocol-violation', async () => {
    const { peer, id } = await attacker()
    peer.sendFrame('/xswarm/conn/1', ['junk'])
    await expectDropped(peer, id, 'protocol-violation')
  })

  it('a flood above maxFramesPerSecond (200): rate-limit', async () => {
    const { peer, id } = await attacker()
    for (let i = 0; i < 600; i++) peer.sendFrame(PING, [0, 1000 + i])
    await expectDropped(peer, id, 'rate-limit')
  })

  it('a flood above maxBytesPerSecond (256 KiB): rate-limit', async () => {
    const { peer, id } = await attacker()
    for (let i = 0; i < 12; i++) peer.sendFrame('/evil/bulk/1', new Uint8Array(60_000))
    await expectDropped(peer, id, 'rate-limit')
  })

  it('memory returns near where it was once every attacker is gone', async () => {
    const after = await settledHeapMiB()
    console.log(`post-handshake attacks: heap ${heapBefore.toFixed(1)} MiB before, ${after.toFixed(1)} MiB after`)
    expect(after).toBeLessThan(heapBefore * 1.5 + 16)
    expect(target.node.swarm.peers()).toEqual([target.honest.swarm.peerId])
    await target.assertHonestAlive()
  })
})

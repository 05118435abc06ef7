/**
 * Cryptographic edge cases a hostile peer controls, against live nodes running each crypto
 * suite (native = node:crypto, noble = pure JS): low-order X25519 keys (ephemeral in message 1,
 * static in message 3), small-order Ed25519 identity keys with signatures that satisfy the
 * verification equation (a "universal forgery" for such keys, refused by strict verification),
 * and hostile strings (invalid UTF-8, over-long protocol ids). Each must end with its handshake
 * or codec reason while the honest peer keeps pinging.
 * @module
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha512 } from '@noble/hashes/sha2.js'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { HANDSHAKE_PROTOCOL, identityBindingMessage } from '../../machines/handshake.machine.js'
import { peerIdFromPublicKey } from '../../machines/lib/peer-id.js'
import { encodeFrame } from '../../src/codec/frame.js'
import { nativeSuite } from '../../src/crypto/native.js'
import {
  RawPeer, Target, useFaultRecorder, rawFrame, rawIdentity, type RawIdentity,
} from '../helpers/raw-peer.js'

useFaultRecorder()

const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)))
/** Ed25519 identity point (order 1) and a point of order 8. */
const IDENTITY_POINT = hex('0100000000000000000000000000000000000000000000000000000000000000')
const ORDER8_POINT = hex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a')
const L = 2n ** 252n + 27742317777372353535851937790883648493n

function leToBigInt(bytes: Uint8Array): bigint {
  let n = 0n
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i])
  return n
}

/**
 * An identity whose ed25519 key is the small-order point `A`, with the signature R = identity,
 * S = 0 over its binding message: it satisfies [S]B = R + [k]A whenever [k]A is the identity,
 * i.e. k ≡ 0 mod ord(A). Searches static keys until that holds.
 */
function smallOrderIdentity(A: Uint8Array, order: bigint): RawIdentity {
  for (let i = 0; i < 10_000; i++) {
    const base = rawIdentity()
    const message = identityBindingMessage(base.staticKey.publicKey)
    const k = leToBigInt(sha512(new Uint8Array([...IDENTITY_POINT, ...A, ...message]))) % L
    if (k % order !== 0n) continue
    const signature = new Uint8Array(64)
    signature.set(IDENTITY_POINT, 0)
    return { ...base, identityKey: A, signature, peerId: peerIdFromPublicKey(nativeSuite.sha256, A) }
  }
  throw new Error('no static key found')
}

describe.each(['native', 'noble'] as const)('a node on the %s suite', (suiteName) => {
  let target: Target
  beforeAll(async () => {
    target = await Target.start({ node: { crypto: suiteName } })
  })
  afterEach(() => {
    expect(target.node.pumpError).toBeNull()
  })
  afterAll(async () => {
    await target?.close()
  })

  it('the small-order points used below really are small-order', () => {
    expect(ed25519.Point.fromBytes(IDENTITY_POINT).isSmallOrder()).toBe(true)
    expect(ed25519.Point.fromBytes(ORDER8_POINT).isSmallOrder()).toBe(true)
    expect(ed25519.Point.fromBytes(ORDER8_POINT).multiply(8n).is0()).toBe(true)
  })

  it('a low-order X25519 ephemeral key in message 1: handshake-low-order-key', async () => {
    for (const e of [new Uint8Array(32), hex('0100000000000000000000000000000000000000000000000000000000000000'),
      hex('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800')]) {
      const peer = await RawPeer.connect(target.address)
      peer.sendRaw(encodeFrame(HANDSHAKE_PROTOCOL, Uint8Array.of(0, ...e)))
      expect((await peer.waitClosed(3000)).readable).toBe('handshake-low-order-key')
    }
    await target.assertHonestAlive()
  })

  it('a low-order X25519 static key in message 3: handshake-low-order-key', async () => {
    const identity = rawIdentity()
    const zeroStatic = { privateKey: identity.staticKey.privateKey, publicKey: new Uint8Array(32) }
    const signature = nativeSuite.ed25519Sign(identity.secretKey, identityBindingMessage(zeroStatic.publicKey))
    const peer = await RawPeer.connect(target.address)
    await peer.handshake({ identity: { ...identity, staticKey: zeroStatic, signature } })
    expect((await peer.waitClosed(3000)).readable).toBe('handshake-low-order-key')
    await target.assertHonestAlive()
  })

  it('a small-order ed25519 identity key with an equation-satisfying signature: handshake-bad-signature', async () => {
    for (const [A, order] of [[IDENTITY_POINT, 1n], [ORDER8_POINT, 8n]] as const) {
      const identity = smallOrderIdentity(A, order)
      const peer = await RawPeer.connect(target.address)
      await peer.handshake({ identity })
      expect((await peer.waitClosed(3000)).readable).toBe('handshake-bad-signature')
      expect(target.node.count((e) => e.type === 'peer.connected' && (e as { peer: string }).peer === identity.peerId)).toBe(0)
    }
    await target.assertHonestAlive()
  })

  it('a non-canonical identity key encoding (y = p, i.e. the order-4 point y = 0): handshake-bad-signature', async () => {
    const nonCanonical = hex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f')
    const identity = smallOrderIdentity(nonCanonical, 4n)
    const peer = await RawPeer.connect(target.address)
    await peer.handshake({ identity })
    expect((await peer.waitClosed(3000)).readable).toBe('handshake-bad-signature')
    await target.assertHonestAlive()
  })

  it('invalid UTF-8 and an over-long protocol id after the handshake: frame-malformed', async () => {
    const bodies = [
      rawFrame('/evil/utf8/1', Uint8Array.of(0xa2, 0xc3, 0x28)), // a string with an invalid 2-byte sequence
      rawFrame('/evil/utf8/1', Uint8Array.of(0xa1, 0xe2)), // a string cut inside a 3-byte sequence
      rawFrame('/' + 'a'.repeat(300), Uint8Array.of(0xc0)),
    ]
    for (const body of bodies) {
      const peer = await RawPeer.connect(target.address)
      await peer.handshake()
      peer.sendPlaintext(body)
      expect((await peer.waitClosed(3000)).readable).toBe('frame-malformed')
    }
    await target.assertHonestAlive()
  })
})

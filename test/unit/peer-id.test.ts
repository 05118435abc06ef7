/**
 * machines/lib/peer-id.ts and src/identity/keypair.ts: known answers from test/vectors/identity.json
 * (RFC 8032 test 1 key; its sha256 computed with node:crypto), parsing of both text forms, and
 * strict signatures.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { sha256 } from '@noble/hashes/sha2.js'
import { base32nopad, base58 } from '@scure/base'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  canonicalPeerId,
  isPeerId,
  peerIdBytes,
  peerIdFromDigest,
  peerIdFromPublicKey,
  peerIdToBase32,
} from '../../machines/lib/peer-id.js'
import { generateKeyPair, keyPairFromSecret, peerIdOf, sign, verify } from '../../src/identity/keypair.js'

const vectors = JSON.parse(readFileSync(new URL('../vectors/identity.json', import.meta.url), 'utf8')) as Record<string, string>
const fromHex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'))
const nodeSha256 = (b: Uint8Array): Uint8Array => Uint8Array.from(createHash('sha256').update(b).digest())

describe('peer id known answers', () => {
  const publicKey = fromHex(vectors.publicKey)

  it('the vector is self-consistent (sha256 by node:crypto)', () => {
    expect(Buffer.from(nodeSha256(publicKey)).toString('hex')).toBe(vectors.sha256OfPublicKey)
  })

  it('derives the RFC 8032 test-1 peer id with any sha256', () => {
    expect(peerIdFromPublicKey(nodeSha256, publicKey)).toBe(vectors.peerId)
    expect(peerIdFromPublicKey(sha256, publicKey)).toBe(vectors.peerId)
    expect(peerIdOf(publicKey)).toBe(vectors.peerId)
  })

  it('parses both text forms to the digest', () => {
    expect(Buffer.from(peerIdBytes(vectors.peerId)!).toString('hex')).toBe(vectors.sha256OfPublicKey)
    expect(Buffer.from(peerIdBytes(vectors.peerIdBase32)!).toString('hex')).toBe(vectors.sha256OfPublicKey)
    expect(peerIdToBase32(vectors.peerId)).toBe(vectors.peerIdBase32)
    expect(peerIdToBase32(vectors.peerIdBase32)).toBe(vectors.peerIdBase32)
    expect(canonicalPeerId(vectors.peerIdBase32)).toBe(vectors.peerId)
    expect(vectors.peerIdBase32).toHaveLength(52)
  })
})

describe('peer id parsing', () => {
  it('round-trips any digest through both forms', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (digest) => {
        const id = peerIdFromDigest(digest)
        expect(peerIdBytes(id)).toEqual(digest)
        expect(peerIdBytes(peerIdToBase32(id))).toEqual(digest)
        expect(canonicalPeerId(peerIdToBase32(id))).toBe(id)
        expect(id.length).toBeGreaterThanOrEqual(32)
        expect(id.length).toBeLessThanOrEqual(44)
      }),
      { numRuns: 300 },
    )
  })

  it('handles leading zero bytes (base58 "1" prefix)', () => {
    const digest = new Uint8Array(32)
    digest[31] = 1
    const id = peerIdFromDigest(digest)
    expect(id.startsWith('1'.repeat(31))).toBe(true)
    expect(peerIdBytes(id)).toEqual(digest)
    expect(peerIdBytes(peerIdFromDigest(new Uint8Array(32)))).toEqual(new Uint8Array(32))
  })

  it.each([
    ['empty', ''],
    ['too short', vectors.peerId.slice(0, 31)],
    ['one character more', vectors.peerId + '2'],
    ['a non-base58 character', '0' + vectors.peerId.slice(1)],
    ['base58 of 31 bytes', base58.encode(new Uint8Array(31).fill(255))],
    ['base58 of 33 bytes with a leading zero', base58.encode(Uint8Array.of(0, ...new Uint8Array(32).fill(9)))],
    ['base32 of 31 bytes', base32nopad.encode(new Uint8Array(31).fill(255)).toLowerCase()],
    ['uppercase base32', vectors.peerIdBase32.toUpperCase()],
    ['base32 with padding bits set', vectors.peerIdBase32.slice(0, 51) + '7'],
    ['base32 with a digit outside the alphabet', '1' + vectors.peerIdBase32.slice(1)],
    ['a long string', 'z'.repeat(100_000)],
    ['whitespace around', ` ${vectors.peerId}`],
  ])('refuses %s', (_name, text) => {
    expect(peerIdBytes(text)).toBeNull()
    expect(isPeerId(text)).toBe(false)
    expect(() => canonicalPeerId(text)).toThrow(RangeError)
    expect(() => peerIdToBase32(text)).toThrow(RangeError)
  })

  it('never throws on strangers\' text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (text) => {
        const bytes = peerIdBytes(text)
        if (bytes !== null) expect(bytes).toHaveLength(32)
      }),
      { numRuns: 2000 },
    )
    expect(peerIdBytes(7 as unknown as string)).toBeNull()
    expect(isPeerId(undefined)).toBe(false)
  })

  it('checks its arguments', () => {
    expect(() => peerIdFromPublicKey(nodeSha256, new Uint8Array(31))).toThrow(
      '"publicKey" expected Uint8Array of length 32, got length=31',
    )
    expect(() => peerIdFromPublicKey(nodeSha256, 'key' as unknown as Uint8Array)).toThrow(TypeError)
    expect(() => peerIdFromPublicKey('sha' as unknown as () => Uint8Array, new Uint8Array(32))).toThrow(TypeError)
    expect(() => peerIdFromPublicKey(() => new Uint8Array(20), new Uint8Array(32))).toThrow(RangeError)
    expect(() => canonicalPeerId(5 as unknown as string)).toThrow(TypeError)
  })
})

describe('keypair', () => {
  it('reproduces RFC 8032 test 1 (public key and signature)', () => {
    const pair = keyPairFromSecret(fromHex(vectors.secretKey))
    expect(Buffer.from(pair.publicKey).toString('hex')).toBe(vectors.publicKey)
    const signature = sign(pair.secretKey, fromHex(vectors.message))
    expect(Buffer.from(signature).toString('hex')).toBe(vectors.signature)
    expect(verify(signature, new Uint8Array(0), pair.publicKey)).toBe(true)
  })

  it('generates distinct pairs that sign and verify', () => {
    const a = generateKeyPair()
    const b = generateKeyPair()
    expect(a.secretKey).toHaveLength(32)
    expect(a.publicKey).toHaveLength(32)
    expect(a.secretKey).not.toEqual(b.secretKey)
    expect(keyPairFromSecret(a.secretKey).publicKey).toEqual(a.publicKey)
    const message = Uint8Array.of(1, 2, 3)
    const signature = sign(a.secretKey, message)
    expect(verify(signature, message, a.publicKey)).toBe(true)
    expect(verify(signature, message, b.publicKey)).toBe(false)
    expect(verify(signature, Uint8Array.of(1, 2, 4), a.publicKey)).toBe(false)
    expect(isPeerId(peerIdOf(a.publicKey))).toBe(true)
  })

  it('copies the secret key', () => {
    const secret = fromHex(vectors.secretKey)
    const pair = keyPairFromSecret(secret)
    secret.fill(0)
    expect(Buffer.from(pair.secretKey).toString('hex')).toBe(vectors.secretKey)
  })

  it('verifies strictly and never throws on malformed input', () => {
    const pair = keyPairFromSecret(fromHex(vectors.secretKey))
    const signature = fromHex(vectors.signature)
    const empty = new Uint8Array(0)
    expect(verify(signature.subarray(0, 63), empty, pair.publicKey)).toBe(false)
    expect(verify(signature, empty, pair.publicKey.subarray(0, 31))).toBe(false)
    // Non-canonical S (S + L) is refused in strict mode.
    const L = 2n ** 252n + 27742317777372353535851937790883648493n
    const s = BigInt('0x' + Buffer.from(signature.subarray(32)).reverse().toString('hex'))
    const sPlusL = Buffer.from((s + L).toString(16).padStart(64, '0'), 'hex').reverse()
    const malleated = Uint8Array.from([...signature.subarray(0, 32), ...sPlusL])
    expect(verify(malleated, empty, pair.publicKey)).toBe(false)
    // A small-order public key (the identity point) is refused.
    const identity = new Uint8Array(32)
    identity[0] = 1
    expect(verify(new Uint8Array(64), empty, identity)).toBe(false)
    expect(verify(new Uint8Array(64).fill(255), empty, new Uint8Array(32).fill(255))).toBe(false)
  })

  it('checks its arguments with titled errors', () => {
    expect(() => keyPairFromSecret(new Uint8Array(31))).toThrow('"secretKey" expected Uint8Array of length 32, got length=31')
    expect(() => keyPairFromSecret('x' as unknown as Uint8Array)).toThrow(TypeError)
    expect(() => sign(new Uint8Array(32), 'm' as unknown as Uint8Array)).toThrow(TypeError)
    expect(() => verify('s' as unknown as Uint8Array, new Uint8Array(0), new Uint8Array(32))).toThrow(TypeError)
    expect(() => peerIdOf(new Uint8Array(33))).toThrow(RangeError)
  })
})

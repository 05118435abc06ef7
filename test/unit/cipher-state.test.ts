/**
 * Noise CipherState: nonce layout, nonce advance on success only, round trips on both suites,
 * key-less pass-through and nonce exhaustion.
 * @module
 */
import { describe, expect, it } from 'vitest'
import type { CryptoSuite } from '../../machines/lib/crypto.js'
import { nobleSuite } from '../../machines/lib/crypto-noble.js'
import { nativeSuite } from '../../src/crypto/native.js'
import {
  createCipherState,
  decryptWithAd,
  encryptWithAd,
  MAX_NONCE,
  nonceBytes,
} from '../../machines/secure/cipher-state.js'

const toHex = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex'))
const key = Uint8Array.from({ length: 32 }, (_, i) => i)
const ad = new TextEncoder().encode('ad')

describe('nonceBytes', () => {
  it('is 4 zero bytes then the 64-bit little-endian counter', () => {
    expect(toHex(nonceBytes(0))).toBe('000000000000000000000000')
    expect(toHex(nonceBytes(1))).toBe('000000000100000000000000')
    expect(toHex(nonceBytes(0x01020304))).toBe('000000000403020100000000')
    expect(toHex(nonceBytes(0x1_0000_0005))).toBe('000000000500000001000000')
    expect(toHex(nonceBytes(MAX_NONCE))).toBe('00000000ffffffffffff1f00')
  })
})

for (const suite of [nobleSuite, nativeSuite] as CryptoSuite[]) {
  describe(`CipherState (${suite.name})`, () => {
    it('encrypt uses nonce n then increments it; the output matches the raw AEAD', () => {
      const cs = createCipherState(key)
      for (let n = 0; n < 3; n++) {
        const pt = new Uint8Array([n, n, n])
        const c = encryptWithAd(suite, cs, ad, pt)
        expect(toHex(c)).toBe(toHex(suite.aeadEncrypt(key, nonceBytes(n), ad, pt)))
        expect(cs.n).toBe(n + 1)
      }
    })

    it('round trips in order, and a failed decrypt does not advance n', () => {
      const tx = createCipherState(key)
      const rx = createCipherState(key)
      const frames = [0, 1, 100, 70_000].map((size) => Uint8Array.from({ length: size }, (_, i) => i & 0xff))
      const sealed = frames.map((f) => encryptWithAd(suite, tx, ad, f) as Uint8Array)
      expect(tx.n).toBe(4)

      // Wrong order: frame 1 under nonce 0 fails and leaves n at 0.
      expect(decryptWithAd(suite, rx, ad, sealed[1])).toBeNull()
      expect(rx.n).toBe(0)
      // Tampered frame fails, n unchanged.
      const bad = sealed[0].slice()
      bad[0] ^= 1
      expect(decryptWithAd(suite, rx, ad, bad)).toBeNull()
      expect(decryptWithAd(suite, rx, new Uint8Array(0), sealed[0])).toBeNull()
      expect(decryptWithAd(suite, rx, ad, sealed[0].subarray(0, 10))).toBeNull()
      expect(rx.n).toBe(0)

      sealed.forEach((c, i) => {
        expect(toHex(decryptWithAd(suite, rx, ad, c))).toBe(toHex(frames[i]))
        expect(rx.n).toBe(i + 1)
      })
      // A replayed frame fails.
      expect(decryptWithAd(suite, rx, ad, sealed[3])).toBeNull()
      expect(rx.n).toBe(4)
    })

    it('without a key passes data through unchanged and does not count', () => {
      const cs = createCipherState()
      const data = new Uint8Array([1, 2, 3])
      expect(encryptWithAd(suite, cs, ad, data)).toBe(data)
      expect(decryptWithAd(suite, cs, ad, data)).toBe(data)
      expect(cs.n).toBe(0)
    })

    it('refuses to reuse the last nonce', () => {
      const cs = { k: key, n: MAX_NONCE - 1 }
      const rx = { k: key, n: MAX_NONCE - 1 }
      const c = encryptWithAd(suite, cs, ad, new Uint8Array(4)) as Uint8Array
      expect(cs.n).toBe(MAX_NONCE)
      expect(toHex(decryptWithAd(suite, rx, ad, c))).toBe('00000000')
      expect(encryptWithAd(suite, cs, ad, new Uint8Array(4))).toBeNull()
      expect(decryptWithAd(suite, rx, ad, c)).toBeNull()
      expect(cs.n).toBe(MAX_NONCE)
    })
  })
}

/**
 * The AEAD forms the shell uses for large transport frames (src/runtime/conn-edge.ts):
 * `aeadEncryptDetached` (ciphertext and tag apart, never joined) and `aeadDecryptInPlace` (the
 * plaintext written over the received bytes). Each gives the same bytes as the joined form on
 * every suite that has it, and the in-place form touches nothing outside the frame it is given,
 * so a view kept of an earlier frame in the same buffer stays intact.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { CryptoSuite } from '../../machines/lib/crypto.js'
import { nobleSuite } from '../../machines/lib/crypto-noble.js'
import { createCipherState, decryptWithAd, decryptWithAdInPlace, encryptWithAd, encryptWithAdDetached } from '../../machines/secure/cipher-state.js'
import { nativeSuite } from '../../src/crypto/native.js'
import { opensslSuite } from '../../src/crypto/openssl.js'
import { OPENSSL_FROM_BYTES } from '../../src/crypto/sodium.js'

const toHex = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex'))
const joined = (parts: readonly Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts))
const sizes = [0, 1, 448, OPENSSL_FROM_BYTES - 1, OPENSSL_FROM_BYTES, 65_536, 65_537]
const suites = [nobleSuite, nativeSuite, opensslSuite] as CryptoSuite[]

for (const suite of suites.filter((s) => s.aeadEncryptDetached !== undefined)) {
  describe(`${suite.name} aeadEncryptDetached`, () => {
    it('is aeadEncrypt cut after the ciphertext, for every size, with and without additional data', () => {
      const key = randomBytes(32)
      const nonce = randomBytes(12)
      for (const size of sizes) {
        for (const ad of [new Uint8Array(0), randomBytes(32)]) {
          const pt = randomBytes(size)
          const [body, tag] = suite.aeadEncryptDetached!(key, nonce, ad, pt)
          expect(body.length).toBe(size)
          expect(tag.length).toBe(16)
          expect(toHex(joined([body, tag]))).toBe(toHex(nobleSuite.aeadEncrypt(key, nonce, ad, pt)))
        }
      }
    })

    it('a sealed frame does not change when the next one is sealed', () => {
      const key = randomBytes(32)
      const nonce = randomBytes(12)
      const first = suite.aeadEncryptDetached!(key, nonce, new Uint8Array(0), new Uint8Array(70_000).fill(1))
      const copy = joined(first)
      suite.aeadEncryptDetached!(key, nonce, new Uint8Array(0), new Uint8Array(70_000).fill(2))
      expect(toHex(joined(first))).toBe(toHex(copy))
    })
  })
}

for (const suite of suites.filter((s) => s.aeadDecryptInPlace !== undefined)) {
  describe(`${suite.name} aeadDecryptInPlace`, () => {
    const key = randomBytes(32)
    const nonce = randomBytes(12)

    it('gives the plaintext as the first bytes of the frame itself, for every size', () => {
      for (const size of sizes) {
        const pt = randomBytes(size)
        const sealed = nobleSuite.aeadEncrypt(key, nonce, new Uint8Array(0), pt)
        const opened = suite.aeadDecryptInPlace!(key, nonce, new Uint8Array(0), sealed)
        expect(toHex(opened)).toBe(toHex(pt))
        expect(opened!.buffer).toBe(sealed.buffer)
        expect(opened!.byteOffset).toBe(sealed.byteOffset)
      }
    })

    it('touches no byte outside its frame: frames side by side in one buffer all open, earlier plaintexts intact', () => {
      // As frames arrive from a socket: several in one read, each a view of the same buffer.
      const plaintexts = [20_000, 9_000, 40_000].map((size) => randomBytes(size))
      const frames = plaintexts.map((pt) => nobleSuite.aeadEncrypt(key, nonce, new Uint8Array(0), pt))
      const buffer = Buffer.concat([Buffer.from('head'), ...frames, Buffer.from('tail')])
      let at = 4
      const views = frames.map((f) => {
        const view = new Uint8Array(buffer.buffer, buffer.byteOffset + at, f.length)
        at += f.length
        return view
      })
      const opened = views.map((view) => suite.aeadDecryptInPlace!(key, nonce, new Uint8Array(0), view))
      opened.forEach((o, i) => expect(toHex(o)).toBe(toHex(plaintexts[i])))
      expect(buffer.subarray(0, 4).toString()).toBe('head')
      expect(buffer.subarray(buffer.length - 4).toString()).toBe('tail')
    })

    it('is null for a flipped bit, a wrong key or additional data, or a frame shorter than a tag', () => {
      const ad = randomBytes(32)
      const sealed = nobleSuite.aeadEncrypt(key, nonce, ad, randomBytes(OPENSSL_FROM_BYTES))
      for (const i of [0, OPENSSL_FROM_BYTES, sealed.length - 1]) {
        const bad = sealed.slice()
        bad[i] ^= 0x01
        expect(suite.aeadDecryptInPlace!(key, nonce, ad, bad)).toBeNull()
      }
      expect(suite.aeadDecryptInPlace!(randomBytes(32), nonce, ad, sealed.slice())).toBeNull()
      expect(suite.aeadDecryptInPlace!(key, nonce, randomBytes(32), sealed.slice())).toBeNull()
      expect(suite.aeadDecryptInPlace!(key, nonce, ad, sealed.subarray(0, 15))).toBeNull()
    })
  })
}

describe('cipher-state: the detached and in-place steps follow the nonce as the joined ones do', () => {
  it('a sequence sealed detached opens in place, and in turn with the joined steps', () => {
    const k = randomBytes(32)
    const send = createCipherState(k)
    const recv = createCipherState(k)
    const check = createCipherState(k)
    for (let i = 0; i < 4; i++) {
      const pt = randomBytes(10_000 + i)
      const parts = encryptWithAdDetached(nativeSuite as Required<CryptoSuite>, send, new Uint8Array(0), pt)!
      const frame = joined(parts)
      expect(toHex(decryptWithAd(nobleSuite, check, new Uint8Array(0), frame.slice()))).toBe(toHex(pt))
      expect(toHex(decryptWithAdInPlace(nativeSuite as Required<CryptoSuite>, recv, new Uint8Array(0), frame))).toBe(toHex(pt))
    }
    expect([send.n, recv.n, check.n]).toEqual([4, 4, 4])
    // A failed in-place step leaves the nonce where it was, as decryptWithAd does.
    const next = encryptWithAd(nobleSuite, createCipherState(k), new Uint8Array(0), randomBytes(9_000))!
    expect(decryptWithAdInPlace(nativeSuite as Required<CryptoSuite>, recv, new Uint8Array(0), next)).toBeNull()
    expect(recv.n).toBe(4)
  })
})

/**
 * The AEAD forms the shell uses for large transport frames (src/runtime/conn-edge.ts):
 * `aeadEncryptDetached` (ciphertext and tag apart, never joined): the same bytes as the joined
 * form on every suite that has it.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { CryptoSuite } from '../../machines/lib/crypto.js'
import { nobleSuite } from '../../machines/lib/crypto-noble.js'
import { createCipherState, decryptWithAd, encryptWithAdDetached } from '../../machines/secure/cipher-state.js'
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

describe('cipher-state: the detached step follows the nonce as the joined one does', () => {
  it('a sequence sealed detached opens with the joined steps', () => {
    const k = randomBytes(32)
    const send = createCipherState(k)
    const recv = createCipherState(k)
    const check = createCipherState(k)
    for (let i = 0; i < 4; i++) {
      const pt = randomBytes(10_000 + i)
      const parts = encryptWithAdDetached(nativeSuite as Required<CryptoSuite>, send, new Uint8Array(0), pt)!
      const frame = joined(parts)
      expect(toHex(decryptWithAd(nobleSuite, check, new Uint8Array(0), frame.slice()))).toBe(toHex(pt))
      expect(toHex(decryptWithAd(nativeSuite, recv, new Uint8Array(0), frame))).toBe(toHex(pt))
    }
    expect([send.n, recv.n, check.n]).toEqual([4, 4, 4])
  })
})

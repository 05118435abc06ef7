/**
 * The simulator's shared crypto suite gives the answers node:crypto gives (it only saves
 * computing them twice), so a simulated run is the same run with it or without it.
 */
import { describe, expect, it } from 'vitest'
import { nativeSuite } from '../../src/crypto/native.js'
import { sharedCryptoSuite } from '../../src/testing/shared-crypto.js'
import { runScenario, type Scenario } from '../../src/testing/scenario.js'
import { pubsubScenario } from '../../src/testing/scenarios.js'
import { FAULTS } from '../../src/testing/faults.js'

const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill)

describe('sharedCryptoSuite', () => {
  it('answers both ends of a Diffie-Hellman with the secret node:crypto computes', () => {
    const suite = sharedCryptoSuite()
    const a = bytes(32, 1), b = bytes(32, 2)
    const A = suite.x25519PublicKey(a), B = suite.x25519PublicKey(b)
    const first = suite.x25519(a, B)
    const second = suite.x25519(b, A)
    expect(first).toEqual(nativeSuite.x25519(a, B))
    expect(second).toEqual(first)
    expect(suite.x25519(a, new Uint8Array(32))).toBeNull() // low order, as node:crypto says
  })

  it('decrypts what was encrypted, and refuses a changed ciphertext or associated data', () => {
    const suite = sharedCryptoSuite()
    const key = bytes(32, 7), nonce = bytes(12, 0), ad = bytes(4, 9)
    const plain = new TextEncoder().encode('hello')
    const sealed = suite.aeadEncrypt(key, nonce, ad, plain)
    expect(suite.aeadDecrypt(key, nonce, ad, sealed.slice())).toEqual(plain)
    const again = suite.aeadEncrypt(key, nonce, ad, plain)
    const changed = again.slice()
    changed[0] ^= 1
    expect(suite.aeadDecrypt(key, nonce, ad, changed)).toBeNull()
    suite.aeadEncrypt(key, nonce, ad, plain)
    expect(suite.aeadDecrypt(key, nonce, bytes(4, 8), again)).toBeNull()
  })

  it('keeps a verdict only for the message it was given', () => {
    const suite = sharedCryptoSuite()
    const secret = bytes(32, 3)
    const pub = suite.ed25519PublicKey(secret)
    const message = new TextEncoder().encode('binding')
    const signature = suite.ed25519Sign(secret, message)
    expect(suite.ed25519Verify(signature, message, pub)).toBe(true)
    expect(suite.ed25519Verify(signature, message, pub)).toBe(true)
    expect(suite.ed25519Verify(signature, new TextEncoder().encode('bindinG'), pub)).toBe(false)
    expect(suite.ed25519Verify(signature, message, pub)).toBe(true)
  })

  it('leaves a simulated run unchanged: the same report as with node:crypto alone', async () => {
    const alone: Scenario = { ...pubsubScenario, node: (i, before, world) => ({ ...pubsubScenario.node(i, before, world), crypto: nativeSuite }) }
    const params = { seed: 5, nodes: 5, steps: 8, faults: [...FAULTS] }
    const shared = await runScenario(pubsubScenario, params)
    const native = await runScenario(alone, params)
    expect(shared.failure).toBeUndefined()
    expect(JSON.stringify(shared)).toBe(JSON.stringify(native))
  }, 60_000)
})

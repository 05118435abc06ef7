/**
 * nobleSuite: the portable CryptoSuite, built on @noble/hashes, @noble/curves and @noble/ciphers.
 *
 * Runs anywhere JavaScript runs (browsers, Node, workers) and has no IO, so machines may use it
 * directly. Strictness rules shared with `nativeSuite` (src/crypto/native.ts):
 * - ed25519 verification is RFC 8032 strict (`zip215: false`: canonical point and scalar
 *   encodings only) and rejects small-order public keys, so the degenerate "identity key,
 *   identity R, zero S" signature never verifies.
 * - x25519 returns `null` for a malformed public key or a low-order one (all-zero shared secret).
 * - AEAD decryption returns `null` when authentication fails.
 * None of the functions that take peer-controlled input (a public key, a signature, a
 * ciphertext) throws; a wrongly sized *local* secret key is a programming error and does throw.
 * @module
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { hmac } from '@noble/hashes/hmac.js'
import { chacha20poly1305 } from '@noble/ciphers/chacha.js'
import { detachTag, type CryptoSuite } from './crypto.js'

const TAG_LENGTH = 16
const VERIFY_OPTS = { zip215: false } as const

function isBytes(value: unknown, length?: number): value is Uint8Array {
  return value instanceof Uint8Array && (length === undefined || value.length === length)
}

function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i]
  return acc === 0
}

/** The portable suite (@noble/*). See the module comment for its strictness rules. */
export const nobleSuite: CryptoSuite = {
  name: 'noble',

  sha256(data) {
    return sha256(data)
  },

  hmacSha256(key, data) {
    return hmac(sha256, key, data)
  },

  x25519PublicKey(privateKey) {
    return x25519.getPublicKey(privateKey)
  },

  x25519(privateKey, publicKey) {
    if (!isBytes(publicKey, 32)) return null
    try {
      // noble rejects the known low-order u-coordinates (and an all-zero result) by throwing.
      const shared = x25519.getSharedSecret(privateKey, publicKey)
      return isAllZero(shared) ? null : shared
    } catch {
      return null
    }
  },

  aeadEncrypt(key, nonce, ad, plaintext) {
    return chacha20poly1305(key, nonce, ad).encrypt(plaintext)
  },

  aeadEncryptDetached(key, nonce, ad, plaintext) {
    return detachTag(chacha20poly1305(key, nonce, ad).encrypt(plaintext), plaintext.length)
  },

  aeadDecrypt(key, nonce, ad, ciphertext) {
    if (!isBytes(ciphertext) || ciphertext.length < TAG_LENGTH) return null
    try {
      return chacha20poly1305(key, nonce, ad).decrypt(ciphertext)
    } catch {
      return null
    }
  },

  ed25519PublicKey(secretKey) {
    return ed25519.getPublicKey(secretKey)
  },

  ed25519Sign(secretKey, message) {
    return ed25519.sign(message, secretKey)
  },

  ed25519Verify(signature, message, publicKey) {
    if (!isBytes(signature, 64) || !isBytes(publicKey, 32) || !isBytes(message)) return false
    try {
      // zip215:false = canonical encodings only, and noble then also rejects small-order keys.
      return ed25519.verify(signature, message, publicKey, VERIFY_OPTS)
    } catch {
      return false
    }
  },
}

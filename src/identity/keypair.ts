/**
 * Identity keys: ed25519 (RFC 8032) with @noble/curves, and the peer id they stand for.
 *
 * A node's identity is one ed25519 key pair; its peer id is sha256(publicKey) in base58btc
 * (see machines/lib/peer-id.ts). Verification is strict (`zip215: false`: canonical encodings
 * only, small-order keys refused) so that one message has one valid signature per key, and it
 * never throws on peer-controlled input.
 * @module
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { peerIdFromPublicKey } from '../../machines/lib/peer-id.js'
import { abytes, aobject, isBytes } from '../validate.js'

/** Bytes in an ed25519 secret key (the RFC 8032 seed). */
export const SECRET_KEY_BYTES = 32
/** Bytes in an ed25519 public key. */
export const PUBLIC_KEY_BYTES = 32
/** Bytes in an ed25519 signature. */
export const SIGNATURE_BYTES = 64

/** An ed25519 key pair. */
export interface KeyPair {
  /** The 32-byte secret seed: keep it secret. */
  readonly secretKey: Uint8Array
  /** The 32-byte public key. */
  readonly publicKey: Uint8Array
}

/**
 * A new random key pair (secret from `crypto.getRandomValues`).
 * @example const { publicKey } = generateKeyPair()
 */
export function generateKeyPair(): KeyPair {
  const secret = new Uint8Array(SECRET_KEY_BYTES)
  crypto.getRandomValues(secret)
  const pair = keyPairFromSecret(secret)
  secret.fill(0)
  return pair
}

/**
 * The key pair of a 32-byte secret key. The secret is copied.
 * @example keyPairFromSecret(hexToBytes('9d61b19d...'))
 */
export function keyPairFromSecret(secretKey: Uint8Array): KeyPair {
  abytes(secretKey, SECRET_KEY_BYTES, 'secretKey')
  const copy = Uint8Array.from(secretKey)
  return { secretKey: copy, publicKey: ed25519.getPublicKey(copy) }
}

/**
 * Sign a message (RFC 8032 deterministic signature).
 * @returns the 64-byte signature
 * @example const signature = sign(keyPair.secretKey, message)
 */
export function sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  abytes(secretKey, SECRET_KEY_BYTES, 'secretKey')
  abytes(message, undefined, 'message')
  return ed25519.sign(message, secretKey)
}

/**
 * Verify a signature strictly (RFC 8032 with canonical encodings; small-order keys refused).
 * Wrong lengths and malformed points give `false`; only a non-Uint8Array argument throws (TypeError).
 * @example if (!verify(signature, message, publicKey)) conn.close('bad-signature')
 */
export function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  abytes(signature, undefined, 'signature')
  abytes(message, undefined, 'message')
  abytes(publicKey, undefined, 'publicKey')
  if (signature.length !== SIGNATURE_BYTES || publicKey.length !== PUBLIC_KEY_BYTES) return false
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false })
  } catch {
    return false
  }
}

/**
 * The peer id of a public key: sha256(publicKey) in base58btc.
 * @example peerIdOf(keyPair.publicKey)
 */
export function peerIdOf(publicKey: Uint8Array): string {
  abytes(publicKey, PUBLIC_KEY_BYTES, 'publicKey')
  return peerIdFromPublicKey(sha256, publicKey)
}

/**
 * Check that a key pair is well formed and that its public key belongs to its secret key.
 * @throws TypeError/RangeError naming the problem
 */
export function assertKeyPair(keyPair: KeyPair, title = 'keyPair'): KeyPair {
  aobject(keyPair, title)
  abytes(keyPair.secretKey, SECRET_KEY_BYTES, `${title}.secretKey`)
  abytes(keyPair.publicKey, PUBLIC_KEY_BYTES, `${title}.publicKey`)
  const derived = ed25519.getPublicKey(keyPair.secretKey)
  if (!equalBytes(derived, keyPair.publicKey)) {
    throw new RangeError(`"${title}.publicKey" does not belong to "${title}.secretKey"`)
  }
  return keyPair
}

/** Constant-time equality of two byte arrays of equal length (false on different lengths). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (!isBytes(a) || !isBytes(b) || a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i]
  return diff === 0
}

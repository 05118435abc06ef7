/**
 * Noise CipherState: a key and a nonce counter as plain data, with pure encrypt/decrypt steps.
 *
 * Used by the handshake (machines/secure/noise.ts) for EncryptAndHash/DecryptAndHash, and by the
 * shell for every transport frame once the handshake has split. The AEAD is ChaCha20-Poly1305
 * from the CryptoSuite it is given; the nonce is the Noise ChaChaPoly rule: 4 zero bytes followed
 * by the 64-bit little-endian counter `n`.
 *
 * Shape and mutation: `encryptWithAd`/`decryptWithAd` advance `cs.n` IN PLACE after a
 * successful step (a transport frame then costs no allocation beyond the nonce and the output).
 * A failed decryption leaves `n` unchanged, as Noise requires. Code that needs immutable steps
 * (the handshake, an XState context) copies first: `const next = { ...cs }`. No IO, no clock, no
 * randomness; no function here throws on peer input.
 *
 * Deviations from Noise, both deliberate:
 * - Message length: Noise caps every message at 65535 bytes. xswarm sends one transport message
 *   per WebSocket message, up to the frame limit (default 1 MiB), so transport messages here
 *   are limited only by that frame limit (enforced by the shell before decryption), not by
 *   65535. Handshake messages keep the 65535-byte cap (machines/secure/noise.ts).
 * - Nonce range: `n` is a JS number, so it stops at Number.MAX_SAFE_INTEGER (2^53 - 1) instead of
 *   2^64 - 1; past it encryption and decryption return `null` (the session must be replaced).
 * @module
 */
import type { CryptoSuite } from '../lib/crypto.js'

/** `k === null` means "no key yet": encryption and decryption pass data through unchanged. */
export interface CipherState {
  k: Uint8Array | null
  n: number
}

/** Largest usable nonce (see the module comment). */
export const MAX_NONCE = Number.MAX_SAFE_INTEGER

/** A fresh CipherState for key `k` (or none), nonce 0. */
export function createCipherState(k: Uint8Array | null = null): CipherState {
  return { k, n: 0 }
}

/** The 12-byte ChaChaPoly nonce for counter `n`: 4 zero bytes ‖ n as 64-bit little-endian. */
export function nonceBytes(n: number): Uint8Array {
  const nonce = new Uint8Array(12)
  const lo = n >>> 0
  const hi = Math.floor(n / 0x1_0000_0000) >>> 0
  nonce[4] = lo & 0xff
  nonce[5] = (lo >>> 8) & 0xff
  nonce[6] = (lo >>> 16) & 0xff
  nonce[7] = lo >>> 24
  nonce[8] = hi & 0xff
  nonce[9] = (hi >>> 8) & 0xff
  nonce[10] = (hi >>> 16) & 0xff
  nonce[11] = hi >>> 24
  return nonce
}

/**
 * Noise EncryptWithAd. With a key: returns ciphertext ‖ tag and advances `cs.n` in place.
 * Without a key: returns `plaintext` itself (no copy). `null` only when the nonce is exhausted.
 */
export function encryptWithAd(suite: CryptoSuite, cs: CipherState, ad: Uint8Array, plaintext: Uint8Array): Uint8Array | null {
  if (cs.k === null) return plaintext
  if (cs.n >= MAX_NONCE) return null
  const out = suite.aeadEncrypt(cs.k, nonceBytes(cs.n), ad, plaintext)
  cs.n++
  return out
}

/**
 * `encryptWithAd` with the ciphertext and the tag apart (`suite.aeadEncryptDetached`), for a
 * frame written out in two parts; the same bytes in the same order. Without a key:
 * `[plaintext, empty]`. `null` only when the nonce is exhausted.
 */
export function encryptWithAdDetached(
  suite: CryptoSuite & Pick<Required<CryptoSuite>, 'aeadEncryptDetached'>, cs: CipherState, ad: Uint8Array, plaintext: Uint8Array,
): [Uint8Array, Uint8Array] | null {
  if (cs.k === null) return [plaintext, new Uint8Array(0)]
  if (cs.n >= MAX_NONCE) return null
  const out = suite.aeadEncryptDetached(cs.k, nonceBytes(cs.n), ad, plaintext)
  cs.n++
  return out
}

/**
 * Noise DecryptWithAd. With a key: returns the plaintext and advances `cs.n` in place, or
 * returns `null` (authentication failed, input too short, nonce exhausted) leaving `cs.n` as
 * it was. Without a key: returns `ciphertext` itself.
 */
export function decryptWithAd(suite: CryptoSuite, cs: CipherState, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | null {
  if (cs.k === null) return ciphertext
  if (cs.n >= MAX_NONCE) return null
  const out = suite.aeadDecrypt(cs.k, nonceBytes(cs.n), ad, ciphertext)
  if (out === null) return null
  cs.n++
  return out
}

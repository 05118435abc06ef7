/**
 * CryptoSuite: the pure primitives machines may call (Noise XX, identity signatures, peer ids).
 *
 * Machines take a suite from their input and never import a platform module, so they stay
 * portable and deterministic. Two implementations: `nobleSuite` (machines/lib/crypto-noble.ts,
 * @noble/*, runs everywhere) and `nativeSuite` (src/crypto/native.ts: libsodium, or node:crypto
 * where sodium-native does not load; several times faster). All pass the same known-answer
 * tests. No function here throws on peer-controlled input: a malformed key or signature gives
 * `false`/`null`.
 * @module
 */
export interface CryptoSuite {
  /** `noble`, `native` or `openssl`, for logs and benchmarks. */
  readonly name: string
  sha256(data: Uint8Array): Uint8Array
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array
  /** X25519 public key of a 32-byte private key. */
  x25519PublicKey(privateKey: Uint8Array): Uint8Array
  /** X25519 shared secret; `null` when the peer key is malformed or of low order (all-zero result). */
  x25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | null
  /** ChaCha20-Poly1305 (IETF, 12-byte nonce); returns ciphertext ‖ 16-byte tag. */
  aeadEncrypt(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array
  /** Inverse of aeadEncrypt; `null` when authentication fails or the input is too short. */
  aeadDecrypt(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | null
  /**
   * Optional: aeadEncrypt's result as `[ciphertext, tag]`, two arrays never joined (the shell
   * writes a large transport frame to its socket in parts, without copying it to append the tag).
   */
  aeadEncryptDetached?(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): [Uint8Array, Uint8Array]
  /** Ed25519 public key of a 32-byte secret seed. */
  ed25519PublicKey(secretKey: Uint8Array): Uint8Array
  ed25519Sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array
  /** Strict verification (RFC 8032 with canonical encodings; small-order keys rejected); never throws. */
  ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean
}

/** `aeadEncryptDetached` for a suite whose AEAD writes ciphertext ‖ tag: two views of `sealed`. */
export function detachTag(sealed: Uint8Array, plaintextLength: number): [Uint8Array, Uint8Array] {
  return [sealed.subarray(0, plaintextLength), sealed.subarray(plaintextLength)]
}

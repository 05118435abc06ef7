/**
 * The libsodium half of nativeSuite (./native.ts): Ed25519, X25519 and ChaCha20-Poly1305
 * through `sodium-native`, with no per-call object and no key import.
 *
 * Why libsodium, measured on this machine kind against node:crypto (OpenSSL 3.0), µs per call
 * through the suites themselves (output buffers included; seal / open for the AEAD):
 *
 * | operation                        | OpenSSL     | libsodium   |
 * |----------------------------------|-------------|-------------|
 * | Ed25519 verify, 200 B / 16 KiB   | 61 / 72     | 36 / 57     |
 * | Ed25519 verify, 64 KiB           | 113         | 124         |
 * | Ed25519 sign, 200 B / 8 KiB      | 24 / 36     | 14 / 35     |
 * | Ed25519 sign, 16 KiB             | 48          | 61          |
 * | ChaCha20-Poly1305, 1 KiB         | 5.3 / 3.6   | 1.7 / 1.7   |
 * | ChaCha20-Poly1305, 4 KiB         | 6.7 / 4.6   | 4.2 / 4.2   |
 * | ChaCha20-Poly1305, 16 KiB        | 8.8 / 6.9   | 10.6 / 10.5 |
 * | ChaCha20-Poly1305, 64 KiB        | 23.4 / 18.8 | 39.9 / 39.5 |
 *
 * Long messages go to `base` (node:crypto), whose SHA-512 and Poly1305 are faster on long
 * inputs, and where one cipher object per message is small beside the work: from
 * {@link OPENSSL_FROM_BYTES} for the AEAD and signing, from {@link OPENSSL_VERIFY_FROM_BYTES} for
 * verification.
 *
 * Verification is about half of a node's busy time under pubsub load (every message is checked
 * once per node), and node:crypto makes a native cipher object per frame (each one work for the
 * next scavenge). `sodium-native` (MIT, maintained by Holepunch) ships prebuilt binaries for
 * Linux, macOS, Windows, Android and iOS, so installing it runs no compiler; where it does not
 * load, nativeSuite is opensslSuite.
 *
 * Strictness (the rules of machines/lib/crypto.ts): libsodium's verification rejects a
 * non-canonical or small-order public key, S ≥ L and a small-order R, and checks the cofactorless
 * equation; so it accepts a subset of what OpenSSL and noble accept, and the same signatures from
 * an honest signer (SECURITY.md, "Ed25519: noble and native"). X25519 fails on an all-zero
 * shared secret (a low-order peer key), which is `null` here as in the other suites.
 * @module
 */
import { createRequire } from 'node:module'
import { detachTag, type CryptoSuite } from '../../machines/lib/crypto.js'
import { equalBytes } from '../identity/keypair.js'
import { checkSecretKey, isAllZero, TAG_LENGTH, view } from './bytes.js'

/** The part of sodium-native's API used here (it publishes no typings of its own). */
export interface Sodium {
  crypto_sign_seed_keypair(publicKey: Uint8Array, secretKey: Uint8Array, seed: Uint8Array): void
  crypto_sign_detached(signature: Uint8Array, message: Uint8Array, secretKey: Uint8Array): void
  crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean
  crypto_scalarmult_base(publicKey: Uint8Array, secretKey: Uint8Array): void
  crypto_scalarmult(shared: Uint8Array, secretKey: Uint8Array, publicKey: Uint8Array): void
  crypto_aead_chacha20poly1305_ietf_encrypt(out: Uint8Array, plaintext: Uint8Array, ad: Uint8Array | null, nsec: null, nonce: Uint8Array, key: Uint8Array): number
  crypto_aead_chacha20poly1305_ietf_decrypt(out: Uint8Array, nsec: null, ciphertext: Uint8Array, ad: Uint8Array | null, nonce: Uint8Array, key: Uint8Array): number
}

/** sodium-native, or null where it cannot be loaded (no prebuilt binary for this platform). */
export function loadSodium(): Sodium | null {
  try {
    return createRequire(import.meta.url)('sodium-native') as Sodium
  } catch {
    return null
  }
}

/** AEAD plaintexts and messages to sign of this many bytes and more go to `base` (table above). */
export const OPENSSL_FROM_BYTES = 8192
/** Messages to verify of this many bytes and more go to `base`. */
export const OPENSSL_VERIFY_FROM_BYTES = 32_768

/**
 * Expanded signing keys (seed ‖ public key, what libsodium signs with): deriving one costs as
 * much as a signature. A node's signer passes the same seed object every time, so a key is
 * found by that object (and checked against its bytes), and lives as long as it does; a seed
 * passed as a fresh copy each time finds the last few seeds by their bytes. Few, as they are
 * secrets (opensslSuite keeps its private KeyObjects the same way).
 */
const SIGNING_KEY_SLOTS = 4

interface SigningKey { seed: Uint8Array; publicKey: Uint8Array; secretKey: Uint8Array }

/**
 * The suite on `sodium`, with SHA-256, HMAC (node:crypto's one-shot hash is as fast) and long
 * messages from `base`.
 */
export function sodiumSuite(sodium: Sodium, base: CryptoSuite): CryptoSuite {
  // By seed object: several swarms in one process (tests, simulations, benchmarks) each keep
  // theirs, where the recent list alone made every publish derive its key again.
  const bySeed = new WeakMap<Uint8Array, SigningKey>()
  const recent: SigningKey[] = []

  function signingKey(seed: Uint8Array): SigningKey {
    checkSecretKey(seed)
    const known = bySeed.get(seed)
    if (known !== undefined && equalBytes(known.seed, seed)) return known
    let key = recent.find((k) => equalBytes(k.seed, seed))
    if (key === undefined) {
      key = { seed: Uint8Array.from(seed), publicKey: new Uint8Array(32), secretKey: new Uint8Array(64) }
      sodium.crypto_sign_seed_keypair(key.publicKey, key.secretKey, key.seed)
      if (recent.unshift(key) > SIGNING_KEY_SLOTS) recent.pop()
    }
    bySeed.set(seed, key)
    return key
  }

  function aeadEncrypt(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (plaintext.length >= OPENSSL_FROM_BYTES) return base.aeadEncrypt(key, nonce, ad, plaintext)
    // Not zero-filled (every byte is written), and from Node's pool when small: a sealed frame
    // is written to its socket and dropped.
    const out = Buffer.allocUnsafe(plaintext.length + TAG_LENGTH)
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt(out, plaintext, ad.length > 0 ? ad : null, null, nonce, key)
    return view(out)
  }

  return {
    name: 'native',
    sha256: base.sha256,
    hmacSha256: base.hmacSha256,

    x25519PublicKey(secretKey) {
      checkSecretKey(secretKey)
      const out = new Uint8Array(32)
      sodium.crypto_scalarmult_base(out, secretKey)
      return out
    },

    x25519(secretKey, publicKey) {
      checkSecretKey(secretKey)
      if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return null
      const shared = new Uint8Array(32)
      try {
        sodium.crypto_scalarmult(shared, secretKey, publicKey) // throws on an all-zero result
      } catch {
        return null
      }
      return isAllZero(shared) ? null : shared
    },

    aeadEncrypt,

    aeadEncryptDetached(key, nonce, ad, plaintext) {
      if (plaintext.length >= OPENSSL_FROM_BYTES && base.aeadEncryptDetached) return base.aeadEncryptDetached(key, nonce, ad, plaintext)
      return detachTag(aeadEncrypt(key, nonce, ad, plaintext), plaintext.length)
    },

    aeadDecrypt(key, nonce, ad, ciphertext) {
      if (!(ciphertext instanceof Uint8Array) || ciphertext.length < TAG_LENGTH) return null
      if (ciphertext.length - TAG_LENGTH >= OPENSSL_FROM_BYTES) return base.aeadDecrypt(key, nonce, ad, ciphertext)
      // From Node's pool when small (below 4 KiB), as socket reads are: an ArrayBuffer of its
      // own was ~1-2 us per frame. What outlives the frame and is small enough to share a slab
      // copies what it keeps (pubsub's message cache: mcachePut; discovery and the handshake copy
      // keys), so a kept view pins at most one 8 KiB slab.
      const out = view(Buffer.allocUnsafe(ciphertext.length - TAG_LENGTH))
      try {
        sodium.crypto_aead_chacha20poly1305_ietf_decrypt(out, null, ciphertext, ad.length > 0 ? ad : null, nonce, key)
      } catch {
        return null // a wrong tag (or a malformed key or nonce, which only local code passes)
      }
      return out
    },

    ed25519PublicKey(secretKey) {
      return signingKey(secretKey).publicKey.slice()
    },

    ed25519Sign(secretKey, message) {
      if (message.length >= OPENSSL_FROM_BYTES) return base.ed25519Sign(secretKey, message)
      const signature = new Uint8Array(64)
      sodium.crypto_sign_detached(signature, message, signingKey(secretKey).secretKey)
      return signature
    },

    ed25519Verify(signature, message, publicKey) {
      if (!(signature instanceof Uint8Array) || signature.length !== 64) return false
      if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false
      if (!(message instanceof Uint8Array)) return false
      if (message.length >= OPENSSL_VERIFY_FROM_BYTES) return base.ed25519Verify(signature, message, publicKey)
      try {
        return sodium.crypto_sign_verify_detached(signature, message, publicKey)
      } catch {
        return false
      }
    },
  }
}

/**
 * ChaCha20-Poly1305 for small messages, in WebAssembly: nativeSuite (./native.ts) seals and opens
 * messages shorter than {@link SMALL_AEAD_BYTES} here, and longer ones with node:crypto.
 *
 * Why: node:crypto takes a new nonce only through a new cipher object, so every Noise frame
 * creates a native object, and each one is a weak handle that the next scavenge (minor GC) must
 * process after it dies. On the light-load path (single messages of 128 B–4 KiB; their frames
 * and the pull's control frames are small) that was 0.7–1.0 ms of a 2–2.4 ms scavenge pause, and
 * every scavenge lands on a message in flight (bench/README.md, "pubsub: the light-load tail
 * and the per-frame cipher object"). Below about 448 bytes the WebAssembly code is also faster per
 * call than creating the object (1.0 against 2.7 µs at 64 B, even at ~448 B); above, native wins
 * (4 KiB: 24 against 7 µs), so big frames and batches stay native.
 *
 * Why this library: `@chainsafe/as-chacha20poly1305` (AssemblyScript, Apache-2.0) is what
 * js-libp2p's Noise (`@chainsafe/libp2p-noise`) uses on Node for the same reason, below 1,200
 * bytes; it keeps one WebAssembly instance with its own buffers and no per-call object, and it
 * passes the RFC 8439 vector and agrees with noble and OpenSSL on random inputs
 * (test/unit/crypto.test.ts). Its additional data must be at most 32 bytes (Noise uses none in
 * transport and the 32-byte handshake hash in the handshake): longer data goes native.
 *
 * Its tag comparison exits at the first differing byte (not constant-time). That is harmless
 * here: every caller treats a failed decryption as fatal (a transport frame ends its
 * connection, a handshake message its handshake), so an attacker gets one guess per key.
 * @module
 */
import { ChaCha20Poly1305, newInstance } from '@chainsafe/as-chacha20poly1305'

/** Messages (plaintext bytes) shorter than this are sealed and opened here. */
export const SMALL_AEAD_BYTES = 448
/** The library's limit on additional data. */
const MAX_AD_BYTES = 32
const TAG_LENGTH = 16

/** One instance (its memory holds the key, nonce and a 64 KiB work area), used synchronously. */
const aead = new ChaCha20Poly1305(newInstance())

/** Whether a message of `plaintextLength` bytes with this additional data is sealed/opened here. */
export function isSmallAead(plaintextLength: number, ad: Uint8Array): boolean {
  return plaintextLength < SMALL_AEAD_BYTES && ad.length <= MAX_AD_BYTES
}

/**
 * Ciphertext followed by the 16-byte tag, in a slice of Node's buffer pool: a sealed frame is
 * written to its socket and dropped, so it does not pin the pool slab for long.
 */
export function sealSmall(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(plaintext.length + TAG_LENGTH)
  aead.seal(key, nonce, plaintext, ad, out)
  return out
}

/**
 * The plaintext, or null when the tag does not match; `ciphertext` is at least the tag long.
 * The plaintext gets its own memory (not the pool): a received message can be kept for a
 * long time (pubsub's message cache) and must not keep a shared slab alive.
 */
export function openSmall(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | null {
  return aead.open(key, nonce, ciphertext, ad)
}

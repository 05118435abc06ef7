/**
 * Seeded randomness for machines, its state kept in context (machines never call Math.random).
 *
 * Two generators: `Rng` (xoshiro128**, fast, for peer selection, jitter and shuffles) and
 * `Drbg` (ChaCha20 keystream, for key material such as Noise ephemeral keys). Both are pure
 * functions of their state; the state is mutated in place and lives in the owning actor's
 * context. The shell seeds them from crypto.getRandomValues in production and from a fixed
 * seed in tests and simulation, so a seed replays the same network.
 * @module
 */
import { chacha20 } from '@noble/ciphers/chacha.js'

/** xoshiro128** state: four 32-bit words, not all zero. */
export interface Rng { s: Uint32Array }

/** A generator seeded from any bytes (splitmix32 expands them to the state). */
export function createRng(seed: Uint8Array | number): Rng {
  let x = typeof seed === 'number' ? seed >>> 0 : fold(seed)
  const s = new Uint32Array(4)
  for (let i = 0; i < 4; i++) {
    x = (x + 0x9e3779b9) >>> 0
    let z = x
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    s[i] = (z ^ (z >>> 16)) >>> 0
  }
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1
  return { s }
}

function fold(bytes: Uint8Array): number {
  let h = 0x811c9dc5
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0
  return h
}

/** Next 32-bit unsigned integer. */
export function nextU32(rng: Rng): number {
  const s = rng.s
  const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0
  const t = (s[1] << 9) >>> 0
  s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]
  s[2] ^= t
  s[3] = rotl(s[3], 11)
  return result
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}

/** Uniform float in [0, 1). */
export function nextFloat(rng: Rng): number {
  return nextU32(rng) / 0x1_0000_0000
}

/** Uniform integer in [0, n). */
export function nextInt(rng: Rng, n: number): number {
  return Math.floor(nextFloat(rng) * n)
}

/**
 * The first wait of a periodic timer: whole ms in (0, period], one draw. Nodes started together
 * then fire at their own points of the first period and keep those phases, instead of all in
 * the same millisecond every period (pubsub's heartbeat; discovery's tick, republish, sweep).
 */
export function firstPeriodDelay(rng: Rng, period: number): number {
  return 1 + nextInt(rng, period)
}

/** A fresh array with `items` in random order (Fisher–Yates). */
export function shuffled<T>(rng: Rng, items: Iterable<T>): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = nextInt(rng, i + 1)
    const tmp = out[i]; out[i] = out[j]; out[j] = tmp
  }
  return out
}

/** Up to `n` distinct items chosen at random. */
export function sample<T>(rng: Rng, items: Iterable<T>, n: number): T[] {
  const all = shuffled(rng, items)
  return all.length <= n ? all : all.slice(0, n)
}

/** A ChaCha20 keystream generator for key material. */
export interface Drbg { key: Uint8Array; counter: number }

export function createDrbg(seed: Uint8Array): Drbg {
  if (seed.length !== 32) throw new RangeError(`"seed" expected Uint8Array of length 32, got length=${seed.length}`)
  return { key: Uint8Array.from(seed), counter: 0 }
}

/** `n` bytes of keystream; each call uses a fresh nonce. */
export function drbgBytes(drbg: Drbg, n: number): Uint8Array {
  const nonce = new Uint8Array(12)
  new DataView(nonce.buffer).setFloat64(4, drbg.counter++, true)
  return chacha20(drbg.key, nonce, new Uint8Array(n))
}

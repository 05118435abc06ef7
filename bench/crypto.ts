/**
 * Crypto micro-benchmark: nobleSuite, opensslSuite (node:crypto) and nativeSuite (libsodium where
 * sodium-native loads): ed25519 sign (one seed, and ten in turn as when several swarms in one
 * process sign) and verify, x25519, ChaCha20-Poly1305 at a Noise frame's sizes (64 B, 4 KiB,
 * 64 KiB) and a full Noise XX handshake, both sides in one process.
 *
 * Prints one line per figure and a JSON summary; it asserts nothing (figures vary by machine).
 * Run after a build: `node dist/bench/crypto.js [milliseconds per figure, default 1000]`.
 * @module
 */
import { randomBytes } from 'node:crypto'
import type { CryptoSuite } from '../machines/lib/crypto.js'
import { nobleSuite } from '../machines/lib/crypto-noble.js'
import { nativeBackend, nativeSuite } from '../src/crypto/native.js'
import { opensslSuite } from '../src/crypto/openssl.js'
import { initHandshake, isNoiseError, readMessage, writeMessage, type HandshakeState } from '../machines/secure/noise.js'

const budgetMs = Number(process.argv[2] ?? 1000)

/** Runs `fn` repeatedly for about `budgetMs` (after a short warm-up) and returns operations per second. */
function opsPerSecond(fn: () => unknown): number {
  const warmUntil = performance.now() + Math.min(200, budgetMs / 5)
  while (performance.now() < warmUntil) fn()
  let ops = 0
  const start = performance.now()
  let now = start
  while (now - start < budgetMs) {
    for (let i = 0; i < 8; i++) fn()
    ops += 8
    now = performance.now()
  }
  return (ops * 1000) / (now - start)
}

function must<T extends object>(result: T): Exclude<T, { error: string }> {
  if ('error' in result) throw new Error(`handshake failed: ${String(result.error)}`)
  return result as Exclude<T, { error: string }>
}

function handshake(suite: CryptoSuite, a: Uint8Array, b: Uint8Array): void {
  const prologue = new Uint8Array(0)
  const common = { suite, pattern: 'XX' as const, prologue }
  let i: HandshakeState = initHandshake({
    ...common,
    initiator: true,
    staticKey: { privateKey: a, publicKey: suite.x25519PublicKey(a) },
    ephemeralPrivateKey: randomBytes(32),
  })
  let r: HandshakeState = initHandshake({
    ...common,
    initiator: false,
    staticKey: { privateKey: b, publicKey: suite.x25519PublicKey(b) },
    ephemeralPrivateKey: randomBytes(32),
  })
  const payload = new Uint8Array(96)
  const w1 = must(writeMessage(i, payload))
  const r1 = must(readMessage(r, w1.message))
  const w2 = must(writeMessage(r1.state, payload))
  const r2 = must(readMessage(w1.state, w2.message))
  const w3 = must(writeMessage(r2.state, payload))
  const r3 = must(readMessage(w2.state, w3.message))
  i = w3.state
  r = r3.state
  if (!i.complete || !r.complete || isNoiseError(r3) || !r3.split) throw new Error('handshake incomplete')
}

function run(suite: CryptoSuite): Record<string, number> {
  const seed = randomBytes(32)
  const pub = suite.ed25519PublicKey(seed)
  const msg = randomBytes(128)
  const sig = suite.ed25519Sign(seed, msg)
  const xa = randomBytes(32)
  const xbPub = suite.x25519PublicKey(randomBytes(32))
  const key = randomBytes(32)
  const nonce = randomBytes(12)
  const ad = new Uint8Array(0)
  const block = randomBytes(64 * 1024)
  const sealed = suite.aeadEncrypt(key, nonce, ad, block)
  const small = randomBytes(64)
  const sealedSmall = suite.aeadEncrypt(key, nonce, ad, small)
  const frame = randomBytes(4096)
  const sealedFrame = suite.aeadEncrypt(key, nonce, ad, frame)
  const statics = [randomBytes(32), randomBytes(32)]
  // ten identities signing in turn: several swarms in one process (tests, simulations, benchmarks)
  const seeds = Array.from({ length: 10 }, () => randomBytes(32))
  let turn = 0
  const MiB = 1024 * 1024
  return {
    'ed25519 sign (ops/s)': opsPerSecond(() => suite.ed25519Sign(seed, msg)),
    'ed25519 sign, 10 seeds in turn (ops/s)': opsPerSecond(() => suite.ed25519Sign(seeds[turn++ % 10], msg)),
    'ed25519 verify (ops/s)': opsPerSecond(() => suite.ed25519Verify(sig, msg, pub)),
    'x25519 (ops/s)': opsPerSecond(() => suite.x25519(xa, xbPub)),
    'aead encrypt 64 B (ops/s)': opsPerSecond(() => suite.aeadEncrypt(key, nonce, ad, small)),
    'aead decrypt 64 B (ops/s)': opsPerSecond(() => suite.aeadDecrypt(key, nonce, ad, sealedSmall)),
    'aead encrypt 4 KiB (ops/s)': opsPerSecond(() => suite.aeadEncrypt(key, nonce, ad, frame)),
    'aead decrypt 4 KiB (ops/s)': opsPerSecond(() => suite.aeadDecrypt(key, nonce, ad, sealedFrame)),
    'aead encrypt 64 KiB (MB/s)': (opsPerSecond(() => suite.aeadEncrypt(key, nonce, ad, block)) * block.length) / MiB,
    'aead decrypt 64 KiB (MB/s)': (opsPerSecond(() => suite.aeadDecrypt(key, nonce, ad, sealed)) * block.length) / MiB,
    'sha256 64 B (ops/s)': opsPerSecond(() => suite.sha256(msg.subarray(0, 64))),
    'XX handshake, both sides (handshakes/s)': opsPerSecond(() => handshake(suite, statics[0], statics[1])),
  }
}

const results: Record<string, Record<string, number>> = {}
for (const suite of [nobleSuite, opensslSuite, nativeSuite]) results[suite.name] = run(suite)
const rows = Object.keys(results.noble)
// the last column: native against openssl (what libsodium gains where sodium-native loads)
console.log(`nativeSuite runs on ${nativeBackend}`)
console.log(`${'figure'.padEnd(42)}${'noble'.padStart(12)}${'openssl'.padStart(12)}${'native'.padStart(12)}${'x'.padStart(8)}`)
for (const row of rows) {
  const [n, o, v] = [results.noble[row], results.openssl[row], results.native[row]]
  console.log(`${row.padEnd(42)}${n.toFixed(0).padStart(12)}${o.toFixed(0).padStart(12)}${v.toFixed(0).padStart(12)}${(v / o).toFixed(2).padStart(8)}`)
}
console.log(JSON.stringify({ node: process.version, nativeBackend, budgetMs, results }))

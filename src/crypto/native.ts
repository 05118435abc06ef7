/**
 * nativeSuite: the CryptoSuite the shell hands the machines on Node, several times faster than
 * the portable nobleSuite (machines/lib/crypto-noble.ts).
 *
 * Where the `sodium-native` binary loads it is libsodium (./sodium.ts: Ed25519, X25519,
 * ChaCha20-Poly1305) with SHA-256, HMAC and long messages (from 8 KiB; from 32 KiB to verify)
 * from node:crypto; elsewhere it is opensslSuite (./openssl.ts), all node:crypto. Both pass the
 * known-answer and strictness tests of every suite (test/unit/crypto.test.ts) and give the same
 * bytes for the same inputs, so nodes on either, or on noble, interoperate and a recording
 * replays on any of them. The browser build maps this file to src/browser/native.ts (noble).
 * @module
 */
import type { CryptoSuite } from '../../machines/lib/crypto.js'
import { opensslSuite } from './openssl.js'
import { loadSodium, sodiumSuite } from './sodium.js'

const sodium = loadSodium()

/** The library nativeSuite runs on here: 'libsodium', or 'openssl' where sodium-native does not load. */
export const nativeBackend: 'libsodium' | 'openssl' = sodium === null ? 'openssl' : 'libsodium'

/** The Node suite. See ./sodium.ts and ./openssl.ts for what each checks. */
export const nativeSuite: CryptoSuite = sodium === null ? { ...opensslSuite, name: 'native' } : sodiumSuite(sodium, opensslSuite)

/**
 * Handshake baselines in memory, both sides in one call: a bare Noise XX handshake
 * (machines/secure/noise.ts), and the same with the identity payload the swarm carries (each
 * side verifies the other's ed25519 signature over its Noise static key and derives the peer
 * id: what handshake.machine.ts adds). No XState, no sockets: the cryptographic floor of a
 * connection setup.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { identityBindingMessage } from '../../machines/handshake.machine.js'
import type { CryptoSuite } from '../../machines/lib/crypto.js'
import { peerIdFromPublicKey } from '../../machines/lib/peer-id.js'
import { initHandshake, isNoiseError, readMessage, writeMessage, type HandshakeState, type NoiseError, type ReadResult, type WriteResult } from '../../machines/secure/noise.js'

interface Side {
  staticKey: { privateKey: Uint8Array; publicKey: Uint8Array }
  identity: Uint8Array
  payload: Uint8Array
}

function must<T extends object>(result: T | NoiseError): T {
  if (isNoiseError(result)) throw new Error(`handshake failed: ${result.error}`)
  return result as T
}

function side(suite: CryptoSuite): Side {
  const secret = randomBytes(32)
  const identity = suite.ed25519PublicKey(secret)
  const s = randomBytes(32)
  const staticKey = { privateKey: s, publicKey: suite.x25519PublicKey(s) }
  const payload = new Uint8Array(96)
  payload.set(identity, 0)
  payload.set(suite.ed25519Sign(secret, identityBindingMessage(staticKey.publicKey)), 32)
  return { staticKey, identity, payload }
}

function verify(suite: CryptoSuite, payload: Uint8Array, remoteStatic: Uint8Array | null): string {
  const identity = payload.subarray(0, 32)
  if (!remoteStatic || !suite.ed25519Verify(payload.subarray(32, 96), identityBindingMessage(remoteStatic), identity)) {
    throw new Error('identity check failed')
  }
  return peerIdFromPublicKey(suite.sha256, identity)
}

/** A function running one full handshake between two fixed identities (fresh ephemerals each time). */
export function handshaker(suite: CryptoSuite, withIdentity: boolean): () => void {
  const a = side(suite)
  const b = side(suite)
  const prologue = new TextEncoder().encode('xswarm/1')
  const empty = new Uint8Array(0)
  return () => {
    const i0: HandshakeState = initHandshake({ suite, pattern: 'XX', initiator: true, prologue, staticKey: a.staticKey, ephemeralPrivateKey: randomBytes(32) })
    const r0: HandshakeState = initHandshake({ suite, pattern: 'XX', initiator: false, prologue, staticKey: b.staticKey, ephemeralPrivateKey: randomBytes(32) })
    const w1 = must<WriteResult>(writeMessage(i0, empty))
    const r1 = must<ReadResult>(readMessage(r0, w1.message))
    const w2 = must<WriteResult>(writeMessage(r1.state, withIdentity ? b.payload : empty))
    const r2 = must<ReadResult>(readMessage(w1.state, w2.message))
    if (withIdentity) verify(suite, r2.payload, r2.state.remoteStatic)
    const w3 = must<WriteResult>(writeMessage(r2.state, withIdentity ? a.payload : empty))
    const r3 = must<ReadResult>(readMessage(w2.state, w3.message))
    if (withIdentity) verify(suite, r3.payload, r3.state.remoteStatic)
    if (!w3.split || !r3.split) throw new Error('handshake did not complete')
  }
}

/**
 * Duplicates that still cross a socket are counted, in messages and in data bytes (the metric
 * `xswarm_pubsub_duplicate_bytes_total`): the first copy of a message is delivered, every later
 * copy from another peer counts once with its data length.
 */
import { describe, expect, it } from 'vitest'
import { ed25519 } from '@noble/curves/ed25519.js'
import { PUBSUB_ID } from '../../machines/pubsub/pubsub.machine.js'
import { signedBytes } from '../../machines/pubsub/wire.js'
import { protocolSignedBytes } from '../../machines/lib/signer.js'
import { startPubsub, testKey } from '../helpers/pubsub-actor.js'

const key = (i: number) => testKey(`dup-${i}`)

describe('pubsub duplicates', () => {
  it('two more copies of a 1,000-byte message: 2 duplicates, 2,000 duplicate bytes, one delivery', () => {
    const { actor } = startPubsub({}, key(0))
    let delivered = 0
    actor.on('*', (e: { type: string }) => { if (e.type === 'pubsub.message') delivered++ })
    actor.send({ type: 'pubsub.subscribe', topic: 't' } as never)
    const peers = [1, 2, 3].map((i) => key(100 + i).peerId)
    for (const peer of peers) {
      actor.send({ type: 'peer.connected', peer, direction: 'outbound', address: '' } as never)
      actor.send({ type: 'message', peer, body: { sub: [{ t: 't', on: true }] } } as never)
    }
    const author = key(1)
    const d = new Uint8Array(1000).fill(7)
    const { buffer, signedLength } = signedBytes(author.peerId, 1, 't', d)
    const s = ed25519.sign(protocolSignedBytes(PUBSUB_ID, buffer.subarray(0, signedLength)), author.secretKey)
    for (const peer of peers) {
      actor.send({ type: 'message', peer, body: { msg: [{ f: author.peerId, k: author.publicKey, n: 1, t: 't', d: d.slice(), s }] } } as never)
    }
    const router = (actor.getSnapshot().context as { s: { duplicates: number; duplicateBytes: number } }).s
    expect(delivered).toBe(1)
    expect(router.duplicates).toBe(2)
    expect(router.duplicateBytes).toBe(2000)
    actor.stop()
  })
})

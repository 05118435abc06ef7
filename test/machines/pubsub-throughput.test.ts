/**
 * Throughput of one pubsub actor at machine level: messages per second through
 * receive → dedup → author check → ed25519 verify → deliver → forward to the mesh, with the
 * portable nobleSuite and the node:crypto nativeSuite. Each message also arrives a second time
 * from another mesh peer (the duplicate costs a hash and a lookup, no verify).
 *
 * A measurement, not a timed assertion: it runs only with PUBSUB_BENCH=1 and prints a table.
 *   PUBSUB_BENCH=1 npx vitest run test/machines/pubsub-throughput.test.ts
 */
import { describe, expect, it } from 'vitest'
import { createActor, SimulatedClock } from 'xstate'
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { base58 } from '@scure/base'
import { nobleSuite } from '../../machines/lib/crypto-noble.js'
import type { CryptoSuite } from '../../machines/lib/crypto.js'
import { nativeSuite } from '../../src/crypto/native.js'
import { pubsubProtocol, PUBSUB_ID } from '../../machines/pubsub/pubsub.machine.js'
import { signedBytes, type WireMessage } from '../../machines/pubsub/wire.js'
import { createSignerIssuer, protocolSignedBytes } from '../../machines/lib/signer.js'

function key(i: number) {
  const secretKey = sha256(new TextEncoder().encode(`bench-${i}`))
  const publicKey = ed25519.getPublicKey(secretKey)
  return { secretKey, publicKey, peerId: base58.encode(sha256(publicKey)) }
}

function messages(count: number, size: number): WireMessage[] {
  const authors = [key(1), key(2), key(3), key(4)]
  return Array.from({ length: count }, (_, n) => {
    const a = authors[n % authors.length]
    const d = new Uint8Array(size).fill(n & 0xff)
    const { buffer, signedLength } = signedBytes(a.peerId, n, 'bench', d)
    const s = ed25519.sign(protocolSignedBytes(PUBSUB_ID, buffer.subarray(0, signedLength)), a.secretKey)
    return { f: a.peerId, k: a.publicKey, n, t: 'bench', d, s }
  })
}

function measure(crypto: CryptoSuite, msgs: WireMessage[]): { perSecond: number; sends: number; delivered: number } {
  const me = key(0)
  const protocol = pubsubProtocol()
  const actor = createActor(protocol.machine, {
    clock: new SimulatedClock(),
    input: {
      peerId: me.peerId, protocol: PUBSUB_ID, seed: new Uint8Array(32), options: protocol.options, addresses: [],
      crypto, publicKey: me.publicKey, signer: createSignerIssuer(nobleSuite, me.secretKey).issue(PUBSUB_ID),
    },
  } as never)
  let sends = 0
  let delivered = 0
  actor.on('*', (e: { type: string }) => {
    if (e.type === 'effect.send') sends++
    else if (e.type === 'pubsub.message') delivered++
  })
  actor.start()
  actor.send({ type: 'pubsub.subscribe', topic: 'bench' } as never)
  const peers = Array.from({ length: 8 }, (_, i) => key(100 + i).peerId)
  for (const peer of peers) {
    actor.send({ type: 'peer.connected', peer, direction: 'outbound', address: '' } as never)
    actor.send({ type: 'message', peer, body: { sub: [{ t: 'bench', on: true }], ctl: { graft: ['bench'] } } } as never)
  }
  sends = 0
  const started = performance.now()
  for (const m of msgs) {
    actor.send({ type: 'message', peer: peers[0], body: { msg: [m] } } as never)
    actor.send({ type: 'message', peer: peers[1], body: { msg: [m] } } as never)
  }
  const seconds = (performance.now() - started) / 1000
  actor.stop()
  return { perSecond: Math.round(msgs.length / seconds), sends, delivered }
}

describe.runIf(process.env.PUBSUB_BENCH)('pubsub throughput (one actor)', () => {
  it('measures noble vs native', () => {
    const rows: string[] = []
    for (const size of [100, 4096]) {
      const msgs = messages(3000, size)
      // The last row stubs verification out: the router's own cost (hashing, XState, batching).
      const routerOnly: CryptoSuite = { ...nativeSuite, name: 'no-verify', ed25519Verify: () => true }
      for (const crypto of [nobleSuite, nativeSuite, routerOnly]) {
        measure(crypto, msgs.slice(0, 1000)) // warm-up
        const runs = [measure(crypto, msgs), measure(crypto, msgs)]
        const r = runs[0].perSecond >= runs[1].perSecond ? runs[0] : runs[1] // best of two
        expect(r.delivered).toBe(msgs.length)
        rows.push(`${crypto.name.padEnd(7)} ${String(size).padStart(5)} B  ${String(r.perSecond).padStart(7)} msg/s  (${r.sends} frames out)`)
      }
    }
    const verifies = (suite: CryptoSuite): number => {
      const msg = new Uint8Array(200)
      const k = key(1)
      const sig = ed25519.sign(msg, k.secretKey)
      const started = performance.now()
      let n = 0
      while (performance.now() - started < 500) { suite.ed25519Verify(sig, msg, k.publicKey); n++ }
      return Math.round(n / ((performance.now() - started) / 1000))
    }
    rows.push(`raw ed25519Verify/s: noble ${verifies(nobleSuite)}, native ${verifies(nativeSuite)}`)
    console.log(`unique messages/s (each also received once more as a duplicate), mesh of 8:\n${rows.join('\n')}`)
  }, 120_000)
})

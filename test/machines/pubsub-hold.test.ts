/**
 * The forward of a large message waits (`forwardHold`, receive.machine.ts `holding`): the
 * message is delivered at once and its IDONTWANT leaves at once on its own; the forward follows
 * when the hold is over and skips the mesh peers that said IDONTWANT or sent a copy meanwhile,
 * and those that left. Small messages (below `forwardHoldMinSize`), and every message with
 * `forwardHold: 0`, are forwarded at once, in the same frame as the IDONTWANT.
 */
import { describe, expect, it } from 'vitest'
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { PUBSUB_ID, type PubsubProtocolOptions } from '../../machines/pubsub/pubsub.machine.js'
import { signedBytes, type WireMessage } from '../../machines/pubsub/wire.js'
import { protocolSignedBytes } from '../../machines/lib/signer.js'
import { startPubsub, testKey } from '../helpers/pubsub-actor.js'

const key = (i: number) => testKey(`hold-${i}`)
const author = key(1)
const [a, b, c, d, e] = [1, 2, 3, 4, 5].map((i) => key(100 + i).peerId)

function message(size: number): { msg: WireMessage; id: Uint8Array } {
  const data = new Uint8Array(size).fill(3)
  const { buffer, signedLength } = signedBytes(author.peerId, 1, 't', data)
  const s = ed25519.sign(protocolSignedBytes(PUBSUB_ID, buffer.subarray(0, signedLength)), author.secretKey)
  buffer.set(s, signedLength)
  return { msg: { f: author.peerId, k: author.publicKey, n: 1, t: 't', d: data, s }, id: sha256(buffer).slice(0, 20) }
}

type Out = { type: string; peer?: string; body?: any }

/** Us, subscribed to 't' with a..e in the mesh; what we emit. */
function meshOfFive(options: PubsubProtocolOptions = {}) {
  const { actor, clock } = startPubsub(options, key(0))
  const out: Out[] = []
  actor.on('*', (ev: Out) => { out.push(ev) })
  for (const peer of [a, b, c, d, e]) {
    actor.send({ type: 'peer.connected', peer, direction: 'outbound', address: '' } as never)
    actor.send({ type: 'message', peer, body: { sub: [{ t: 't', on: true }] } } as never)
  }
  actor.send({ type: 'pubsub.subscribe', topic: 't' } as never)
  out.length = 0
  const rpc = (peer: string, body: unknown): void => actor.send({ type: 'message', peer, body } as never)
  const sends = (peer: string): unknown[] => out.filter((o) => o.type === 'effect.send' && o.peer === peer).map((o) => o.body)
  const delivered = (): number => out.filter((o) => o.type === 'pubsub.message').length
  return { actor, clock, out, rpc, sends, delivered }
}

describe('pubsub: the forward of a large message waits for IDONTWANTs', () => {
  it('delivers at once, sends IDONTWANT alone, forwards after the hold to the peers that still want it', () => {
    const n = meshOfFive({ forwardHold: 5 })
    const { msg, id } = message(20_000)
    n.rpc(a, { msg: [msg] })
    expect(n.delivered()).toBe(1)
    for (const peer of [b, c, d, e]) expect(n.sends(peer)).toEqual([{ ctl: { idw: [id] } }])
    expect(n.sends(a)).toEqual([])
    n.out.length = 0
    n.rpc(b, { ctl: { idw: [id] } })
    n.rpc(c, { msg: [{ ...msg, d: msg.d.slice() }] })
    n.actor.send({ type: 'peer.disconnected', peer: e, reason: 'test' } as never)
    n.clock.increment(4)
    expect(n.out.filter((o) => o.type === 'effect.send')).toEqual([])
    n.clock.increment(1)
    expect(n.sends(d)).toEqual([{ msg: [msg] }])
    for (const peer of [a, b, c, e]) expect(n.sends(peer)).toEqual([])
    expect(n.delivered()).toBe(0)
    n.actor.stop()
  })

  it('forwards a small message, or any with forwardHold 0, at once with its IDONTWANT', () => {
    for (const [options, size] of [[{}, 2048], [{ forwardHold: 0 }, 20_000]] as const) {
      const n = meshOfFive(options)
      const { msg, id } = message(size)
      n.rpc(a, { msg: [msg] })
      for (const peer of [b, c, d, e]) expect(n.sends(peer)).toEqual([{ msg: [msg], ctl: { idw: [id] } }])
      n.actor.stop()
    }
  })

  it('holds the forward of a message the validator accepted too', () => {
    const n = meshOfFive({ validate: () => 'accept', forwardHold: 5 })
    const { msg } = message(20_000)
    n.rpc(a, { msg: [msg] })
    const call = n.out.find((o) => o.type === 'effect.call') as unknown as { callId: number }
    n.actor.send({ type: 'call.done', callId: call.callId, value: 'accept' } as never)
    expect(n.delivered()).toBe(1)
    expect(n.sends(b).some((body) => (body as { msg?: unknown }).msg)).toBe(false)
    n.clock.increment(5)
    expect(n.sends(b).at(-1)).toEqual({ msg: [msg] })
    n.actor.stop()
  })
})

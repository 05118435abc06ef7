/**
 * Large messages are pulled between mesh peers (announce.ts): a forwarder announces a message of
 * announceMinSize or more (IANNOUNCE) instead of pushing it; a peer that lacks it asks one
 * announcer (INEED) and the next one when that one leaves or has not answered within
 * needTimeout; an announce also means IDONTWANT. Small messages are still pushed. An IWANT
 * is answered even after the same peer's IDONTWANT. An announce is a promise: an INEED left
 * unanswered is a behaviour penalty, and a peer below the gossip threshold is not asked; INEED
 * is answered only for what was announced to the asker. Within a heartbeat's push budget a large
 * message is still pushed (the tests but the budget's own run with pushBudget 0: always announce).
 */
import { describe, expect, it } from 'vitest'
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { PUBSUB_ID, type PubsubProtocolOptions } from '../../machines/pubsub/pubsub.machine.js'
import { signedBytes, type WireMessage } from '../../machines/pubsub/wire.js'
import { computeScore } from '../../machines/pubsub/score.js'
import { protocolSignedBytes } from '../../machines/lib/signer.js'
import { startPubsub, testKey } from '../helpers/pubsub-actor.js'

const key = (i: number) => testKey(`announce-${i}`)
const author = key(1)
const [a, b, c, d, e] = [1, 2, 3, 4, 5].map((i) => key(100 + i).peerId)

function message(size: number, n = 1): { msg: WireMessage; id: Uint8Array } {
  const data = new Uint8Array(size).fill(n)
  const { buffer, signedLength } = signedBytes(author.peerId, n, 't', data)
  const s = ed25519.sign(protocolSignedBytes(PUBSUB_ID, buffer.subarray(0, signedLength)), author.secretKey)
  buffer.set(s, signedLength)
  return { msg: { f: author.peerId, k: author.publicKey, n, t: 't', d: data, s }, id: sha256(buffer).slice(0, 20) }
}

type Out = { type: string; peer?: string; body?: any }

/** Us, subscribed to 't' with a..e in the mesh; what we emit. Large messages always announced unless `pushBudget` is given. */
function meshOfFive(options: PubsubProtocolOptions = {}) {
  const { actor, clock } = startPubsub({ pushBudget: 0, ...options }, key(0))
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
  const router = (): any => actor.getSnapshot().context.s
  const score = (peer: string): number => computeScore(router().peers.get(peer).stats, router().params.score, clock.now())
  return { actor, clock, out, rpc, sends, delivered, router, score, clear: () => { out.length = 0 } }
}

describe('pubsub: large messages are announced and pulled', () => {
  it('forwards a large message as an announce to the mesh peers but its sender; a small one is pushed', () => {
    const n = meshOfFive()
    const large = message(20_000)
    n.rpc(a, { msg: [large.msg] })
    expect(n.delivered()).toBe(1)
    for (const peer of [b, c, d, e]) expect(n.sends(peer)).toEqual([{ ctl: { iann: [large.id] } }])
    expect(n.sends(a)).toEqual([])
    n.clear()
    const small = message(2048, 2)
    n.rpc(a, { msg: [small.msg] })
    for (const peer of [b, c, d, e]) expect(n.sends(peer)).toEqual([{ msg: [small.msg], ctl: { idw: [small.id] } }])
    n.actor.stop()
  })

  it('pushes large messages (with IDONTWANT) until the push budget is spent; a heartbeat interval that spent it makes the next one announce all', () => {
    const n = meshOfFive({ pushBudget: 100_000 })
    const pushed = (m: ReturnType<typeof message>) => ({ msg: [m.msg], ctl: { idw: [m.id] } })
    const announced = (m: ReturnType<typeof message>) => ({ ctl: { iann: [m.id] } })
    const [first, second, third, fourth, fifth] = [1, 2, 3, 4, 5].map((i) => message(20_000, i))
    const forwardOf = (m: ReturnType<typeof message>) => {
      n.clear()
      n.rpc(a, { msg: [m.msg] })
      expect(n.delivered()).toBe(1)
      const each = n.sends(b)
      for (const peer of [c, d, e]) expect(n.sends(peer)).toEqual(each)
      expect(n.sends(a)).toEqual([])
      return each
    }
    // 4 peers × 20 KB = 80 KB a forward: the first is within the budget, the second spends it.
    expect(forwardOf(first)).toEqual([pushed(first)])
    expect(forwardOf(second)).toEqual([pushed(second)])
    expect(forwardOf(third)).toEqual([announced(third)])
    n.clock.increment(1_000) // a heartbeat after an interval that spent the budget: busy
    expect(forwardOf(fourth)).toEqual([announced(fourth)])
    n.clock.increment(2_000) // an interval with less than the budget forwarded: quiet again
    expect(forwardOf(fifth)).toEqual([pushed(fifth)])
    n.actor.stop()
  })

  it('asks one announcer; when it disconnects, asks the next at once; the message then skips every announcer', () => {
    const n = meshOfFive()
    const { msg, id } = message(20_000)
    n.rpc(b, { ctl: { iann: [id] } })
    n.rpc(c, { ctl: { iann: [id] } })
    expect(n.sends(b)).toEqual([{ ctl: { ineed: [id] } }])
    expect(n.sends(c)).toEqual([])
    n.clear()
    n.actor.send({ type: 'peer.disconnected', peer: b, reason: 'test' } as never)
    expect(n.sends(c)).toEqual([{ ctl: { ineed: [id] } }])
    n.clear()
    n.rpc(c, { msg: [msg] })
    expect(n.delivered()).toBe(1)
    for (const peer of [a, d, e]) expect(n.sends(peer)).toEqual([{ ctl: { iann: [id] } }])
    expect(n.sends(b)).toEqual([])
    expect(n.sends(c)).toEqual([])
    n.actor.stop()
  })

  it('asks the next announcer when one has not answered within needTimeout (at the heartbeat)', () => {
    const n = meshOfFive({ needTimeout: 1000 })
    const { id } = message(20_000)
    n.rpc(b, { ctl: { iann: [id] } })
    n.rpc(c, { ctl: { iann: [id] } })
    n.clear()
    n.clock.increment(1000)
    expect(n.sends(c)).toEqual([{ ctl: { ineed: [id] } }])
    n.actor.stop()
  })

  it('answers INEED once, only for a message it announced to the asker', () => {
    const n = meshOfFive({ gossipRetransmission: 2 })
    const { msg, id } = message(20_000)
    n.rpc(a, { msg: [msg] })
    n.clear()
    for (let i = 0; i < 3; i++) n.rpc(b, { ctl: { ineed: [id, message(20_000, 9).id] } })
    expect(n.sends(b)).toEqual([{ msg: [msg] }])
    n.rpc(a, { ctl: { ineed: [id] } })
    expect(n.sends(a)).toEqual([])
    n.actor.stop()
  })

  it('an announcer that does not answer within needTimeout is penalized and the next one asked; one that keeps doing it is no longer asked', () => {
    const n = meshOfFive({ needTimeout: 1000 })
    const first = message(20_000, 1)
    n.rpc(b, { ctl: { iann: [first.id] } })
    n.rpc(c, { ctl: { iann: [first.id] } })
    const before = n.score(b)
    n.clear()
    n.clock.increment(1000)
    expect(n.sends(c)).toEqual([{ ctl: { ineed: [first.id] } }])
    expect(n.score(b)).toBeLessThan(before)
    expect(n.score(c)).toBeGreaterThanOrEqual(0)
    n.rpc(c, { msg: [first.msg] })
    n.clock.increment(1000)
    expect(n.score(c)).toBeGreaterThanOrEqual(0)
    const second = message(20_000, 2)
    n.rpc(b, { ctl: { iann: [second.id] } })
    n.clock.increment(1000)
    expect(n.score(b)).toBeLessThan(n.router().params.score.gossipThreshold)
    n.clear()
    const third = message(20_000, 3)
    n.rpc(b, { ctl: { iann: [third.id] } })
    n.rpc(d, { ctl: { iann: [third.id] } })
    expect(n.sends(b)).toEqual([])
    expect(n.sends(d)).toEqual([{ ctl: { ineed: [third.id] } }])
    n.actor.stop()
  })

  it('counts at most one broken promise per announcer per heartbeat', () => {
    const n = meshOfFive({ needTimeout: 1000 })
    n.rpc(b, { ctl: { iann: [1, 2, 3, 4].map((i) => message(20_000, i).id) } })
    n.clock.increment(1000)
    expect(n.router().peers.get(b).stats.behaviour).toBe(1)
    n.actor.stop()
  })

  it('drops a request when the message arrives another way: no penalty, nobody else asked', () => {
    const n = meshOfFive({ needTimeout: 1000 })
    const { msg, id } = message(20_000)
    n.rpc(b, { ctl: { iann: [id] } })
    n.rpc(c, { ctl: { iann: [id] } })
    n.rpc(d, { msg: [msg] })
    expect(n.router().needs.size).toBe(0)
    n.clear()
    n.clock.increment(1000)
    expect(n.sends(c).filter((body: any) => body.ctl?.ineed)).toEqual([])
    expect(n.router().peers.get(b).stats.behaviour).toBe(0)
    n.actor.stop()
  })

  it('an announcer that answers after we left the topic kept its promise: no penalty', () => {
    const n = meshOfFive({ needTimeout: 1000 })
    const { msg, id } = message(20_000)
    n.rpc(b, { ctl: { iann: [id] } })
    expect(n.sends(b)).toEqual([{ ctl: { ineed: [id] } }])
    n.actor.send({ type: 'pubsub.unsubscribe', topic: 't' } as never)
    n.rpc(b, { msg: [msg] })
    expect(n.delivered()).toBe(0)
    n.clock.increment(1000)
    expect(n.router().peers.get(b).stats.behaviour).toBe(0)
    n.actor.stop()
  })

  it('keeps nothing for an announce of a message it has, nor past maxAnnouncedPerHeartbeat', () => {
    const n = meshOfFive({ maxAnnouncedPerHeartbeat: 3 })
    const had = message(20_000)
    n.rpc(a, { msg: [had.msg] })
    n.clear()
    n.rpc(b, { ctl: { iann: [had.id] } })
    expect(n.sends(b)).toEqual([])
    n.rpc(c, { ctl: { iann: [2, 3, 4, 5, 6].map((i) => message(20_000, i).id) } })
    expect(n.router().needs.size).toBe(3)
    expect(n.router().peers.get(c).dontWant.size).toBe(3)
    n.actor.stop()
  })

  it('answers an IWANT that follows the same peer\'s IDONTWANT or announce (it asks because it dropped the message)', () => {
    const n = meshOfFive()
    const small = message(2048)
    const large = message(20_000, 2)
    n.rpc(a, { msg: [small.msg, large.msg] })
    n.rpc(b, { ctl: { idw: [small.id], iann: [large.id] } })
    n.clear()
    n.rpc(b, { ctl: { iwant: [small.id, large.id] } })
    expect(n.sends(b)).toEqual([{ msg: [small.msg, large.msg] }])
    n.actor.stop()
  })
})

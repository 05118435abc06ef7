/**
 * The actors protocol machine alone (no swarm, no shell; actors-harness.ts): a SimulatedClock
 * for its timers and the frames, calls and events it emits. Also the wire checks, and an
 * xstate/graph walk of its chart.
 * @module
 */
import { describe, expect, it } from 'vitest'
import { getShortestPaths } from 'xstate/graph'
import { actorsMachine, ACTORS_ID } from '../../machines/actors/actors.machine.js'
import { DEFAULT_ACTOR_LIMITS, DEFAULT_ACTOR_TIMEOUTS } from '../../machines/actors/options.js'
import { parseActorFrame } from '../../machines/actors/wire.js'
import { nobleSuite } from '../../machines/lib/crypto-noble.js'
import { addr, B, C, ME, msg, start } from './actors-harness.js'

describe('actors wire', () => {
  it('refuses malformed frames and marks events over the limits as invalid (the sender learns rejected)', () => {
    const L = DEFAULT_ACTOR_LIMITS
    expect(parseActorFrame([], L)).toBeUndefined()
    expect(parseActorFrame([[0, 'bad name!', '', { type: 'x' }, [], 't', 0, 0]], L)).toBeUndefined()
    expect(parseActorFrame([[9]], L)).toBeUndefined()
    const tooMany = parseActorFrame([[0, 'a', '', { type: 'x', r: 's' }, new Array(17).fill(['r']), 't', 0, 0]], L)!
    expect(tooMany[0]).toMatchObject({ k: 'msg', invalid: 'too-many-refs' })
    const proto = parseActorFrame([[0, 'a', '', { type: 'x' }, [['__proto__']], 't', 0, 0]], L)!
    expect(proto[0]).toMatchObject({ invalid: 'bad-ref-path' })
    const big = parseActorFrame([[0, 'a', '', { type: 'x', s: 'x'.repeat(L.maxEventBytes) }, [], 't', 0, 0]], L)!
    expect(big[0]).toMatchObject({ invalid: 'event-too-large' })
    // A ref path must point at an actor address (the receiver turns it into a ref).
    expect(parseActorFrame([[0, 'a', '', { type: 'x', r: 'addr' }, [['r']], 't', 0, 0]], L)![0]).toMatchObject({ invalid: 'bad-ref-path' })
    expect(parseActorFrame([[0, 'a', '', { type: 'x', r: addr(B, 'b') }, [['r']], 't', 0, 0]], L)![0]).not.toHaveProperty('invalid')
  })
})

/** A machine hosting `w` (accept any), just handed one at-least-once event from B (seq 1, epoch 7): its deliver call. */
function handedOver() {
  const m = start()
  m.connect(B)
  m.send({ type: 'actors.host', name: 'w', accept: 'any', granted: [] })
  m.drain()
  m.from(B, msg('w', 'c', 1, 7))
  return { m, call: m.drain().find((e) => e.type === 'effect.call')! }
}

describe('actors machine', () => {
  it('an event for an unknown, local-only or full actor is refused with the code; an accepted one is handed to the shell', () => {
    const m = start({ maxMailbox: 1 })
    m.connect(B)
    m.send({ type: 'actors.host', name: 'open', accept: 'any', granted: [] })
    m.send({ type: 'actors.host', name: 'mine', accept: 'local', granted: [] })
    m.drain()
    m.from(B, msg('nobody', 'x'), msg('mine', 'x'), msg('open', 'x'), msg('open', 'y'))
    const out = m.drain()
    expect(m.framesTo(out, B).map((f) => f.k === 'nack' && [f.to, f.code])).toEqual([['nobody', 'no-such-actor'], ['mine', 'rejected'], ['open', 'overloaded']])
    const calls = out.filter((e) => e.type === 'effect.call')
    expect(calls).toHaveLength(1)
    expect(calls[0]).toMatchObject({ fn: 'deliver', args: { items: [{ name: 'open', peer: B, from: 'x', check: false }] } })
  })

  it('at-least-once: delivered once, acknowledged after the shell handed it over; a duplicate is acknowledged again, a gap dropped', () => {
    const { m, call } = handedOver()
    m.send({ type: 'call.done', callId: call.callId, value: { results: ['ok'], commands: [] } })
    expect(m.framesTo(m.drain(), B)).toEqual([{ k: 'ack', to: 'w', from: 'c', epoch: 7, seq: 1 }])
    m.from(B, msg('w', 'c', 1, 7), msg('w', 'c', 3, 7))
    const again = m.drain()
    expect(again.filter((e) => e.type === 'effect.call')).toEqual([])
    expect(m.framesTo(again, B)).toEqual([{ k: 'ack', to: 'w', from: 'c', epoch: 7, seq: 1 }])
    m.from(B, msg('w', 'c', 1, 8))
    expect(m.drain().filter((e) => e.type === 'effect.call')).toHaveLength(1)
  })

  it('at-least-once pairs are forgotten: idle through a sweep, or their receiver gone; made again under a new epoch', () => {
    const m = start()
    const idle = DEFAULT_ACTOR_TIMEOUTS.pairIdle
    const pairs = () => m.actor.getSnapshot().context.pairs
    const send = (to: string, n = 1) => m.send({ type: 'actors.send', to: addr(B, to), from: 'c', event: { type: 'job', n }, refs: [], trace: 't', delivery: 'at-least-once', expose: [] })
    const sent = () => m.framesTo(m.drain(), B) as { k: string; seq: number; epoch: number; to: string }[]
    m.connect(B)
    send('w')
    const [first] = sent()
    m.from(B, { k: 'ack', to: 'w', from: 'c', epoch: first.epoch, seq: 1 })
    m.clock.increment(idle) // marked idle
    send('w', 2) // used again: kept
    m.from(B, { k: 'ack', to: 'w', from: 'c', epoch: first.epoch, seq: 2 })
    m.clock.increment(idle)
    expect(pairs().size).toBe(1)
    m.clock.increment(idle) // idle through a whole sweep period: forgotten
    expect(pairs().size).toBe(0)
    m.drain()
    send('w', 3)
    const [again] = sent()
    expect(again.seq).toBe(1)
    expect(again.epoch).not.toBe(first.epoch) // the receiver takes it as a new pair, not a duplicate
    // A nack saying the receiver is gone ends the pair once nothing else waits.
    m.from(B, { k: 'nack', to: 'w', from: 'c', code: 'no-such-actor', seq: 1, trace: 't' })
    expect(pairs().size).toBe(0)
    // No sweep left running once no pair is left.
    m.drain()
    m.clock.increment(idle * 3)
    expect(m.actor.getSnapshot().context.sweeping).toBe(false)
  })

  it('at most maxPairs pairs: an idle one makes room; when every pair waits for acks, overloaded', () => {
    const m = start({ maxPairs: 2 })
    const send = (to: string) => m.send({ type: 'actors.send', to: addr(B, to), from: 'c', event: { type: 'job' }, refs: [], trace: 't', delivery: 'at-least-once', expose: [] })
    m.connect(B)
    send('w1')
    send('w2')
    const [one] = m.framesTo(m.drain(), B) as { epoch: number }[]
    send('w3')
    expect(m.drain()).toEqual([{ type: 'actor.undelivered', address: addr(B, 'w3'), from: 'c', reason: 'overloaded' }])
    m.from(B, { k: 'ack', to: 'w1', from: 'c', epoch: one.epoch, seq: 1 })
    send('w3')
    expect(m.framesTo(m.drain(), B).map((f) => f.k === 'msg' && f.to)).toEqual(['w3'])
    expect([...m.actor.getSnapshot().context.pairs.values()].map((p) => p.to)).toEqual(['w2', 'w3'])
  })

  it('what the actors sent while handling a delivery comes with its answer: run after the outcomes, in order, in one frame', () => {
    const { m, call } = handedOver()
    const reply = (n: number) => ({ type: 'actors.send', to: addr(B, 'c'), from: 'w', event: { type: 'r', n }, refs: [], trace: 't', delivery: 'at-most-once', expose: [] })
    m.send({ type: 'call.done', callId: call.callId, value: { results: ['ok'], commands: [reply(1), reply(2)] } })
    const out = m.drain()
    expect(out.filter((e) => e.type === 'effect.send')).toHaveLength(1)
    expect(m.framesTo(out, B).map((f) => f.k === 'msg' ? (f.event as unknown as { n: number }).n : f.k)).toEqual(['ack', 1, 2])
    // An answer this machine does not know (it was restarted meanwhile): the sends still go out.
    m.send({ type: 'call.done', callId: 999, value: { results: [], commands: [reply(3)] } })
    expect(m.framesTo(m.drain(), B).map((f) => f.k === 'msg' && (f.event as unknown as { n: number }).n)).toEqual([3])
  })

  it('at-least-once while connected: an event unacknowledged for a resend period is sent again, in order, until acknowledged', () => {
    const m = start()
    m.connect(B)
    for (const n of [1, 2]) m.send({ type: 'actors.send', to: addr(B, 'w'), from: 'c', event: { type: 'job', n }, refs: [], trace: 't', delivery: 'at-least-once', expose: [] })
    const first = m.framesTo(m.drain(), B)
    const epoch = (first[0] as { epoch: number }).epoch
    const resent = () => m.framesTo(m.drain(), B).map((f) => f.k === 'msg' && f.seq)
    const period = DEFAULT_ACTOR_TIMEOUTS.redialMin
    m.clock.increment(period)
    expect(resent()).toEqual([]) // sent within this period: not yet
    m.clock.increment(period)
    expect(resent()).toEqual([1, 2])
    m.from(B, { k: 'ack', to: 'w', from: 'c', epoch, seq: 1 })
    m.clock.increment(period)
    expect(resent()).toEqual([2])
    m.from(B, { k: 'ack', to: 'w', from: 'c', epoch, seq: 2 })
    m.clock.increment(period * 4)
    expect(resent()).toEqual([])
  })

  it('at-least-once sending: kept until acknowledged, sent again in order on reconnect, dropped once acked', () => {
    const m = start()
    m.connect(B)
    for (const n of [1, 2, 3]) m.send({ type: 'actors.send', to: addr(B, 'w'), from: 'c', event: { type: 'job', n }, refs: [], trace: 't', delivery: 'at-least-once', expose: [] })
    const first = m.framesTo(m.drain(), B)
    expect(first.map((f) => f.k === 'msg' && f.seq)).toEqual([1, 2, 3])
    const epoch = (first[0] as { epoch: number }).epoch
    m.from(B, { k: 'ack', to: 'w', from: 'c', epoch, seq: 1 })
    m.send({ type: 'peer.disconnected', peer: B, reason: 'connection-lost' })
    m.connect(B)
    expect(m.framesTo(m.drain(), B).map((f) => f.k === 'msg' && f.seq)).toEqual([2, 3])
  })

  it('ask: times out with timeout; a reply from another peer is ignored; a reply from the asked peer answers', () => {
    const m = start()
    m.connect(B)
    m.connect(C)
    m.send({ type: 'actors.ask', askId: 1, to: addr(B, 'x'), event: { type: 'q' }, refs: [], trace: 't', timeout: 1000, expose: [] })
    m.send({ type: 'actors.ask', askId: 2, to: addr(B, 'x'), event: { type: 'q' }, refs: [], trace: 't', timeout: 1000, expose: [] })
    m.drain()
    m.from(C, msg('~a2', 'x', 0, 0, { type: 'forged' }))
    m.from(B, msg('~a2', 'x', 0, 0, { type: 'real' }))
    expect(m.drain().filter((e) => e.type === 'actors.answer')).toEqual([{ type: 'actors.answer', askId: 2, event: { type: 'real' }, refs: [], peer: B, trace: 't' }])
    m.clock.increment(1000)
    expect(m.drain().filter((e) => e.type === 'actors.answer')).toEqual([{ type: 'actors.answer', askId: 1, code: 'timeout' }])
  })

  it('ask timeouts: each ask ends at its own deadline, a later ask with a sooner deadline included (one timer for all)', () => {
    const m = start()
    m.connect(B)
    const ask = (askId: number, timeout: number) => m.send({ type: 'actors.ask', askId, to: addr(B, 'x'), event: { type: 'q' }, refs: [], trace: 't', timeout, expose: [] })
    const timedOut = () => m.drain().filter((e) => e.type === 'actors.answer').map((e) => e.code === 'timeout' && e.askId)
    ask(1, 1000)
    m.clock.increment(100)
    ask(2, 300)
    ask(3, 2000)
    ask(4, 300)
    m.from(B, msg('~a4', 'x', 0, 0, { type: 'r' }))
    expect(m.drain().filter((e) => e.type === 'actors.answer').map((e) => e.askId)).toEqual([4])
    for (const [ms, ended] of [[299, []], [1, [2]], [599, []], [1, [1]], [1099, []], [1, [3]], [5000, []]] as const) {
      m.clock.increment(ms)
      expect(timedOut()).toEqual(ended)
    }
  })

  it('watch: a disconnect starts the grace period; a reconnect within it re-registers; past it, one actor.down', () => {
    const m = start()
    m.connect(B)
    m.send({ type: 'actors.watch', watchId: 5, address: addr(B, 'x') })
    expect(m.framesTo(m.drain(), B)).toEqual([{ k: 'watch', watchId: 5, name: 'x' }])
    m.send({ type: 'peer.disconnected', peer: B, reason: 'connection-lost' })
    m.clock.increment(DEFAULT_ACTOR_TIMEOUTS.watchGrace - 1)
    m.connect(B)
    expect(m.framesTo(m.drain(), B)).toEqual([{ k: 'watch', watchId: 5, name: 'x' }])
    m.send({ type: 'peer.disconnected', peer: B, reason: 'connection-lost' })
    m.clock.increment(DEFAULT_ACTOR_TIMEOUTS.watchGrace)
    m.clock.increment(DEFAULT_ACTOR_TIMEOUTS.watchGrace)
    expect(m.drain().filter((e) => e.type === 'actor.down')).toEqual([{ type: 'actor.down', address: addr(B, 'x'), reason: 'peer-disconnected' }])
  })

  it('a watch by a local actor: once per address, its end handed to that actor (with the watch trace), dropped when the watcher ends', () => {
    const m = start()
    m.connect(B)
    m.send({ type: 'actors.host', name: 'w', accept: 'local', granted: [] })
    m.send({ type: 'actors.watch', watchId: 1, address: addr(B, 'x'), by: 'w', trace: 'tw' })
    m.send({ type: 'actors.watch', watchId: 2, address: addr(B, 'x'), by: 'w', trace: 'tw' })
    m.send({ type: 'actors.watch', watchId: 3, address: addr(B, 'y'), by: 'w', trace: 'tw' })
    expect(m.framesTo(m.drain(), B)).toEqual([{ k: 'watch', watchId: 1, name: 'x' }, { k: 'watch', watchId: 3, name: 'y' }])
    m.from(B, { k: 'restarted', watchId: 1, restarts: 1 }, { k: 'down', watchId: 1, reason: 'stopped' }, { k: 'down', watchId: 1, reason: 'stopped' })
    const calls = m.drain().filter((e) => e.type === 'effect.call')
    expect(calls).toHaveLength(1)
    expect((calls[0].args as { items: unknown[] }).items).toEqual([
      { name: 'w', event: { type: 'actor.restarted', address: addr(B, 'x'), restarts: 1 }, refs: [], peer: ME, from: '', trace: 'tw', check: false, seq: 0, epoch: 0 },
      { name: 'w', event: { type: 'actor.down', address: addr(B, 'x'), reason: 'stopped' }, refs: [], peer: ME, from: '', trace: 'tw', check: false, seq: 0, epoch: 0 },
    ])
    m.send({ type: 'actors.exited', name: 'w', reason: 'stopped' })
    expect(m.framesTo(m.drain(), B)).toEqual([{ k: 'unwatch', watchId: 3 }])
  })

  it('supervision: restarts within the budget after the backoff, then stops with reason error', () => {
    const m = start()
    m.send({ type: 'actors.host', name: 'w', accept: 'local', granted: [], supervise: { restart: 'on-error', maxRestarts: 1, withinMs: 10_000, backoffMs: 50 } })
    m.send({ type: 'actors.watch', watchId: 1, address: addr(ME, 'w') })
    m.send({ type: 'actors.failed', name: 'w' })
    expect(m.drain().filter((e) => e.type === 'effect.call')).toEqual([])
    m.clock.increment(50)
    const call = m.drain().find((e) => e.type === 'effect.call')!
    expect(call).toMatchObject({ fn: 'restart', args: { name: 'w' } })
    m.send({ type: 'call.done', callId: call.callId, value: 'ok' })
    expect(m.drain()).toEqual([{ type: 'actor.restarted', address: addr(ME, 'w'), restarts: 1 }])
    m.send({ type: 'actors.failed', name: 'w' })
    expect(m.drain()).toEqual([{ type: 'actors.released', name: 'w' }, { type: 'actor.down', address: addr(ME, 'w'), reason: 'error' }])
  })

  it('its chart: active and closed are both reachable (xstate/graph)', () => {
    const paths = getShortestPaths(actorsMachine, {
      events: [{ type: 'swarm.closing' }],
      input: {
        peerId: ME, protocol: ACTORS_ID, seed: new Uint8Array(32), addresses: [],
        options: { limits: DEFAULT_ACTOR_LIMITS, timeouts: DEFAULT_ACTOR_TIMEOUTS, offered: [] },
        crypto: nobleSuite,
      },
    } as never)
    expect(paths.map((p) => JSON.stringify(p.state.value)).sort()).toEqual(['"closed"', '{"active":"unused"}'])
  })
})

/**
 * The actors protocol machine alone (actors-harness.ts): which connected peers it protects
 * from discovery's connection manager (its `protectedPeers`, what it tells discovery), and its
 * protection sweep (machines/actors/protection.ts). A peer idle for `protectIdle` is
 * unprotected, between 1 and 1.5 times `protectIdle` after its last frame, unless something
 * still needs its connection: an ask in flight either way, a watch either way, an
 * unacknowledged at-least-once event. Traffic protects it again. Restarts of discovery or of
 * this protocol leave no peer protected for good.
 * @module
 */
import { describe, expect, it } from 'vitest'
import { resolveActorSettings, DEFAULT_ACTOR_LIMITS, DEFAULT_ACTOR_TIMEOUTS, type ActorTimeouts } from '../../machines/actors/options.js'
import { encodeEnvelope, parseActorFrame } from '../../machines/actors/wire.js'
import { addr, B, C, msg, start } from './actors-harness.js'

const IDLE = DEFAULT_ACTOR_TIMEOUTS.protectIdle
const D = 'D'.repeat(44)
const E = 'E'.repeat(44)
const F = 'F'.repeat(44)
const protect = (peer: string) => ({ type: 'discovery.protect', peer, tag: 'actors' })
const unprotect = (peer: string) => ({ type: 'discovery.unprotect', peer, tag: 'actors' })

function machine(timeouts: Partial<ActorTimeouts> = {}) {
  const m = start({}, timeouts)
  const protectedPeers = () => [...m.actor.getSnapshot().context.protectedPeers.keys()].sort()
  const sweep = () => JSON.stringify(m.actor.getSnapshot().value)
  const sendTo = (peer: string, delivery = 'at-most-once') =>
    m.send({ type: 'actors.send', to: addr(peer, 'w'), from: 'me', event: { type: 'job' }, refs: [], trace: 't', delivery, expose: [] })
  /**
   * Let `ms` pass in steps of 1 s (a SimulatedClock fires a timer at most once per increment,
   * and a periodic one starts its next period at the increment's end: the test's times are whole seconds).
   */
  const elapse = (ms: number) => {
    for (let left = ms; left > 0; left -= 1000) m.clock.increment(Math.min(1000, left))
  }
  return { ...m, protectedPeers, sweep, sendTo, elapse }
}

describe('actor traffic protects a peer until it is idle', () => {
  it('a peer sent to is protected; idle for protectIdle it is unprotected (by 1.5 times it); traffic protects it again', () => {
    const m = machine()
    expect(m.sweep()).toBe('{"active":"unused"}')
    m.connect(B)
    m.sendTo(B)
    expect(m.protectedPeers()).toEqual([B])
    expect(m.discoveryCommands()).toEqual([protect(B)])
    expect(m.sweep()).toBe('{"active":"sweeping"}')

    // Traffic in between (a frame from it) keeps it active.
    m.elapse(IDLE * 0.75)
    m.from(B, msg('me', 'w'))
    m.elapse(IDLE - 1000)
    expect(m.protectedPeers()).toEqual([B])
    m.elapse(IDLE / 2)
    expect(m.protectedPeers()).toEqual([])
    expect(m.discoveryCommands()).toEqual([unprotect(B)])
    expect(m.sweep(), 'the sweep stops with nothing protected').toBe('{"active":"unused"}')

    m.sendTo(B)
    expect(m.protectedPeers()).toEqual([B])
    m.elapse(IDLE - 1000)
    expect(m.protectedPeers()).toEqual([B])
    m.elapse(IDLE / 2 + 1000)
    expect(m.protectedPeers()).toEqual([])
  })

  it('a one-way event from a peer does not protect it here; its ask, watch or at-least-once event does', () => {
    const m = machine()
    for (const p of [B, C, D, E]) m.connect(p)
    m.send({ type: 'actors.host', name: 'w', accept: 'any', granted: [] })
    m.from(B, msg('w', 'x'))
    expect(m.protectedPeers()).toEqual([])
    m.from(C, msg('w', '~a1'))
    m.from(D, { k: 'watch', watchId: 1, name: 'w' })
    m.from(E, msg('w', 'x', 1, 7))
    expect(m.protectedPeers()).toEqual([C, D, E])
  })

  it('not while an ask (either way), a watch (either way) or an at-least-once event is pending; then unprotected once idle', () => {
    const m = machine()
    for (const p of [B, C, D, E, F]) m.connect(p)
    m.send({ type: 'actors.host', name: 'w', accept: 'any', granted: [] })
    m.send({ type: 'actors.ask', askId: 1, to: addr(B, 'x'), event: { type: 'q' }, refs: [], trace: 't', timeout: IDLE * 10, expose: [] })
    m.send({ type: 'actors.watch', watchId: 1, address: addr(C, 'x') })
    m.sendTo(D, 'at-least-once')
    m.sendTo(E)
    m.from(F, msg('w', '~a9')) // F asks our actor, which has not answered yet
    const call = m.drain().find((e) => e.type === 'effect.call')!
    m.send({ type: 'call.done', callId: call.callId, value: { results: ['ok'], commands: [] } })
    expect(m.protectedPeers()).toEqual([B, C, D, E, F].sort())

    m.elapse(IDLE * 3)
    expect(m.protectedPeers(), 'only the idle peer nothing needs is unprotected').toEqual([B, C, D, F].sort())

    // What they waited for ends: the reply, the unwatch, the ack, our actor's answer.
    m.from(B, msg('~a1', 'x'))
    m.send({ type: 'actors.unwatch', watchId: 1 })
    const epoch = (m.framesTo(m.drain(), D).find((f) => f.k === 'msg') as { epoch: number }).epoch
    m.from(D, { k: 'ack', to: 'w', from: 'me', epoch, seq: 1 })
    m.send({ type: 'actors.send', to: `${addr(F, '~a9')}`, from: 'w', event: { type: 'r' }, refs: [], trace: 't', delivery: 'at-most-once', expose: [] })
    m.elapse(IDLE - 1000)
    expect(m.protectedPeers()).toEqual([B, C, D, F].sort())
    m.elapse(IDLE / 2 + 1000)
    expect(m.protectedPeers()).toEqual([])
  })

  it("a peer's unanswered ask is held for the asker's timeout, clamped to askHold (not said: askHold); then its peer is unprotected once idle", () => {
    const HOLD = 2 * IDLE
    const m = machine({ askHold: HOLD })
    for (const p of [B, C, D]) m.connect(p)
    m.send({ type: 'actors.host', name: 'w', accept: 'any', granted: [] })
    m.discoveryCommands() // its name's provider record
    m.from(B, msg('w', '~a1', 0, 2_000)) // asks with a 2 s timeout
    m.from(C, msg('w', '~a1', 0, 100 * IDLE)) // more than this node holds: clamped to askHold
    m.from(D, msg('w', '~a1')) // an older peer: no timeout on the wire
    for (const call of m.drain().filter((e) => e.type === 'effect.call')) m.send({ type: 'call.done', callId: call.callId, value: { results: ['ok'], commands: [] } })
    expect(m.protectedPeers()).toEqual([B, C, D].sort())

    m.elapse(IDLE - 1000)
    expect(m.protectedPeers()).toEqual([B, C, D].sort())
    m.elapse(IDLE / 2 + 1000)
    expect(m.protectedPeers(), 'the 2 s ask expired: its peer is idle and nothing needs it').toEqual([C, D].sort())
    expect(m.discoveryCommands()).toEqual([protect(B), protect(C), protect(D), unprotect(B)])
    m.elapse(HOLD - 1.5 * IDLE - 1000)
    expect(m.protectedPeers()).toEqual([C, D].sort())
    m.elapse(IDLE + 1000)
    expect(m.protectedPeers(), 'held askHold at most').toEqual([])

    // The actor answers after all: the reply still goes (its asker, timed out, ignores it) and protects the peer again.
    m.drain()
    m.send({ type: 'actors.send', to: addr(B, '~a1'), from: 'w', event: { type: 'late' }, refs: [], trace: 't', delivery: 'at-most-once', expose: [] })
    expect(m.framesTo(m.drain(), B)).toMatchObject([{ k: 'msg', to: '~a1', from: 'w', event: { type: 'late' } }])
    expect(m.protectedPeers()).toEqual([B])
  })

  it('an ask carries its timeout in whole ms; a timeout that is not one is refused (rejected), as a bad event is', () => {
    const m = machine()
    m.connect(B)
    m.send({ type: 'actors.ask', askId: 7, to: addr(B, 'x'), event: { type: 'q' }, refs: [], trace: 't', timeout: 1500.2, expose: [] })
    expect(m.framesTo(m.drain(), B)).toMatchObject([{ k: 'msg', to: 'x', from: '~a7', seq: 0, epoch: 1501 }])

    m.send({ type: 'actors.host', name: 'w', accept: 'any', granted: [] })
    for (const wait of [-1, 1.5, 'soon', Number.MAX_SAFE_INTEGER + 2]) {
      m.send({ type: 'message', peer: B, body: parseActorFrame([encodeEnvelope('w', '~a2', { type: 'q' }, [], 't', 0, wait as number)], DEFAULT_ACTOR_LIMITS) })
      expect(m.framesTo(m.drain(), B), String(wait)).toEqual([{ k: 'nack', to: 'w', from: '~a2', code: 'rejected', seq: 0, trace: 't' }])
    }
    // Anywhere else, an epoch that is not a whole number closes the connection, as before.
    expect(parseActorFrame([encodeEnvelope('w', 'v', { type: 'q' }, [], 't', 0, -1)], DEFAULT_ACTOR_LIMITS)).toBeUndefined()
    expect(parseActorFrame([encodeEnvelope('w', '~a2', { type: 'q' }, [], 't', 3, 1.5)], DEFAULT_ACTOR_LIMITS)).toBeUndefined()
  })

  it('askHold: a positive number of ms', () => {
    expect(resolveActorSettings({ timeouts: { askHold: 30_000 } }).timeouts.askHold).toBe(30_000)
    expect(() => resolveActorSettings({ timeouts: { askHold: 0 } })).toThrow(/"actors.timeouts.askHold" expected a positive number/)
  })

  it('a disconnect ends the protection at once; a close stops the sweep', () => {
    const m = machine()
    m.connect(B)
    m.connect(C)
    m.sendTo(B)
    m.sendTo(C)
    m.send({ type: 'peer.disconnected', peer: B, reason: 'connection-lost' })
    expect(m.protectedPeers()).toEqual([C])
    m.send({ type: 'swarm.closing' })
    expect(m.sweep()).toBe('"closed"')
  })

  it('discovery restarted: the protected peers are protected again; this protocol restarted: connected peers are taken over, then swept', () => {
    const m = machine()
    for (const p of [B, C]) m.connect(p)
    m.sendTo(B)
    m.discoveryCommands()
    m.send({ type: 'actors.reprovide' })
    expect(m.discoveryCommands()).toEqual([protect(B)])

    // A restarted actor knows nothing of what the one before protected: it takes over every connected peer.
    m.send({ type: 'actors.adoptProtections' })
    expect(m.discoveryCommands()).toEqual([protect(C)])
    expect(m.protectedPeers()).toEqual([B, C])
    m.elapse(IDLE * 1.5)
    expect(m.protectedPeers()).toEqual([])
    expect(m.discoveryCommands()).toEqual([unprotect(B), unprotect(C)])
  })

  it('protectIdle: an integer number of ms in 100 ms..1 day', () => {
    expect(resolveActorSettings({ timeouts: { protectIdle: 5_000 } }).timeouts.protectIdle).toBe(5_000)
    expect(() => resolveActorSettings({ timeouts: { protectIdle: 50 } })).toThrow(/"actors.timeouts.protectIdle" expected an integer number of ms in 100..86400000, got 50/)
    expect(() => resolveActorSettings({ timeouts: { protectIdle: 1000.5 } })).toThrow(RangeError)
    expect(() => resolveActorSettings({ timeouts: { protectIdle: 0 } })).toThrow(/"actors.timeouts.protectIdle" expected a positive number/)
    expect(() => resolveActorSettings({ timeouts: { protectIdle: '1m' as never } })).toThrow(TypeError)
  })
})

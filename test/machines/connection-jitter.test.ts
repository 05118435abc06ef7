/**
 * The keep-alive jitter: the first wait of a quiet connection is shorter by the jitter in its
 * input (the connection alone, connection-harness.ts), and the root draws each connection's
 * jitter from its seeded drbg (the root alone, swarm-fixtures.ts). No real time anywhere.
 * @module
 */
import { describe, expect, it } from 'vitest'
import type { AnyActorRef } from 'xstate'
import { keepAliveJitter, keepAliveLead, KEEP_ALIVE_JITTER_SHARE, type ConnectionContext } from '../../machines/connection.machine.js'
import { DEFAULT_LIMITS, DEFAULT_TIMEOUTS } from '../../machines/lib/limits.js'
import { createDrbg, drbgBytes } from '../../machines/lib/rng.js'
import { seal, unseal } from '../../machines/lib/secret.js'
import { CONTROL_PROTOCOL, TIMEOUTS, openOutbound, outboundInput, pong, startConnection } from './connection-harness.js'
import { input, startRoot } from './swarm-fixtures.js'

const JITTER = 700
/** The dialer's wait after a pong (connection-keep-alive-lead.test.ts). */
const LEAD_WAIT = TIMEOUTS.keepAlive - keepAliveLead(TIMEOUTS.keepAlive)
const pingFrame = (seq: number) => ({ type: 'effect.send', connId: 5, protocol: CONTROL_PROTOCOL, body: [0, seq] })

describe('connection machine: the jitter of the first keep-alive wait', () => {
  it('a quiet connection pings first keepAlive − jitter after it opened, then (the dialer leads) keepAlive − lead after each pong', () => {
    const h = startConnection(outboundInput({ keepAliveJitter: JITTER }))
    openOutbound(h)
    h.drain()
    h.advance(TIMEOUTS.keepAlive - JITTER - 1)
    expect(h.drain().effects).toEqual([])
    h.advance(1)
    expect(h.state()).toBe('open.awaitingPong')
    expect(h.drain().effects).toEqual([pingFrame(1)])
    h.advance(100)
    h.send(pong(1)) // the pong is the last sign of life: the next wait counts from it, no jitter, the dialer's lead
    h.advance(LEAD_WAIT - 1)
    expect(h.drain().effects).toEqual([])
    h.advance(1)
    expect(h.drain().effects).toEqual([pingFrame(2)])
    h.send(pong(2))
    h.advance(LEAD_WAIT)
    expect(h.drain().effects).toEqual([pingFrame(3)])
  })

  it('traffic during the first wait: the ping comes a full keepAlive after the last frame (the jitter only shortens the wait counted from the opening)', () => {
    const h = startConnection(outboundInput({ keepAliveJitter: JITTER }))
    openOutbound(h)
    h.drain()
    h.advance(1000)
    h.hear() // a frame of some protocol, 1 s after the opening
    h.advance(TIMEOUTS.keepAlive - 1) // past the first wait's end (keepAlive − jitter after the opening)
    expect(h.drain().effects).toEqual([])
    expect(h.state()).toBe('open.idle')
    h.advance(1)
    expect(h.drain().effects).toEqual([pingFrame(1)])
  })

  it('a remote silent from the opening is closed keepAlive − jitter + pingTimeout after it: never later than without the jitter', () => {
    const h = startConnection(outboundInput({ keepAliveJitter: JITTER }))
    openOutbound(h)
    h.drain()
    h.advance(TIMEOUTS.keepAlive - JITTER + TIMEOUTS.pingTimeout - 1)
    expect(h.state()).toBe('open.awaitingPong')
    h.advance(1)
    expect(h.state()).toBe('closing')
  })

  it('with no jitter (0 in the input), the first ping comes keepAlive after the opening, as before', () => {
    const h = startConnection(outboundInput({ keepAliveJitter: 0 }))
    openOutbound(h)
    h.drain()
    h.advance(TIMEOUTS.keepAlive - 1)
    expect(h.drain().effects).toEqual([])
    h.advance(1)
    expect(h.drain().effects).toEqual([pingFrame(1)])
  })
})

describe('keepAliveJitter(): whole milliseconds in [0, keepAlive/4)', () => {
  it('spans the share of keepAlive from the smallest to the largest 32-bit draw', () => {
    expect(KEEP_ALIVE_JITTER_SHARE).toBe(1 / 4)
    expect(keepAliveJitter(15_000, 0)).toBe(0)
    expect(keepAliveJitter(15_000, 0x8000_0000)).toBe(1875)
    expect(keepAliveJitter(15_000, 0xffff_ffff)).toBe(3749)
    expect(keepAliveJitter(3, 0xffff_ffff)).toBe(0)
  })
})

describe('root: each connection\'s jitter is drawn from the seed', () => {
  const rootInput = { ...input, limits: { ...DEFAULT_LIMITS, maxPendingDials: 16 } }

  /** The connection actors of a running root after `n` dials, in dial order. */
  function dialed(n: number, seed = input.seed) {
    const actors = new Map<string, AnyActorRef>()
    const { send } = startRoot((e) => { if (e.type === '@xstate.actor') actors.set((e.actorRef as AnyActorRef).id, e.actorRef as AnyActorRef) }, { ...rootInput, seed })
    send({ type: 'cmd.start' })
    for (let i = 1; i <= n; i++) send({ type: 'cmd.dial', address: `memory://p${i}`, url: `memory://p${i}` })
    return Array.from({ length: n }, (_, i) => actors.get(`d${i + 1}`)!.getSnapshot().context as ConnectionContext)
  }

  it('in [0, keepAlive/4), not all the same; the same seed gives the same jitters, another seed others', () => {
    const jitters = dialed(8).map((c) => c.keepAliveJitter)
    for (const j of jitters) {
      expect(Number.isInteger(j)).toBe(true)
      expect(j).toBeGreaterThanOrEqual(0)
      expect(j).toBeLessThan(DEFAULT_TIMEOUTS.keepAlive / 4)
    }
    expect(new Set(jitters).size).toBeGreaterThan(1)
    expect(dialed(8).map((c) => c.keepAliveJitter)).toEqual(jitters)
    expect(dialed(8, seal(new Uint8Array(32).fill(9))).map((c) => c.keepAliveJitter)).not.toEqual(jitters)
  })

  it('the draw leaves the ephemeral keys and the drbg\'s later draws as they were without it (recordings made before still replay)', () => {
    const drbg = createDrbg(unseal(input.seed))
    const keys = dialed(3).map((c) => unseal(c.handshake.keys).ephemeralPrivateKey)
    expect(keys).toEqual([drbgBytes(drbg, 32), drbgBytes(drbg, 32), drbgBytes(drbg, 32)])
  })
})

/**
 * One keep-alive exchange per period on a quiet connection: the dialer leads (its wait counted
 * from a ping or pong ends `keepAliveLead` sooner), so its ping reaches the accepting end
 * before that end's own wait ends, and only the dialer pings. Two connection actors (a dialer
 * and a listener, connection-harness.ts) joined by a link without latency, both clocks moved
 * together one millisecond at a time; and each end alone, fed what the remote would send, for
 * the detection bound of a silent remote. No real time anywhere.
 * @module
 */
import { describe, expect, it } from 'vitest'
import { keepAliveLead, KEEP_ALIVE_LEAD_SHARE } from '../../machines/connection.machine.js'
import {
  CONTROL_PROTOCOL, TIMEOUTS, inboundInput, openInbound, openOutbound, outboundInput, ping, pong, startConnection, type Harness,
} from './connection-harness.js'

const LEAD = keepAliveLead(TIMEOUTS.keepAlive)
/** How often the dialer pings a quiet connection: `keepAlive − lead` after each pong. */
const PERIOD = TIMEOUTS.keepAlive - LEAD

type Ping = { at: number; by: 'dialer' | 'listener' }

/** A dialer open since time 0 whose first ping (at keepAlive) was answered at once: its waits now count from that pong. */
function dialerAfterFirstPong(): Harness {
  const h = startConnection(outboundInput())
  openOutbound(h)
  h.advance(TIMEOUTS.keepAlive)
  h.send(pong(1))
  h.drain()
  return h
}

/**
 * A dialer and a listener, open at time 0 with the given first-wait jitters, joined by a link
 * that delivers each control frame in the millisecond it is sent; nothing else goes over it.
 */
function quietConnection(jitters: { dialer: number; listener: number }) {
  const ends = {
    dialer: startConnection(outboundInput({ keepAliveJitter: jitters.dialer })),
    listener: startConnection(inboundInput({ keepAliveJitter: jitters.listener })),
  }
  openOutbound(ends.dialer)
  openInbound(ends.listener)
  ends.dialer.drain()
  ends.listener.drain()
  const pings: Ping[] = []
  /** Carry every control frame sent to the other end (a ping's pong comes back in the same millisecond). */
  const relay = (): void => {
    for (let moved = true, rounds = 0; moved && rounds < 100; rounds++) {
      moved = false
      for (const [by, to] of [['dialer', ends.listener], ['listener', ends.dialer]] as const) {
        for (const e of ends[by].drain().effects) {
          if (e.type !== 'effect.send' || e.protocol !== CONTROL_PROTOCOL) continue
          if ((e.body as number[])[0] === 0) pings.push({ at: ends.dialer.clock.now(), by })
          to.send({ type: 'conn.frame', protocol: CONTROL_PROTOCOL, body: e.body })
          moved = true
        }
      }
    }
  }
  return {
    ends,
    pings,
    run(ms: number): void {
      for (let i = 0; i < ms; i++) {
        ends.dialer.advance(1)
        ends.listener.advance(1)
        relay()
      }
    },
  }
}

/** The times between consecutive pings. */
const gaps = (pings: Ping[]): number[] => pings.slice(1).map((p, i) => p.at - pings[i].at)

describe('connection machine: a quiet connection carries one keep-alive exchange per period', () => {
  it('the dialer pings first (its jitter is larger): then only the dialer pings, one ping every keepAlive − lead, each answered', () => {
    const c = quietConnection({ dialer: 700, listener: 200 })
    c.run(10 * TIMEOUTS.keepAlive)
    expect(c.pings[0]).toEqual({ at: TIMEOUTS.keepAlive - 700, by: 'dialer' })
    expect(c.pings.every((p) => p.by === 'dialer')).toBe(true)
    expect(new Set(gaps(c.pings))).toEqual(new Set([PERIOD]))
    expect(c.pings.length).toBe(Math.floor((10 * TIMEOUTS.keepAlive - c.pings[0].at) / PERIOD) + 1)
    expect([c.ends.dialer.state(), c.ends.listener.state()]).toEqual(['open.idle', 'open.idle'])
  })

  it('the listener pings first (its jitter is larger): the dialer hears it and takes over from the next period', () => {
    const c = quietConnection({ dialer: 0, listener: 700 })
    c.run(10 * TIMEOUTS.keepAlive)
    expect(c.pings[0]).toEqual({ at: TIMEOUTS.keepAlive - 700, by: 'listener' })
    expect(c.pings.slice(1).every((p) => p.by === 'dialer')).toBe(true)
    expect(new Set(gaps(c.pings))).toEqual(new Set([PERIOD]))
  })

  it('both first waits end in the same millisecond: both ping once, then only the dialer', () => {
    const c = quietConnection({ dialer: 0, listener: 0 })
    c.run(10 * TIMEOUTS.keepAlive)
    expect(c.pings.slice(0, 2).map((p) => p.at)).toEqual([TIMEOUTS.keepAlive, TIMEOUTS.keepAlive])
    const later = c.pings.slice(2)
    expect(later.every((p) => p.by === 'dialer')).toBe(true)
    expect(new Set(gaps(c.pings.slice(1)))).toEqual(new Set([PERIOD]))
    expect(later.length).toBeGreaterThanOrEqual(8)
  })

  it('keepAliveLead(): whole milliseconds, an eighth of keepAlive', () => {
    expect(KEEP_ALIVE_LEAD_SHARE).toBe(1 / 8)
    expect(keepAliveLead(15_000)).toBe(1875)
    expect(LEAD).toBe(375)
    expect(keepAliveLead(7)).toBe(0)
  })
})

describe('connection machine: the lead keeps the promises of the keep-alive', () => {
  it('the listener, fed the dialer\'s pings every keepAlive − lead, never pings; when they stop it closes keepAlive + pingTimeout after the last one', () => {
    const h = startConnection(inboundInput())
    openInbound(h)
    h.drain()
    for (let seq = 1; seq <= 10; seq++) {
      h.advance(PERIOD)
      h.send(ping(seq))
      expect(h.drain().effects).toEqual([{ type: 'effect.send', connId: 7, protocol: CONTROL_PROTOCOL, body: [1, seq] }])
    }
    expect(h.conn.getSnapshot().context.pingSeq).toBe(0)
    // The dialer is gone: the listener's wait counts a full keepAlive from its last ping.
    h.advance(TIMEOUTS.keepAlive + TIMEOUTS.pingTimeout - 1)
    expect(h.state()).toBe('open.awaitingPong')
    h.advance(1)
    expect(h.state()).toBe('closing')
  })

  it('the dialer whose listener falls silent after a pong closes keepAlive − lead + pingTimeout after it: within the bound', () => {
    const h = dialerAfterFirstPong()
    h.advance(PERIOD + TIMEOUTS.pingTimeout - 1)
    expect(h.state()).toBe('open.awaitingPong')
    h.advance(1)
    expect(h.state()).toBe('closing')
    expect(PERIOD + TIMEOUTS.pingTimeout).toBeLessThanOrEqual(TIMEOUTS.keepAlive + TIMEOUTS.pingTimeout)
  })

  it('traffic after a keep-alive exchange: the dialer waits a full keepAlive from each frame and sends no ping', () => {
    const h = dialerAfterFirstPong()
    // A frame of some protocol every keepAlive − 1 ms (the lead only counts from a ping or pong).
    for (let i = 0; i < 20; i++) {
      h.advance(i === 0 ? PERIOD - 1 : TIMEOUTS.keepAlive - 1)
      h.hear()
    }
    expect(h.drain().effects).toEqual([])
    expect(h.conn.getSnapshot().context.pingSeq).toBe(1)
  })
})

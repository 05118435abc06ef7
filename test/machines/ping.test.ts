/**
 * The ping protocol machine alone: a fake runtime with a controllable `now()` (the input time)
 * and a SimulatedClock for its interval timer. RTTs are input-time differences, so they are
 * exact here.
 * @module
 */
import { describe, expect, it } from 'vitest'
import { createActor, SimulatedClock } from 'xstate'
import { nobleSuite } from '../../machines/lib/crypto-noble.js'
import type { ProtocolInput } from '../../machines/lib/protocol.js'
import { bindRuntime } from '../../machines/lib/runtime.js'
import { parsePing, PING_ID, pingMachine, pingProtocol, type PingOptions } from '../../machines/protocols/ping.machine.js'
import { createSignerIssuer } from '../../machines/lib/signer.js'

type Ev = { type: string; [k: string]: unknown }

function startPing(options: Partial<PingOptions> = { interval: 1000 }) {
  const clock = new SimulatedClock()
  let now = 0
  const out: Ev[] = []
  const input: ProtocolInput<Partial<PingOptions>> = {
    peerId: 'Me', protocol: PING_ID, seed: new Uint8Array(32), options, addresses: [],
    crypto: nobleSuite, signer: createSignerIssuer(nobleSuite, new Uint8Array(32)).issue(PING_ID), publicKey: new Uint8Array(32),
  }
  const actor = createActor(pingMachine, { input, clock })
  bindRuntime(actor, { sink: () => {}, now: () => now })
  actor.on('*', (e) => { out.push(e as unknown as Ev) })
  actor.start()
  return {
    actor,
    out,
    /** Set the input time (what `inputTime(self)` returns). */
    at(ms: number) { now = ms },
    /** Advance the clock by `ms` (timers fire); the input time becomes the clock's time. */
    tick(ms: number) { clock.increment(ms); now = clock.now() },
    send: (e: Ev) => actor.send(e as never),
    drain() { return out.splice(0) },
  }
}

const connected = (peer: string): Ev => ({ type: 'peer.connected', peer, direction: 'outbound', address: `memory://${peer}` })
const msg = (peer: string, body: [0 | 1, number]): Ev => ({ type: 'message', peer, body })
const sendTo = (peer: string, body: [0 | 1, number]): Ev => ({ type: 'effect.send', peer, protocol: PING_ID, body })

describe('ping machine', () => {
  it('pings a new peer at once and outputs the rtt from input times', () => {
    const p = startPing()
    p.at(100)
    p.send(connected('B'))
    expect(p.drain()).toEqual([sendTo('B', [0, 1])])
    p.at(137)
    p.send(msg('B', [1, 1]))
    expect(p.drain()).toEqual([{ type: 'ping.rtt', peer: 'B', rtt: 37 }])
  })

  it('ignores a pong with the wrong sequence number, from an unknown peer, or repeated', () => {
    const p = startPing()
    p.send(connected('B'))
    p.drain()
    p.send(msg('B', [1, 99]))
    p.send(msg('C', [1, 1]))
    expect(p.drain()).toEqual([])
    p.at(5)
    p.send(msg('B', [1, 1]))
    p.send(msg('B', [1, 1]))
    expect(p.drain()).toEqual([{ type: 'ping.rtt', peer: 'B', rtt: 5 }])
  })

  it('answers a ping with a pong of the same sequence number', () => {
    const p = startPing()
    p.send(msg('Z', [0, 12345]))
    expect(p.drain()).toEqual([sendTo('Z', [1, 12345])])
  })

  it('every interval pings each peer that has no ping outstanding', () => {
    const p = startPing({ interval: 1000 })
    p.send(connected('B'))
    p.send(connected('C'))
    expect(p.drain()).toEqual([sendTo('B', [0, 1]), sendTo('C', [0, 2])])
    p.at(10)
    p.send(msg('B', [1, 1]))
    p.drain()
    p.tick(1000) // the interval fires at 1000
    expect(p.drain()).toEqual([sendTo('B', [0, 3])]) // C still owes its pong
    p.send(msg('C', [1, 2]))
    expect(p.drain()).toEqual([{ type: 'ping.rtt', peer: 'C', rtt: 1000 }])
    p.tick(1000)
    expect(p.drain()).toEqual([sendTo('C', [0, 4])])
  })

  it('ping.send pings on demand, once per outstanding ping, only connected peers', () => {
    const p = startPing({ interval: 60_000 })
    p.send({ type: 'ping.send', peer: 'B' })
    expect(p.drain()).toEqual([])
    p.send(connected('B'))
    p.send(msg('B', [1, 1]))
    p.drain()
    p.send({ type: 'ping.send', peer: 'B' })
    p.send({ type: 'ping.send', peer: 'B' })
    expect(p.drain()).toEqual([sendTo('B', [0, 2])])
  })

  it('forgets a disconnected peer (a late pong is ignored) and stops on swarm.closing', () => {
    const p = startPing({ interval: 1000 })
    p.send(connected('B'))
    p.send({ type: 'peer.disconnected', peer: 'B', reason: 'x' })
    p.drain()
    p.send(msg('B', [1, 1]))
    p.tick(1000)
    expect(p.drain()).toEqual([])
    p.send(connected('C'))
    p.send({ type: 'swarm.closing' })
    expect(p.actor.getSnapshot().value).toBe('stopped')
    p.drain()
    p.tick(5000)
    // Late facts are taken and ignored: no pings, no answers, no rtt.
    p.send(connected('D'))
    p.send(msg('C', [1, 1]))
    p.send({ type: 'ping.send', peer: 'C' })
    expect(p.drain()).toEqual([])
  })

  it('the default interval is 10 s', () => {
    const p = startPing({})
    p.send(connected('B'))
    p.send(msg('B', [1, 1]))
    p.drain()
    p.tick(9999)
    expect(p.drain()).toEqual([])
    p.tick(1)
    expect(p.drain()).toEqual([sendTo('B', [0, 2])])
  })

  it('parsePing accepts exactly [0|1, safe integer]; pingProtocol checks its interval', () => {
    expect(parsePing([0, 1])).toEqual([0, 1])
    expect(parsePing([1, Number.MAX_SAFE_INTEGER])).toEqual([1, Number.MAX_SAFE_INTEGER])
    for (const bad of [[2, 1], [0, 1.5], [0], [0, 1, 2], '01', null, { 0: 0, 1: 1 }, [0, 2 ** 53]]) expect(parsePing(bad)).toBeUndefined()
    expect(() => pingProtocol({ interval: 0 })).toThrow(RangeError)
    expect(() => pingProtocol({ interval: Number.NaN })).toThrow(/ping.interval/)
    expect(pingProtocol().id).toBe(PING_ID)
  })
})

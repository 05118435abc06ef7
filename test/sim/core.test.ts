/**
 * The core in simulation: many seeded swarms over the in-memory network on virtual time
 * (`createSimulation`). Determinism (same seed, same log), duplicate resolution under
 * simultaneous dials, the view/stream agreement of `isConnected`, keep-alive detection of a
 * silent peer, graceful close, dial failures, address checks, backpressure, and flat churn.
 * @module
 */
import { describe, expect, it } from 'vitest'
import type { AnyActorRef, InspectionEvent } from 'xstate'
import { createSimulation, type Simulation } from '../../src/testing/simulation.js'
import { encodeFrame } from '../../src/codec/frame.js'
import { XswarmError } from '../../src/errors.js'
import { metricsText } from '../../src/metrics/prometheus.js'
import type { Conn } from '../../src/transport/transport.js'
import type { AnySwarmEvent as SwarmEvent, Swarm } from '../../src/swarm.js'
import {
  connectSim, createSimTestSwarm, eventsOf, nextSimEvent, NUMBERS_ID, numbersProtocol, takeLogged, transportOf,
  useSwarmCleanup,
} from '../helpers/swarm-test.js'

useSwarmCleanup()

const peerEvents = (s: Swarm, types = ['peer.connected', 'peer.disconnected']) => eventsOf(s).filter((e) => types.includes(e.type))

describe('simulation: determinism', () => {
  /** 20 swarms: a ring plus chords (i → i+1, i → i+5), pings every second, 30 s, then all close. */
  async function network(seed: number): Promise<{ log: string; ids: string[]; connected: number[] }> {
    const sim = createSimulation()
    const swarms: Swarm[] = []
    const lines: string[] = []
    for (let i = 0; i < 20; i++) {
      const s = await createSimTestSwarm(sim, { seed: seed * 1000 + i, ping: { interval: 1000 } }, false)
      swarms.push(s)
      sim.add(s, (e) => { eventsOf(s).push(e); lines.push(`${sim.now()} ${i} ${JSON.stringify(e)}`) })
    }
    await sim.run({ forMs: 10 })
    for (let i = 0; i < 20; i++) {
      swarms[i].dial(swarms[(i + 1) % 20].addresses[0])
      swarms[i].dial(swarms[(i + 5) % 20].addresses[0])
    }
    await sim.run({ forMs: 30_000 })
    const connected = swarms.map((s) => s.peers().length)
    let closed = 0
    for (const s of swarms) void s.close().then(() => closed++)
    await sim.run({ until: () => closed === 20, forMs: 10_000 })
    expect(closed).toBe(20)
    return { log: lines.join('\n'), ids: swarms.map((s) => s.peerId), connected }
  }

  it('20 swarms, ring + chords: every swarm has its 4 peers; the same seed gives the same event log, byte for byte', async () => {
    const a = await network(7)
    const b = await network(7)
    expect(a.connected).toEqual(new Array(20).fill(4))
    expect(a.log.length).toBeGreaterThan(10_000)
    expect(a.log.includes('"ping.rtt"')).toBe(true)
    expect(a.ids).toEqual(b.ids)
    expect(a.log === b.log).toBe(true)
    const c = await network(8)
    expect(new Set([...a.ids, ...c.ids]).size).toBe(40)
    expect(c.log).not.toBe(a.log)
  }, 30_000)
})

describe('simulation: duplicate connections', () => {
  it('simultaneous dials A↔B plus A (and B) dialing twice: exactly one peer.connected per side and no flap, for many seeds', async () => {
    // Up to five connections racing (seeds that are multiples of 6), more than the per-peer
    // limit (4) allows: the limit must never refuse the survivor the other side picks.
    for (let seed = 1; seed <= 200; seed++) {
      const sim = createSimulation()
      const a = await createSimTestSwarm(sim, { seed: seed * 2, timeouts: { keepAlive: 1000 } })
      const b = await createSimTestSwarm(sim, { seed: seed * 2 + 1, timeouts: { keepAlive: 1000 } })
      a.dial(b.addresses[0])
      b.dial(a.addresses[0])
      a.dial(b.addresses[0].replace(/\/p2p\/.*$/, ''))
      if (seed % 2 === 0) a.dial(b.addresses[0])
      if (seed % 3 === 0) b.dial(a.addresses[0].replace(/\/p2p\/.*$/, '')) // four (five) connections racing
      await sim.run({ forMs: 20_000 })
      const msg = `seed ${seed}`
      expect(peerEvents(a).map((e) => e.type), msg).toEqual(['peer.connected'])
      expect(peerEvents(b).map((e) => e.type), msg).toEqual(['peer.connected'])
      expect(a.isConnected(b.peerId) && b.isConnected(a.peerId), msg).toBe(true)
      // The extra dials end without a connection: refused as already connected, or resolved as duplicates silently.
      for (const e of eventsOf(a).filter((x) => x.type === 'dial.failed')) expect((e as { reason: string }).reason, msg).toBe('already-connected')
    }
  }, 60_000)
})

describe('simulation: the view changes only with the events taken', () => {
  it('isConnected(peer) stays true after the remote was killed, until peer.disconnected is taken', async () => {
    const sim = createSimulation()
    const a = await createSimTestSwarm(sim, { seed: 1 })
    const b = await createSimTestSwarm(sim, { seed: 2 }, false) // the test takes B's events itself
    a.dial(b.addresses[0])
    await nextSimEvent(sim, b, (e) => e.type === 'peer.connected', { what: 'peer.connected on B' })
    expect(b.isConnected(a.peerId)).toBe(true)

    sim.network.kill(transportOf(a))
    await sim.run({ forMs: 10 }) // deliveries run; B's inputs queue up, untaken
    expect(b.stats().queued).toBeGreaterThan(0)
    expect(b.isConnected(a.peerId)).toBe(true)
    expect(b.peers()).toEqual([a.peerId])

    let event: SwarmEvent | undefined
    for (let steps = 0; steps < 100; steps++) {
      expect(b.isConnected(a.peerId)).toBe(true)
      event = takeLogged(b, 1)
      if (event?.type === 'peer.disconnected') break
    }
    expect(event).toEqual({ type: 'peer.disconnected', peer: a.peerId, reason: 'connection-lost' })
    expect(b.isConnected(a.peerId)).toBe(false)
    expect(b.peers()).toEqual([])
  })
})

describe('simulation: keep-alive', () => {
  it('a silent peer (alive, no longer driven) is dropped with ping-timeout within keepAlive + pingTimeout', async () => {
    const timeouts = { keepAlive: 1000, pingTimeout: 500 }
    const sim = createSimulation()
    const a = await createSimTestSwarm(sim, { seed: 1, timeouts, ping: false })
    const b = await createSimTestSwarm(sim, { seed: 2, timeouts, ping: false })
    await connectSim(sim, a, b)
    await sim.run({ forMs: 5000 })
    expect(a.isConnected(b.peerId)).toBe(true) // keep-alives are answered while B is driven
    sim.remove(b) // B hangs: its inputs are never settled again
    const silentAt = sim.now()
    const r = await sim.run({ until: () => !a.isConnected(b.peerId), forMs: 10_000 })
    expect(r.satisfied).toBe(true)
    expect(sim.now() - silentAt).toBeLessThanOrEqual(timeouts.keepAlive + timeouts.pingTimeout)
    expect(eventsOf(a).at(-1)).toEqual({ type: 'peer.disconnected', peer: b.peerId, reason: 'ping-timeout' })
  })

  /** Keep-alive frames (pings and pongs) `swarm` has sent so far, by its own metrics. */
  const controlFramesOut = (swarm: Swarm): number =>
    Number(/xswarm_frames_total\{[^}]*direction="out",protocol="\/xswarm\/conn\/1"\} (\d+)/.exec(metricsText(swarm))?.[1] ?? 0)

  /** Two swarms whose numbers protocol echoes, connected, with a short keep-alive. */
  async function echoingPair(timeouts: { keepAlive: number; pingTimeout: number }) {
    const sim = createSimulation()
    const opts = { timeouts, ping: false as const, metrics: true, protocols: [numbersProtocol({ echo: true })] }
    const a = await createSimTestSwarm(sim, { seed: 1, ...opts })
    const b = await createSimTestSwarm(sim, { seed: 2, ...opts })
    await connectSim(sim, a, b)
    /** A sends B a number every `everyMs` for `forMs`; B echoes each one back. */
    const talk = async (forMs: number, everyMs: number): Promise<void> => {
      for (let t = 0; t < forMs; t += everyMs) {
        a.command(NUMBERS_ID, { type: 'numbers.send', peer: b.peerId, count: 1, from: t })
        await sim.run({ forMs: everyMs })
      }
    }
    return { sim, a, b, talk }
  }

  it('a connection that carries traffic both ways sends no keep-alive ping; an idle one does', async () => {
    const timeouts = { keepAlive: 1000, pingTimeout: 500 }
    const { sim, a, b, talk } = await echoingPair(timeouts)
    const before = controlFramesOut(a) + controlFramesOut(b)
    await talk(20_000, 300) // twenty keep-alive periods, a frame each way every 300 ms
    expect(a.isConnected(b.peerId)).toBe(true)
    expect(controlFramesOut(a) + controlFramesOut(b)).toBe(before)
    // Quiet now: pings resume, one side's ping is the other's traffic, and the connection stays up.
    await sim.run({ forMs: 20_000 })
    const pings = controlFramesOut(a) + controlFramesOut(b) - before
    expect(pings).toBeGreaterThan(0)
    expect(a.isConnected(b.peerId)).toBe(true)
    expect(b.isConnected(a.peerId)).toBe(true)
  })

  it('a busy peer that goes silent is dropped with ping-timeout within keepAlive + pingTimeout of its last frame', async () => {
    const timeouts = { keepAlive: 1000, pingTimeout: 500 }
    const { sim, a, b, talk } = await echoingPair(timeouts)
    await talk(5000, 300)
    sim.remove(b) // B hangs: it reads nothing and sends nothing from now on
    const silentAt = sim.now()
    for (let t = 0; t < 3000 && a.isConnected(b.peerId); t += 300) {
      a.command(NUMBERS_ID, { type: 'numbers.send', peer: b.peerId, count: 1, from: t }) // A still talks: what it sends is no proof that B lives
      await sim.run({ until: () => !a.isConnected(b.peerId), forMs: 300 })
    }
    expect(a.isConnected(b.peerId)).toBe(false)
    expect(sim.now() - silentAt).toBeLessThanOrEqual(timeouts.keepAlive + timeouts.pingTimeout)
    expect(eventsOf(a).at(-1)).toEqual({ type: 'peer.disconnected', peer: b.peerId, reason: 'ping-timeout' })
  })

  it('a killed peer (no close) is seen as connection-lost at once', async () => {
    const sim = createSimulation()
    const a = await createSimTestSwarm(sim, { seed: 1 })
    const b = await createSimTestSwarm(sim, { seed: 2 })
    await connectSim(sim, a, b)
    sim.network.kill(transportOf(b))
    const at = sim.now()
    await sim.run({ until: () => !a.isConnected(b.peerId), forMs: 1000 })
    expect(sim.now()).toBe(at)
    expect(eventsOf(a).at(-1)).toEqual({ type: 'peer.disconnected', peer: b.peerId, reason: 'connection-lost' })
  })
})

describe('simulation: hang-up reasons', () => {
  it('the remote reads a hang-up reason of the vocabulary\'s shape as given, and any other as closed-by-remote', async () => {
    const sim = createSimulation()
    const a = await createSimTestSwarm(sim, { seed: 1 })
    const b = await createSimTestSwarm(sim, { seed: 2 })
    for (const [reason, seen] of [['maintenance-window', 'maintenance-window'], ['Going away\nnow!', 'closed-by-remote']]) {
      await connectSim(sim, a, b)
      a.hangUp(b.peerId, reason)
      await sim.run({ until: () => !b.isConnected(a.peerId) && !a.isConnected(b.peerId), forMs: 5000 })
      expect(eventsOf(a).at(-1)).toEqual({ type: 'peer.disconnected', peer: b.peerId, reason })
      expect(eventsOf(b).at(-1)).toEqual({ type: 'peer.disconnected', peer: a.peerId, reason: seen })
    }
    expect(() => a.hangUp(b.peerId, 'x'.repeat(101))).toThrow(RangeError)
  })
})

describe('simulation: close', () => {
  it('is graceful (the remote sees swarm-closed), idempotent, and ends the stream with swarm.closed', async () => {
    const sim = createSimulation()
    const a = await createSimTestSwarm(sim, { seed: 1 })
    const b = await createSimTestSwarm(sim, { seed: 2 })
    await connectSim(sim, a, b)
    const first = a.close()
    const second = a.close()
    expect(second).toBe(first)
    expect(a.closed).toBe(true)
    let done = false
    void first.then(() => { done = true })
    await sim.run({ until: () => done, forMs: 10_000 })
    expect(done).toBe(true)
    await sim.run({ forMs: 100 })
    const log = eventsOf(a)
    expect(log.at(-1)).toEqual({ type: 'swarm.closed' })
    expect(log.filter((e) => e.type === 'swarm.closed')).toHaveLength(1)
    expect(log.at(-2)).toEqual({ type: 'peer.disconnected', peer: b.peerId, reason: 'swarm-closed' })
    expect(a.take()).toBeUndefined()
    expect(await a.next()).toBeUndefined()
    expect(a.peers()).toEqual([])
    expect(eventsOf(b).at(-1)).toEqual({ type: 'peer.disconnected', peer: a.peerId, reason: 'swarm-closed' })
    await a.close() // a third call after the end resolves too
    expect(() => a.dial(b.addresses[0])).toThrow(XswarmError)
    expect(() => a.dial(b.addresses[0])).toThrow(/closed/)
    // B's listener is still up; A's is gone: dialing A now is refused.
    b.dial(log[0].type === 'swarm.listening' ? (log[0] as { addresses: string[] }).addresses[0] : '')
    const failed = await nextSimEventLogged(sim, b, 'dial.failed')
    expect(failed).toMatchObject({ type: 'dial.failed', reason: 'connection-refused' })
  })
})

/** Wait (virtual time) until swarm `s`, driven by `sim`, has logged an event of `type`. */
async function nextSimEventLogged(sim: Simulation, s: Swarm, type: string): Promise<SwarmEvent> {
  const from = eventsOf(s).length
  const find = () => eventsOf(s).slice(from).find((e) => e.type === type)
  await sim.run({ until: () => find() !== undefined, forMs: 20_000 })
  const e = find()
  if (!e) throw new Error(`no ${type} within 20 s of virtual time`)
  return e
}

describe('simulation: dial failures', () => {
  it('an unreachable memory address → dial.failed connection-refused', async () => {
    const sim = createSimulation()
    const a = await createSimTestSwarm(sim, { seed: 1 })
    a.dial('memory://nobody-here')
    expect(await nextSimEventLogged(sim, a, 'dial.failed')).toEqual({ type: 'dial.failed', address: 'memory://nobody-here', reason: 'connection-refused' })
  })

  it('the wrong /p2p id → dial.failed peer-id-mismatch, and no peer.connected on the dialer', async () => {
    const sim = createSimulation()
    const a = await createSimTestSwarm(sim, { seed: 1 })
    const b = await createSimTestSwarm(sim, { seed: 2 })
    const c = await createSimTestSwarm(sim, { seed: 3 })
    const wrong = `${b.addresses[0].replace(/\/p2p\/.*$/, '')}/p2p/${c.peerId}`
    a.dial(wrong)
    expect(await nextSimEventLogged(sim, a, 'dial.failed')).toEqual({ type: 'dial.failed', address: wrong, reason: 'peer-id-mismatch', peer: c.peerId })
    await sim.run({ forMs: 1000 })
    expect(peerEvents(a)).toEqual([])
    expect(b.peers()).toEqual([])
  })

  it('an address no transport handles → dial.failed unsupported-address', async () => {
    const sim = createSimulation()
    const a = await createSimTestSwarm(sim, { seed: 1 })
    a.dial('ws://127.0.0.1:4001')
    expect(await nextSimEventLogged(sim, a, 'dial.failed')).toEqual({ type: 'dial.failed', address: 'ws://127.0.0.1:4001', reason: 'unsupported-address' })
  })

  it('a remote over its maxConnections refuses the dial: dial.failed with the remote\'s reason', async () => {
    const sim = createSimulation()
    const hub = await createSimTestSwarm(sim, { seed: 1, limits: { maxConnections: 1 } })
    const a = await createSimTestSwarm(sim, { seed: 2 })
    const b = await createSimTestSwarm(sim, { seed: 3 })
    await connectSim(sim, a, hub)
    b.dial(hub.addresses[0])
    expect(await nextSimEventLogged(sim, b, 'dial.failed')).toMatchObject({ type: 'dial.failed', reason: 'too-many-connections' })
    expect(hub.peers()).toEqual([a.peerId])
  })

  it('private network: the same swarm key connects; a node without one is refused with private-network', async () => {
    const sim = createSimulation()
    const key = new Uint8Array(32).fill(3)
    const a = await createSimTestSwarm(sim, { seed: 1, swarmKey: key })
    const b = await createSimTestSwarm(sim, { seed: 2, swarmKey: key })
    const outsider = await createSimTestSwarm(sim, { seed: 3 })
    await connectSim(sim, a, b)
    outsider.dial(a.addresses[0])
    expect(await nextSimEventLogged(sim, outsider, 'dial.failed')).toMatchObject({ reason: 'private-network' })
    a.dial(outsider.addresses[0])
    expect(await nextSimEventLogged(sim, a, 'dial.failed')).toMatchObject({ reason: 'private-network' })
    expect(peerEvents(outsider)).toEqual([])
  })

  // Regression: with XXpsk3 the initiator finishes when it *sends* message 3, before the
  // responder has checked the psk; it now waits for the responder's `ready` (key confirmation)
  // before counting the peer as connected.
  it('private network: a different swarm key → dial.failed private-network, never peer.connected', async () => {
    const sim = createSimulation()
    const a = await createSimTestSwarm(sim, { seed: 1, swarmKey: new Uint8Array(32).fill(1) })
    const b = await createSimTestSwarm(sim, { seed: 2, swarmKey: new Uint8Array(32).fill(2) })
    a.dial(b.addresses[0])
    await sim.run({ forMs: 3000 })
    expect(peerEvents(a)).toEqual([])
    expect(eventsOf(a).filter((e) => e.type === 'dial.failed')).toMatchObject([{ reason: 'private-network' }])
  })

  it('invalid address strings: dial() throws at once, naming the problem', async () => {
    const sim = createSimulation()
    const a = await createSimTestSwarm(sim, { seed: 1 })
    const cases: [unknown, RegExp][] = [
      ['', /empty/],
      ['http://127.0.0.1:4001', /not a WebSocket address: use ws:\/\//],
      ['ftp://127.0.0.1:4001', /unsupported scheme 'ftp:\/\/'/],
      ['ws://127.0.0.1', /missing port/],
      ['ws://127.0.0.1:0', /cannot dial port 0/],
      ['ws://127.0.0.1:99999', /out of range/],
      ['ws://::1:4001', /IPv6 host must be in brackets/],
      ['ws://127.0.0.1:4001/p2p/not-a-peer-id', /not a valid peer id/],
      ['ws://127.0.0.1:4001/some*where', /bad segment/],
      ['/ip4/127.0.0.1/tcp/4001', /no \/ws/],
      ['/ip4/999.0.0.1/tcp/4001/ws', /not a valid IPv4/],
      ['memory://bad name', /whitespace/],
      ['justwords', /neither a ws:\/\/ or memory:\/\/ URL nor a multiaddr/],
    ]
    for (const [address, message] of cases) {
      expect(() => a.dial(address as string), String(address)).toThrow(message)
    }
    expect(() => a.dial(42 as unknown as string)).toThrow(TypeError)
    expect(a.stats().queued).toBe(0) // nothing was queued
  })
})

describe('simulation: backpressure', () => {
  it('a peer that stops reading is dropped as a slow reader once more than maxQueuedBytes wait for it; a fast one is not', async () => {
    const sim = createSimulation()
    const opts = { protocols: [numbersProtocol()], ping: false as const }
    const a = await createSimTestSwarm(sim, { seed: 1, ...opts, limits: { maxQueuedBytes: 4096 } })
    const fast = await createSimTestSwarm(sim, { seed: 3, ...opts })
    const slow = await createSimTestSwarm(sim, { seed: 2, ...opts, limits: { maxQueuedInputs: 16 } }, false)
    await connectSim(sim, a, fast)
    a.dial(slow.addresses[0])
    await nextSimEvent(sim, slow, (e) => e.type === 'peer.connected')
    await sim.run({ until: () => a.isConnected(slow.peerId), forMs: 1000 })
    // A burst far over 4 KiB to a peer that reads is fine...
    a.command(NUMBERS_ID, { type: 'numbers.send', peer: fast.peerId, count: 2000 })
    await sim.run({ until: () => eventsOf(fast).filter((e) => e.type === 'numbers.got').length === 2000, forMs: 1000 })
    expect(a.isConnected(fast.peerId)).toBe(true)
    // ...but the same to a peer whose user takes nothing (its sockets paused) ends that connection.
    a.command(NUMBERS_ID, { type: 'numbers.send', peer: slow.peerId, count: 2000 })
    await sim.run({ until: () => !a.isConnected(slow.peerId), forMs: 5000 })
    expect(eventsOf(a).filter((e) => e.type === 'peer.disconnected')).toEqual([{ type: 'peer.disconnected', peer: slow.peerId, reason: 'slow-reader' }])
    expect(a.isConnected(fast.peerId)).toBe(true)
  })

  it('close() of a swarm whose user stopped taking events (sockets paused) still completes', async () => {
    const sim = createSimulation()
    const opts = { protocols: [numbersProtocol()], ping: false as const }
    const a = await createSimTestSwarm(sim, { seed: 1, ...opts })
    const b = await createSimTestSwarm(sim, { seed: 2, ...opts, limits: { maxQueuedInputs: 8 } }, false)
    a.dial(b.addresses[0])
    await nextSimEvent(sim, b, (e) => e.type === 'peer.connected')
    await sim.run({ until: () => a.isConnected(b.peerId), forMs: 1000 })
    // 5,000 frames: 79 batches of 64, more than the 8 inputs b's queue holds.
    a.command(NUMBERS_ID, { type: 'numbers.send', peer: b.peerId, count: 5000 })
    await sim.run({ forMs: 100 })
    expect(b.stats().paused).toBeGreaterThan(0)
    let closed = false
    void b.close().then(() => { closed = true })
    await sim.run({ until: () => closed, forMs: 10_000 })
    expect(closed).toBe(true)
    expect(eventsOf(a).at(-1)).toEqual({ type: 'peer.disconnected', peer: b.peerId, reason: 'swarm-closed' })
    // Events not yet taken stay available, and the stream ends with swarm.closed.
    const rest: SwarmEvent[] = []
    for (let e = b.take(); e !== undefined; e = b.take()) rest.push(e)
    expect(rest.at(-1)).toEqual({ type: 'swarm.closed' })
  })

  it('a swarm whose user stops taking events pauses its sockets, and loses nothing when it resumes', async () => {
    const sim = createSimulation()
    const opts = { protocols: [numbersProtocol()], ping: false as const, timeouts: { keepAlive: 600_000, pingTimeout: 600_000 } }
    const a = await createSimTestSwarm(sim, { seed: 1, ...opts })
    const b = await createSimTestSwarm(sim, { seed: 2, ...opts, limits: { maxQueuedInputs: 16 } }, false)
    a.dial(b.addresses[0])
    await nextSimEvent(sim, b, (e) => e.type === 'peer.connected')
    await sim.run({ until: () => a.isConnected(b.peerId), forMs: 1000 })

    const COUNT = 2000
    a.command(NUMBERS_ID, { type: 'numbers.send', peer: b.peerId, count: COUNT })
    await sim.run({ forMs: 1000 }) // B's user takes nothing meanwhile
    const stalled = b.stats()
    expect(stalled.paused).toBeGreaterThan(0)
    expect(stalled.queued).toBeLessThan(16 + 8) // bounded (frames up to the bound, plus timers): the rest waits in the paused socket
    expect(eventsOf(b).filter((e) => e.type === 'numbers.got')).toHaveLength(0)

    const got: number[] = []
    await nextSimEvent(sim, b, (e) => {
      if (e.type === 'numbers.got') got.push((e as unknown as { n: number }).n)
      return got.length === COUNT
    }, { what: `${COUNT} numbers.got` })
    expect(got).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1))
    expect(b.stats().paused).toBe(0)
    expect(b.stats().dropped).toBe(0)
    expect(b.isConnected(a.peerId)).toBe(true)
  }, 20_000)
})

describe('simulation: strangers at the socket level', () => {
  /** A raw connection to `address` on `sim`'s network, recording what it receives and how it ends. */
  async function rawClient(sim: Simulation, url: string) {
    const t = sim.transport()
    let conn: Conn | undefined
    void t.dial(url).then((c) => { conn = c })
    await sim.run({ until: () => conn !== undefined, forMs: 100 })
    const got: { data: number; closed?: { reason: string; byRemote: boolean } } = { data: 0 }
    conn!.attach({ data: () => { got.data++ }, closed: (reason, byRemote) => { got.closed = { reason, byRemote } } })
    return { conn: conn!, got }
  }

  it('a client that never completes the handshake is closed with handshake-timeout', async () => {
    const sim = createSimulation()
    const hub = await createSimTestSwarm(sim, { seed: 1, timeouts: { handshake: 1000 } })
    expect(sim.now()).toBe(0)
    const { got } = await rawClient(sim, hub.addresses[0].replace(/\/p2p\/.*$/, '')) // opened at t = 0
    await sim.run({ until: () => got.closed !== undefined, forMs: 5000 })
    expect(got.closed).toEqual({ reason: 'handshake-timeout', byRemote: true })
    expect(sim.now()).toBe(1000)
    expect(hub.peers()).toEqual([])
  })

  it('garbage or a non-handshake frame before the handshake closes the connection with a reason', async () => {
    const sim = createSimulation()
    const hub = await createSimTestSwarm(sim, { seed: 1 })
    const url = hub.addresses[0].replace(/\/p2p\/.*$/, '')
    const cases: [Uint8Array, string][] = [
      [new Uint8Array([0xc1, 0xff, 0x00]), 'frame-malformed'],
      [encodeFrame('/xswarm/ping/1', [0, 1]), 'protocol-violation'],
      [encodeFrame('/xswarm/noise/1', 'not bytes'), 'handshake-malformed'],
    ]
    for (const [bytes, reason] of cases) {
      const { conn, got } = await rawClient(sim, url)
      conn.send(bytes)
      await sim.run({ until: () => got.closed !== undefined, forMs: 5000 })
      expect(got.closed, reason).toEqual({ reason, byRemote: true })
    }
    expect(hub.peers()).toEqual([])
  })
})

describe('simulation: churn', () => {
  it('2,000 connect/disconnect cycles against one swarm: the last 500 cost about what the first 500 did', async () => {
    const sim = createSimulation()
    const opts = { ping: false as const }
    // The observer only keeps the root's ref (the first actor created) to look at its registries afterwards.
    let root: AnyActorRef | undefined
    const inspect = (ev: InspectionEvent) => {
      if (root === undefined && ev.type === '@xstate.actor') root = ev.actorRef as AnyActorRef
    }
    const hub = await createSimTestSwarm(sim, { seed: 1, ...opts, inspect })
    const dialers: Swarm[] = []
    for (let i = 0; i < 4; i++) dialers.push(await createSimTestSwarm(sim, { seed: 10 + i, ...opts }))
    const address = hub.addresses[0]
    const times: number[] = []
    let cycles = 0
    const t0 = performance.now()
    while (cycles < 2000) {
      for (const d of dialers) d.dial(address)
      const up = await sim.run({ until: () => dialers.every((d) => d.isConnected(hub.peerId)), forMs: 5000 })
      expect(up.satisfied).toBe(true)
      for (const d of dialers) d.hangUp(hub.peerId)
      const down = await sim.run({ until: () => hub.peers().length === 0 && dialers.every((d) => !d.isConnected(hub.peerId)), forMs: 5000 })
      expect(down.satisfied).toBe(true)
      cycles += dialers.length
      times.push(performance.now() - t0)
    }
    const per = 500 / dialers.length // rounds per 500 churns
    const first = times[per - 1]
    const last = times[times.length - 1] - times[times.length - 1 - per]
    expect(last / first, `first 500: ${first.toFixed(0)} ms, last 500: ${last.toFixed(0)} ms`).toBeLessThan(3)
    const hubDisconnects = eventsOf(hub).filter((e) => e.type === 'peer.disconnected').length
    expect(hubDisconnects).toBe(2000)
    // Nothing of the 2,000 connections is left: the registries are empty and the connection
    // actors never were XState children of the root (only its protocol actors are tracked there, if any).
    expect((root as unknown as { systemId?: string }).systemId).toBe('swarm')
    const snap = root!.getSnapshot() as { context: { conns: Map<string, unknown>; byConnId: Map<number, string>; byDialId: Map<number, string>; peers: Map<string, unknown> }; children: Record<string, unknown> }
    expect([snap.context.conns.size, snap.context.byConnId.size, snap.context.byDialId.size, snap.context.peers.size]).toEqual([0, 0, 0, 0])
    expect(Object.keys(snap.children).filter((id) => /^[cd]\d+$/.test(id))).toEqual([])
  }, 60_000)
})

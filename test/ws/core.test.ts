/**
 * The core over real WebSockets in one process, on 127.0.0.1 (and ::1 when the host has it):
 * connecting two and five swarms, ping RTTs, hang-up and close reasons, the wrong peer id, a
 * refused port, and a user protocol moving 1,000 numbered messages each way in order.
 * Every wait is bounded (see test/helpers/swarm-test.ts).
 * @module
 */
import { createServer, type Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { createSwarm } from '../../src/create-swarm.js'
import type { Swarm } from '../../src/swarm.js'
import {
  connect, createTestSwarm, drive, eventsOf, nextEvent, NUMBERS_ID, numbersProtocol, useSwarmCleanup,
} from '../helpers/swarm-test.js'

useSwarmCleanup()

/** A TCP port on `host` that nothing listens on (bound, then released). */
async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, resolve)
  })
  const port = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

async function hasIPv6Loopback(): Promise<boolean> {
  try {
    await freePort('::1')
    return true
  } catch {
    return false
  }
}

const disconnectedFrom = (peer: string) => (e: { type: string; peer?: unknown }) => e.type === 'peer.disconnected' && e.peer === peer

describe('ws: connecting', () => {
  it('two swarms connect, both directions reported, and ping RTTs arrive', async () => {
    const a = await createTestSwarm({ ping: { interval: 100 } })
    const b = await createTestSwarm({ ping: { interval: 100 } })
    expect(a.addresses[0]).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/p2p\//)
    await connect(a, b)
    expect(eventsOf(a).find((e) => e.type === 'peer.connected')).toMatchObject({ peer: b.peerId, direction: 'outbound', address: b.addresses[0] })
    expect(eventsOf(b).find((e) => e.type === 'peer.connected')).toMatchObject({ peer: a.peerId, direction: 'inbound' })
    const rtts: number[] = []
    await drive([a, b], () => rtts.length >= 4, {
      what: '4 ping.rtt',
      onEvent: (_s, e) => {
        if (e.type === 'ping.rtt') rtts.push((e as unknown as { rtt: number }).rtt)
      },
    })
    for (const rtt of rtts) {
      expect(rtt).toBeGreaterThanOrEqual(0)
      expect(rtt).toBeLessThan(2000)
    }
    expect(a.peers()).toEqual([b.peerId])
  })

  it('five swarms connect in a full mesh', async () => {
    const swarms: Swarm[] = []
    for (let i = 0; i < 5; i++) swarms.push(await createTestSwarm({ ping: false }))
    for (let i = 0; i < 5; i++) for (let j = i + 1; j < 5; j++) swarms[i].dial(swarms[j].addresses[0])
    await drive(swarms, () => swarms.every((s) => s.peers().length === 4), { what: 'full mesh', timeoutMs: 10_000 })
    for (const s of swarms) {
      expect(eventsOf(s).filter((e) => e.type === 'peer.connected')).toHaveLength(4)
      expect(eventsOf(s).filter((e) => e.type === 'peer.disconnected' || e.type === 'dial.failed')).toEqual([])
    }
  }, 20_000)

  it('the multiaddr form of an address dials the same node', async () => {
    const a = await createTestSwarm({ ping: false })
    const b = await createTestSwarm({ ping: false })
    const m = /^ws:\/\/127\.0\.0\.1:(\d+)\/p2p\/(.+)$/.exec(b.addresses[0])!
    a.dial(`/ip4/127.0.0.1/tcp/${m[1]}/ws/p2p/${m[2]}`)
    await drive([a, b], () => a.isConnected(b.peerId) && b.isConnected(a.peerId), { what: 'connected via multiaddr' })
  })

  it('simultaneous dials both ways end in one connection per side', async () => {
    const a = await createTestSwarm({ ping: false })
    const b = await createTestSwarm({ ping: false })
    a.dial(b.addresses[0])
    b.dial(a.addresses[0])
    await drive([a, b], () => a.isConnected(b.peerId) && b.isConnected(a.peerId), { what: 'connected' })
    await drive([a, b], () => false, { timeoutMs: 300 }).catch(() => {}) // let the duplicate settle
    for (const s of [a, b]) expect(eventsOf(s).filter((e) => e.type.startsWith('peer.')).map((e) => e.type)).toEqual(['peer.connected'])
  })
})

describe('ws: endings', () => {
  it('hang-up: the remote sees peer.disconnected with the reason given', async () => {
    const a = await createTestSwarm({ ping: false })
    const b = await createTestSwarm({ ping: false })
    await connect(a, b)
    a.hangUp(b.peerId, 'enough')
    const [ea, eb] = await Promise.all([
      nextEvent(a, disconnectedFrom(b.peerId), { what: 'peer.disconnected on A' }),
      nextEvent(b, disconnectedFrom(a.peerId), { what: 'peer.disconnected on B' }),
    ])
    expect(ea).toEqual({ type: 'peer.disconnected', peer: b.peerId, reason: 'enough' })
    expect(eb).toEqual({ type: 'peer.disconnected', peer: a.peerId, reason: 'enough' })
    expect(a.isConnected(b.peerId) || b.isConnected(a.peerId)).toBe(false)
  })

  it('close: the remote sees swarm-closed; the closed swarm\'s stream ends with swarm.closed', async () => {
    const a = await createTestSwarm({ ping: false })
    const b = await createTestSwarm({ ping: false })
    await connect(a, b)
    const closing = a.close()
    const eb = await nextEvent(b, disconnectedFrom(a.peerId), { what: 'peer.disconnected on B' })
    expect(eb).toEqual({ type: 'peer.disconnected', peer: a.peerId, reason: 'swarm-closed' })
    await closing
    const rest = []
    for (let e = a.take(); e !== undefined; e = a.take()) rest.push(e)
    expect(rest.at(-1)).toEqual({ type: 'swarm.closed' })
    expect(rest.filter((e) => e.type === 'peer.disconnected')).toEqual([{ type: 'peer.disconnected', peer: b.peerId, reason: 'swarm-closed' }])
    // A no longer listens: dialing it is refused.
    b.dial(a.addresses[0])
    const failed = await nextEvent(b, (e) => e.type === 'dial.failed', { what: 'dial.failed' })
    expect(failed).toMatchObject({ reason: 'connection-refused', peer: a.peerId })
  })

  it('the wrong peer id → dial.failed peer-id-mismatch', async () => {
    const a = await createTestSwarm({ ping: false })
    const b = await createTestSwarm({ ping: false })
    const c = await createTestSwarm({ ping: false, listen: [] })
    const wrong = b.addresses[0].replace(/\/p2p\/.*$/, `/p2p/${c.peerId}`)
    a.dial(wrong)
    // B must be driven too: the handshake needs both sides.
    await drive([a, b], () => eventsOf(a).some((e) => e.type === 'dial.failed'), { what: 'dial.failed on A' })
    const failed = eventsOf(a).find((e) => e.type === 'dial.failed')
    expect(failed).toEqual({ type: 'dial.failed', address: wrong, reason: 'peer-id-mismatch', peer: c.peerId })
    expect(a.peers()).toEqual([])
  })

  it('a port that accepts TCP but never answers: dial.failed dial-timeout, and the socket is released', async () => {
    const sockets: Socket[] = []
    let closedSockets = 0
    const server = createServer((socket) => {
      sockets.push(socket)
      socket.on('close', () => { closedSockets++ })
      socket.on('error', () => {})
      socket.resume() // read (and drop) the upgrade request, so the client's close is seen
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const port = (server.address() as { port: number }).port
      const a = await createTestSwarm({ ping: false, listen: [], timeouts: { dial: 300 } })
      const address = `ws://127.0.0.1:${port}`
      a.dial(address)
      const failed = await nextEvent(a, (e) => e.type === 'dial.failed', { what: 'dial.failed', timeoutMs: 5000 })
      expect(failed).toEqual({ type: 'dial.failed', address, reason: 'dial-timeout' })
      expect(sockets).toHaveLength(1)
      // The dial was aborted (effect.cancelDial): the half-open socket does not linger.
      const deadline = Date.now() + 2000
      while (closedSockets < 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
      expect(closedSockets).toBe(1)
    } finally {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })

  it('a silent peer (alive, no longer driven) is dropped by the keep-alive with ping-timeout', async () => {
    const timeouts = { keepAlive: 150, pingTimeout: 150 }
    const a = await createTestSwarm({ ping: false, timeouts })
    const b = await createTestSwarm({ ping: false, timeouts })
    await connect(a, b)
    const t0 = Date.now()
    const e = await nextEvent(a, disconnectedFrom(b.peerId), { what: 'peer.disconnected on A', timeoutMs: 5000 })
    expect(e).toEqual({ type: 'peer.disconnected', peer: b.peerId, reason: 'ping-timeout' })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250)
  })

  it('a refused port → dial.failed connection-refused', async () => {
    const a = await createTestSwarm({ ping: false, listen: [] })
    const address = `ws://127.0.0.1:${await freePort()}`
    a.dial(address)
    const failed = await nextEvent(a, (e) => e.type === 'dial.failed', { what: 'dial.failed' })
    expect(failed).toEqual({ type: 'dial.failed', address, reason: 'connection-refused' })
  })
})

describe('ws: createSwarm failures release what they started', () => {
  it('listening on a port in use rejects with listen-failed and leaves nothing running', async () => {
    const a = await createTestSwarm({ ping: false })
    const url = a.addresses[0].replace(/\/p2p\/.*$/, '')
    await expect(createSwarm({ listen: [url], ping: false })).rejects.toMatchObject({ code: 'listen-failed' })
  })

  // Regression: a bootstrap address that does not parse used to reject createSwarm after the
  // listeners were bound, leaking the port and the running root.
  it('an invalid bootstrap address rejects createSwarm and releases its listener', async () => {
    const port = await freePort()
    await expect(createSwarm({ listen: [`ws://127.0.0.1:${port}`], bootstrap: ['not-an-address'], ping: false })).rejects.toThrow(/not-an-address/)
    // The port must be free again.
    const server = createServer()
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false))
      server.listen(port, '127.0.0.1', () => resolve(true))
    })
    await new Promise<void>((resolve) => (bound ? server.close(() => resolve()) : resolve()))
    expect(bound).toBe(true)
  })
})

describe('ws: a user protocol', () => {
  it('1,000 numbered messages each way arrive in order, every one echoed, nothing lost', async () => {
    const a = await createTestSwarm({ ping: false, protocols: [numbersProtocol({ echo: true })] })
    const b = await createTestSwarm({ ping: false, protocols: [numbersProtocol({ echo: true })] })
    await connect(a, b)
    const N = 1000
    a.command(NUMBERS_ID, { type: 'numbers.send', peer: b.peerId, count: N })
    b.command(NUMBERS_ID, { type: 'numbers.send', peer: a.peerId, count: N })
    const seen = new Map<Swarm, { got: number[]; echoed: number[] }>([[a, { got: [], echoed: [] }], [b, { got: [], echoed: [] }]])
    await drive([a, b], () => [...seen.values()].every((s) => s.got.length === N && s.echoed.length === N), {
      what: `${N} messages and ${N} echoes on each side`,
      timeoutMs: 15_000,
      onEvent: (s, e) => {
        if (e.type === 'numbers.got') seen.get(s)!.got.push((e as unknown as { n: number }).n)
        if (e.type === 'numbers.echoed') seen.get(s)!.echoed.push((e as unknown as { n: number }).n)
      },
    })
    const expected = Array.from({ length: N }, (_, i) => i + 1)
    for (const s of seen.values()) {
      expect(s.got).toEqual(expected)
      expect(s.echoed).toEqual(expected)
    }
    expect(a.stats().dropped + b.stats().dropped).toBe(0)
  }, 20_000)
})

describe('ws: backpressure', () => {
  it('a swarm whose user stops taking events pauses its sockets; nothing is lost when it resumes', async () => {
    const a = await createTestSwarm({ ping: false, protocols: [numbersProtocol()] })
    const b = await createTestSwarm({ ping: false, protocols: [numbersProtocol()], limits: { maxQueuedInputs: 32 } })
    await connect(a, b)
    const N = 3000
    a.command(NUMBERS_ID, { type: 'numbers.send', peer: b.peerId, count: N })
    // Drive only A (its sends go out); B's user takes nothing, so its queue fills and its socket pauses.
    await drive([a], () => b.stats().paused > 0, { what: 'B paused', timeoutMs: 5000 })
    expect(b.stats().queued).toBeLessThan(N)
    const got: number[] = []
    await drive([a, b], () => got.length === N, {
      what: `${N} numbers.got on B`,
      timeoutMs: 10_000,
      onEvent: (s, e) => {
        if (s === b && e.type === 'numbers.got') got.push((e as unknown as { n: number }).n)
      },
    })
    expect(got).toEqual(Array.from({ length: N }, (_, i) => i + 1))
    expect(b.stats().paused).toBe(0)
  }, 20_000)
})

describe('ws: IPv6', () => {
  it('two swarms connect over [::1]', async (ctx) => {
    if (!(await hasIPv6Loopback())) return ctx.skip('no IPv6 loopback (::1) on this host')
    const a = await createTestSwarm({ ping: false, listen: ['ws://[::1]:0'] })
    const b = await createTestSwarm({ ping: false, listen: ['ws://[::1]:0'] })
    expect(b.addresses[0]).toMatch(/^ws:\/\/\[::1\]:\d+\/p2p\//)
    await connect(a, b)
    expect(a.isConnected(b.peerId)).toBe(true)
  })
})

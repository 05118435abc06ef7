/**
 * Resource exhaustion against a live node over real WebSockets: thousands of connections that
 * never speak (the pending-connection limit refuses the excess with
 * `too-many-pending-connections`, the handshake timeout drops the rest), and a peer that
 * completes the handshake and then stops reading while the node sends to it (disconnected
 * with `slow-reader` once `maxQueuedBytes` is exceeded; a peer that reads, making the same
 * requests, is not). An honest peer keeps pinging the node during and after each attack, and
 * the heap returns near its level once the attackers are gone.
 * @module
 */
import { enqueueActions, setup } from 'xstate'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { defineProtocol, toPeer } from '../../machines/lib/protocol.js'
import { createWsTransport } from '../../src/transport/ws.js'
import {
  RawPeer, RawSocket, Target, useFaultRecorder, rawIdentity, settledHeapMiB, sleep, type CloseInfo,
} from '../helpers/raw-peer.js'

useFaultRecorder()

describe('connections that never speak', () => {
  const TOTAL = 2000
  const BATCH = 250
  const PENDING = 64
  let target: Target

  beforeAll(async () => {
    target = await Target.start({ limits: { maxPendingConnections: PENDING }, timeouts: { handshake: 800 } })
  })
  afterAll(async () => {
    await target?.close()
  })

  it(`${TOTAL} silent connections: the excess refused (too-many-pending-connections), the rest dropped (handshake-timeout)`, async () => {
    const heapBefore = await settledHeapMiB()
    const closes: Array<Promise<CloseInfo>> = []
    let failedToOpen = 0
    const t0 = performance.now()
    for (let i = 0; i < TOTAL; i += BATCH) {
      // 250 upgrades at once on a loaded 2-core machine can take more than 5 s (29 of 2000 did once).
      const batch = await Promise.allSettled(Array.from({ length: BATCH }, () => RawPeer.connect(target.address, 10_000)))
      for (const r of batch) {
        if (r.status === 'fulfilled') closes.push(r.value.waitClosed(10_000))
        else failedToOpen++
      }
      if (i === TOTAL / 2) await target.assertHonestAlive(5000) // mid-flood
    }
    const infos = await Promise.all(closes)
    const elapsed = performance.now() - t0
    const reasons = new Map<string, number>()
    for (const info of infos) reasons.set(info.readable, (reasons.get(info.readable) ?? 0) + 1)
    console.log(`${TOTAL} silent connections in ${elapsed.toFixed(0)} ms: ${JSON.stringify(Object.fromEntries(reasons))}, failed to open: ${failedToOpen}`)
    expect(failedToOpen).toBe(0)
    expect(infos.length).toBe(TOTAL)
    expect([...reasons.keys()].sort()).toEqual(['handshake-timeout', 'too-many-pending-connections'])
    expect(reasons.get('too-many-pending-connections')!).toBeGreaterThan(TOTAL / 2)
    await target.assertHonestAlive(5000)
    closes.length = 0
    infos.length = 0
    const heapAfter = await settledHeapMiB()
    console.log(`silent connections: heap ${heapBefore.toFixed(1)} MiB before, ${heapAfter.toFixed(1)} MiB after`)
    expect(heapAfter).toBeLessThan(heapBefore * 1.5 + 16)
    expect(target.node.swarm.peers()).toEqual([target.honest.swarm.peerId])
    expect(target.node.pumpError).toBeNull()
  }, 60_000)
})

// A user protocol that sends a lot: `[n, size]` from a peer asks for n frames of `size` bytes.
const BLAST = '/test/blast/1'
const blastMachine = setup({
  types: { events: {} as { type: string; peer?: string; body?: [number, number] } },
  actions: {
    blast: enqueueActions(({ event, enqueue }) => {
      const [n, size] = event.body!
      for (let i = 0; i < n; i++) enqueue.emit(toPeer(BLAST, event.peer!, new Uint8Array(size)) as never)
    }),
  },
}).createMachine({ id: 'blast', on: { message: { actions: 'blast' } } })
const blastProtocol = defineProtocol<[number, number]>({
  id: BLAST,
  machine: blastMachine,
  parse: (body) => Array.isArray(body) && body.length === 2 && Number.isInteger(body[0]) && Number.isInteger(body[1]) &&
    body[0] >= 0 && body[0] <= 64 && body[1] >= 0 && body[1] <= 60_000 ? body as [number, number] : undefined,
})

describe('a peer that stops reading', () => {
  const MAX_QUEUED = 1024 * 1024
  const REQUEST: [number, number] = [4, 32_000] // 128 KB per request, well under maxQueuedBytes per turn
  let target: Target

  beforeAll(async () => {
    target = await Target.start({ limits: { maxQueuedBytes: MAX_QUEUED }, protocols: [blastProtocol] })
  })
  afterAll(async () => {
    await target?.close()
  })

  async function accepted(): Promise<{ peer: RawPeer; id: string }> {
    const peer = await RawPeer.connect(target.address)
    const identity = rawIdentity()
    const since = performance.now()
    await peer.handshake({ identity })
    await target.node.waitFor((e) => e.type === 'peer.connected' && (e as { peer: string }).peer === identity.peerId, 3000, since)
    return { peer, id: identity.peerId }
  }

  /** Ask for REQUEST every 5 ms until the node drops the peer or `max` requests went out. */
  async function request(peer: RawPeer, id: string, max: number): Promise<number> {
    let sent = 0
    const gone = () => target.node.count((e) => e.type === 'peer.disconnected' && (e as { peer: string }).peer === id) > 0
    while (sent < max && !gone() && peer.isOpen) {
      peer.sendFrame(BLAST, REQUEST)
      sent++
      await sleep(5)
    }
    return sent
  }

  it('is disconnected with slow-reader once maxQueuedBytes (1 MiB) is exceeded; memory returns', async () => {
    const heapBefore = await settledHeapMiB()
    const { peer, id } = await accepted()
    peer.pause()
    const sent = await request(peer, id, 600)
    const reason = await target.disconnectReason(id, 5000)
    console.log(`slow reader: dropped after ${sent} requests (${(sent * REQUEST[0] * REQUEST[1] / 2 ** 20).toFixed(1)} MiB asked for)`)
    expect(reason).toBe('slow-reader')
    await target.assertHonestAlive()
    // It was not reading, so it may never see the close frame: the node terminates it after the close timeout.
    peer.resume()
    const info = await peer.waitClosed(6000)
    expect(['slow-reader', 'connection-lost']).toContain(info.readable)
    const stats = target.node.swarm.stats()
    expect(stats.paused).toBe(0)
    const heapAfter = await settledHeapMiB()
    console.log(`slow reader: heap ${heapBefore.toFixed(1)} MiB before, ${heapAfter.toFixed(1)} MiB after`)
    expect(heapAfter).toBeLessThan(heapBefore * 1.5 + 16)
  }, 30_000)

  it('a peer that reads, making the same requests, is not disconnected', async () => {
    const { peer, id } = await accepted()
    peer.discard = true
    const sent = await request(peer, id, 150) // ~19 MiB through a 1 MiB bound
    expect(sent).toBe(150)
    await sleep(200)
    expect(target.node.swarm.isConnected(id)).toBe(true)
    expect(peer.receivedBytes).toBeGreaterThan(100 * REQUEST[0] * REQUEST[1])
    await target.assertHonestAlive()
    peer.terminate()
    expect(await target.disconnectReason(id)).toBe('connection-lost')
  }, 30_000)

  // Regression test (found by this suite, fixed in ec8a2be). What it was:
  // BUG (false positive of the slow-reader check; src/runtime/driver.ts `send`, the
  // `sc.conn.bufferedAmount > this.limits.maxQueuedBytes` test right after `sc.conn.send`, with
  // src/transport/ws.ts corking the socket for the whole turn): while corked, every frame of the
  // turn sits in the net.Socket's writable buffer, which ws counts in `bufferedAmount`, so a
  // burst of more than maxQueuedBytes sent in ONE turn (one request answered with many frames,
  // or up to 512 inputs settled per pump) drops a peer that reads as fast as it can. Fix: judge
  // the backlog after the turn, when the kernel had its chance: e.g. the ws Conn checks
  // `bufferedAmount` in its `uncork` tick (or the driver checks the connections it sent on
  // before taking the next input) and only then reports `slow-reader`.
  it('a burst above maxQueuedBytes within one turn does not drop a peer that reads', async () => {
    const { peer, id } = await accepted()
    peer.discard = true
    peer.sendFrame(BLAST, [64, 60_000]) // 3.7 MiB in one turn, through a 1 MiB bound
    const outcome = await Promise.race([
      target.disconnectReason(id, 2000),
      sleep(1500).then(() => 'still connected'),
    ])
    expect(outcome).toBe('still connected')
    expect(peer.receivedBytes).toBeGreaterThanOrEqual(64 * 60_000)
    peer.terminate()
    await target.disconnectReason(id, 5000)
    await target.assertHonestAlive()
  }, 30_000)
})

describe('churn and a stalled consumer', () => {
  let target: Target
  beforeAll(async () => {
    target = await Target.start({})
  })
  afterAll(async () => {
    await target?.close()
  })

  it('300 authenticated peers that connect and vanish: every one disconnected, memory returns', async () => {
    const heapBefore = await settledHeapMiB()
    const ids: string[] = []
    for (let round = 0; round < 15; round++) {
      await Promise.all(Array.from({ length: 20 }, async () => {
        const peer = await RawPeer.connect(target.address)
        const identity = rawIdentity()
        ids.push(identity.peerId)
        await peer.handshake({ identity })
        await target.node.waitFor((e) => e.type === 'peer.connected' && (e as { peer: string }).peer === identity.peerId, 5000)
        peer.terminate()
      }))
    }
    for (const id of ids) expect(await target.disconnectReason(id, 5000)).toBe('connection-lost')
    await target.assertHonestAlive()
    expect(target.node.swarm.peers()).toEqual([target.honest.swarm.peerId])
    const heapAfter = await settledHeapMiB()
    console.log(`churn of 300 peers: heap ${heapBefore.toFixed(1)} MiB before, ${heapAfter.toFixed(1)} MiB after`)
    expect(heapAfter).toBeLessThan(heapBefore * 1.5 + 16)
  }, 30_000)

  // Regression test (found by this suite, fixed in ec8a2be). What it was:
  // BUG (memory bound; src/runtime/driver.ts `received` + src/runtime/queue.ts): the input queue
  // is bounded by COUNT (maxQueuedInputs, 4096), and a raw frame is queued before any check at
  // up to maxFrameBytes (1 MiB) each, so while the consumer is busy (any `await` in a
  // `for await` body stops the swarm) strangers that never did a handshake can park up to
  // 4096 x 1 MiB = 4 GiB in the queue before a single socket is paused; the per-connection
  // rate limit (64 MiB burst) does not stop it either (128 pending strangers x 64 MiB). Here 4
  // strangers park ~160 MiB of garbage while the consumer is stalled.
  // Fix: count bytes too: pause sockets when the queued raw bytes exceed a byte bound (e.g. a
  // new `maxQueuedInputBytes`, default 64 MiB), and let a connection that has not completed its
  // handshake have at most 1-2 raw frames queued (pause it until they are taken): a handshake
  // never needs more.
  it('while the consumer stalls, unauthenticated peers cannot park more than 64 MiB in the queue', async () => {
    const release = target.node.stall()
    let strangers: RawPeer[] = []
    let queuedMiB = 0
    try {
      await sleep(300) // the pump stops after the next event (pings flow every 100 ms)
      const before = process.memoryUsage().arrayBuffers
      strangers = await Promise.all(Array.from({ length: 4 }, () => RawPeer.connect(target.address)))
      const junk = new Uint8Array(1024 * 1024 - 64).fill(0xc1)
      for (const s of strangers) for (let i = 0; i < 40; i++) s.sendRaw(junk)
      // Since issue 14 a message before the handshake is at most one handshake frame (64 KiB +
      // 256): the transport refuses these 1 MiB frames from their header, before they reach the
      // queue, while the consumer is still stalled. Wait for exactly that (no loop that may give up).
      for (const info of await Promise.all(strangers.map((s) => s.waitClosed(5000)))) expect(info.readable).toBe('frame-too-large')
      const stats = target.node.swarm.stats()
      queuedMiB = stats.queued * junk.length / 2 ** 20 // upper estimate: nearly every queued input is one junk frame
      console.log(`stalled consumer: ${stats.queued} inputs queued (~${queuedMiB.toFixed(0)} MiB), ${stats.paused} sockets paused, arrayBuffers +${((process.memoryUsage().arrayBuffers - before) / 2 ** 20).toFixed(0)} MiB`)
    } finally {
      release()
    }
    await target.assertHonestAlive()
    expect(queuedMiB).toBeLessThanOrEqual(64)
  }, 30_000)
})

describe('slowloris: sockets that never finish the HTTP upgrade', () => {
  const HEAD_TIMEOUT = 1000
  let target: Target
  let sockets: RawSocket[] = []
  beforeAll(async () => {
    target = await Target.start({
      node: { transports: [createWsTransport({ handshakeTimeoutMs: HEAD_TIMEOUT })] },
    })
  })
  afterAll(async () => {
    for (const s of sockets) s.destroy()
    await target?.close()
  })

  it('300 half-sent upgrade requests: the node keeps serving and admits a newcomer meanwhile', async () => {
    sockets = await Promise.all(Array.from({ length: 300 }, () => RawSocket.connect(target.port, false)))
    for (const s of sockets) s.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n')
    await target.assertHonestAlive()
    const newcomer = await RawPeer.connect(target.address)
    const identity = rawIdentity()
    await newcomer.handshake({ identity })
    await target.node.waitFor((e) => e.type === 'peer.connected' && (e as { peer: string }).peer === identity.peerId, 3000)
    newcomer.terminate()
  })

  // BUG (src/transport/ws.ts `listen`: `createServer({ headersTimeout: ms, requestTimeout: ms })`):
  // Node enforces headersTimeout/requestTimeout only when it sweeps its connections, every
  // `connectionsCheckingInterval` (30 s by default), so a socket that sends half an HTTP head
  // is held ~30 s whatever `handshakeTimeoutMs` says (10 s by default: 30-40 s in practice).
  // These sockets count against no limit (maxPendingConnections starts after the upgrade), so
  // one attacker can hold thousands of file descriptors and starve accept() (EMFILE) for
  // honest peers. Fix: pass `connectionsCheckingInterval: Math.max(100, Math.floor(ms / 4))` to
  // createServer (or arm `socket.setTimeout(ms)` on 'connection' until the upgrade), and
  // bound un-upgraded sockets (e.g. `server.maxConnections`, or count them with the pending ones).
  // Regression test (fixed).
  it(`half-sent upgrade requests are dropped within about handshakeTimeoutMs (${HEAD_TIMEOUT} ms)`, async () => {
    // Its own sockets (run alone, it must not check an empty list); afterAll destroys them all.
    const mine = await Promise.all(Array.from({ length: 50 }, () => RawSocket.connect(target.port, false)))
    sockets.push(...mine)
    for (const s of mine) s.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n')
    const t0 = performance.now()
    while (performance.now() - t0 < HEAD_TIMEOUT * 3 && mine.some((s) => !s.ended)) await sleep(100)
    const alive = mine.filter((s) => !s.ended).length
    console.log(`slowloris: ${alive} of ${mine.length} sockets still open ${(performance.now() - t0).toFixed(0)} ms later`)
    await target.assertHonestAlive()
    expect(mine).toHaveLength(50)
    expect(alive).toBe(0)
  }, 20_000)
})

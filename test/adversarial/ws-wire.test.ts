/**
 * Attacks below the message layer, against a live node over real sockets (issue 14, items 1
 * and 6): unfinished WebSocket messages made of thousands of one-byte fragments, before and
 * after the handshake, a message larger than a handshake frame before the handshake, and a
 * WebSocket ping flood. Each ends with a reason of our vocabulary on both ends, the node's
 * memory (after GC) stays bounded while the attack runs, and an honest peer's pubsub delivery
 * stays complete throughout (Witness).
 * @module
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { RawListener, RawPeer, RawSocket, Target, rawIdentity, useFaultRecorder, within, type CloseInfo } from '../helpers/raw-peer.js'
import { SOURCES, Witness, fragmentFlood, pingFlood, settledMemoryMiB, tally } from '../helpers/attack.js'
import { createWsTransport } from '../../src/transport/ws.js'

let target: Target
useFaultRecorder(() => target)

beforeAll(async () => {
  target = await Target.start({})
})

/** How `socket` was closed by the node: its close frame, or 'no-close-frame' if it just ended. */
async function closedBy(socket: RawSocket, ms: number): Promise<string> {
  await socket.waitEnded(ms).catch(() => undefined)
  return socket.closeFrame()?.readable ?? (socket.ended ? 'no-close-frame' : 'still-open')
}

/** Peak of settled memory over `samples` measurements while `pending` runs (bounded). */
async function peakMemoryWhile(pending: Promise<unknown>, samples = 5): Promise<number> {
  let done = false
  void pending.finally(() => (done = true))
  let peak = await settledMemoryMiB()
  for (let i = 0; i < samples && !done; i++) peak = Math.max(peak, await settledMemoryMiB())
  return peak
}

describe('unfinished WebSocket messages', () => {
  const FRAGMENTS = 16_000

  it(`100 connections, each ${FRAGMENTS} one-byte fragments before the handshake: closed with too-many-fragments, memory bounded`, async () => {
    const witness = await Witness.start(target)
    const before = await settledMemoryMiB()
    const flood = fragmentFlood(FRAGMENTS)
    const sockets = await Promise.all(Array.from({ length: 100 }, (_, i) => RawSocket.connect(target.port, true, SOURCES[i % SOURCES.length])))
    for (const s of sockets) s.write(flood)
    const reasons = Promise.all(sockets.map((s) => closedBy(s, 4000)))
    const peak = await peakMemoryWhile(reasons)
    const got = await reasons
    const { sent, delivered } = await witness.stop()
    console.log(`fragments before the handshake: memory ${before.toFixed(1)} MiB before, peak ${peak.toFixed(1)} MiB; closes ${JSON.stringify(tally(got))}; witness ${delivered}/${sent}`)
    for (const s of sockets) s.destroy()
    expect(tally(got)).toEqual({ 'too-many-fragments': 100 })
    expect(peak - before).toBeLessThan(32)
    expect(delivered).toBe(sent)
    await target.assertHonestAlive()
  }, 30_000)

  it(`50 authenticated peers, each ${FRAGMENTS} one-byte fragments: disconnected with too-many-fragments on both ends`, async () => {
    const witness = await Witness.start(target)
    const before = await settledMemoryMiB()
    const peers = await Promise.all(Array.from({ length: 50 }, async (_, i) => {
      const peer = await RawPeer.connect(target.address, 5000, SOURCES[i % SOURCES.length])
      const identity = rawIdentity()
      const since = performance.now()
      await peer.handshake({ identity })
      await target.node.waitFor((e) => e.type === 'peer.connected' && (e as { peer: string }).peer === identity.peerId, 5000, since)
      return { peer, id: identity.peerId }
    }))
    const flood = fragmentFlood(FRAGMENTS)
    for (const { peer } of peers) peer.writeWire(flood)
    const closes = Promise.all(peers.map(({ peer }) => peer.waitClosed(4000).then((c: CloseInfo) => c.readable, () => 'still-open')))
    const peak = await peakMemoryWhile(closes)
    const got = await closes
    const nodeSide = await Promise.all(peers.map(({ id }) => target.disconnectReason(id, 4000).catch(() => 'still-connected')))
    const { sent, delivered } = await witness.stop()
    console.log(`fragments after the handshake: memory ${before.toFixed(1)} MiB before, peak ${peak.toFixed(1)} MiB; attacker reads ${JSON.stringify(tally(got))}, node says ${JSON.stringify(tally(nodeSide))}; witness ${delivered}/${sent}`)
    expect(tally(got)).toEqual({ 'too-many-fragments': 50 })
    expect(tally(nodeSide)).toEqual({ 'too-many-fragments': 50 })
    expect(peak - before).toBeLessThan(32)
    expect(delivered).toBe(sent)
  }, 30_000)

  it('40 authenticated peers, each holding an unfinished message of almost 1 MiB: the transport holds at most maxUnfinishedBytes, shedding the oldest', async () => {
    // A node of its own, with a 16 MiB budget (default 64 MiB) so that 40 MiB of attack is over it.
    const budgeted = await Target.start({ node: { transports: [createWsTransport({ maxUnfinishedBytes: 16 * 1024 * 1024 })] } })
    const witness = await Witness.start(budgeted)
    const before = await settledMemoryMiB()
    const peers = await Promise.all(Array.from({ length: 40 }, async (_, i) => {
      const peer = await RawPeer.connect(budgeted.address, 5000, SOURCES[i % SOURCES.length])
      const identity = rawIdentity()
      const since = performance.now()
      await peer.handshake({ identity })
      await budgeted.node.waitFor((e) => e.type === 'peer.connected' && (e as { peer: string }).peer === identity.peerId, 5000, since)
      return peer
    }))
    const payload = new Uint8Array(1024 * 1024 - 4096)
    const unfinished = RawSocket.frame(payload, payload.length, 0x2, false) // no FIN: the message never ends
    for (const peer of peers) {
      peer.writeWire(unfinished)
      await new Promise((resolve) => setTimeout(resolve, 20)) // one after another: which is older is known
    }
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const held = (await settledMemoryMiB()) - before
    const closes = await Promise.all(peers.map((p) => (p.isOpen ? Promise.resolve('open') : p.waitClosed(100).then((c: CloseInfo) => c.readable, () => 'ended'))))
    const { sent, delivered } = await witness.stop()
    console.log(`unfinished messages of ~1 MiB from 40 peers, budget 16 MiB: +${held.toFixed(1)} MiB held after GC; ${JSON.stringify(tally(closes))}; witness ${delivered}/${sent}`)
    for (const peer of peers) peer.terminate()
    await budgeted.close()
    expect(held).toBeLessThan(16 + 8)
    expect(tally(closes)['too-much-unfinished']).toBeGreaterThanOrEqual(24)
    expect(closes.slice(-8)).toEqual(Array(8).fill('open')) // the oldest went first: the newest are kept
    expect(delivered).toBe(sent)
  }, 40_000)

  it('before the handshake a message may be one handshake frame at most; after it, a full frame', async () => {
    const stranger = await RawPeer.connect(target.address, 5000, SOURCES[0])
    stranger.sendRaw(new Uint8Array(100_000))
    expect((await stranger.waitClosed(3000)).readable).toBe('frame-too-large')

    const peer = await RawPeer.connect(target.address, 5000, SOURCES[1])
    const identity = rawIdentity()
    await peer.handshake({ identity })
    await target.node.waitFor((e) => e.type === 'peer.connected' && (e as { peer: string }).peer === identity.peerId, 3000)
    peer.sendFrame('/test/unknown/1', new Uint8Array(900_000)) // a protocol the node does not run: ignored
    peer.sendFrame('/xswarm/ping/1', [0, 1]) // anything, to see the connection still read after it
    await target.assertHonestAlive()
    expect(target.node.swarm.isConnected(identity.peerId)).toBe(true)
    expect(peer.isOpen).toBe(true)
    peer.terminate()
  }, 20_000)
})

describe('WebSocket ping flood', () => {
  it('100 pings from an authenticated peer: rate-limit on both ends, not connection-lost', async () => {
    const peer = await RawPeer.connect(target.address, 5000, SOURCES[2])
    const identity = rawIdentity()
    await peer.handshake({ identity })
    await target.node.waitFor((e) => e.type === 'peer.connected' && (e as { peer: string }).peer === identity.peerId, 3000)
    peer.writeWire(pingFlood(100))
    expect((await peer.waitClosed(3000)).readable).toBe('rate-limit')
    expect(await target.disconnectReason(identity.peerId, 3000)).toBe('rate-limit')
    await target.assertHonestAlive()
  })

  it('a few pings are answered and cost nothing', async () => {
    const peer = await RawPeer.connect(target.address, 5000, SOURCES[3])
    let pongs = 0
    peer.ws.on('pong', () => pongs++)
    for (let i = 0; i < 3; i++) peer.ws.ping()
    await within((async () => { while (pongs < 3) await new Promise((r) => setTimeout(r, 10)) })(), 3000, 'three pongs')
    expect(peer.isOpen).toBe(true)
    peer.terminate()
  })

  it('a node that dials a ping-flooding listener closes with rate-limit too', async () => {
    const identity = rawIdentity()
    const listener = await RawListener.start(async (peer) => {
      await peer.respond({ identity })
      for (let i = 0; i < 100; i++) peer.ws.ping()
    })
    try {
      const since = performance.now()
      target.node.swarm.dial(listener.address(identity))
      await target.node.waitFor((e) => e.type === 'peer.connected' && (e as { peer: string }).peer === identity.peerId, 3000, since)
      const reason = await within(target.node.waitFor((e) => e.type === 'peer.disconnected' && (e as { peer: string }).peer === identity.peerId, 3000, since), 3500, 'disconnect')
      expect((reason as { reason: string }).reason).toBe('rate-limit')
      expect((await listener.peers[0].waitClosed(3000)).readable).toBe('rate-limit')
    } finally {
      await listener.close()
    }
  })
})

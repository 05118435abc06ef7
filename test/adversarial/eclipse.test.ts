/**
 * Lookup eclipse (issue 14, item 5): 20 Sybil identities on one address (127.0.0.2), with
 * ids sharing the target's first 8 bits, are connected to the searching node and answer every
 * FIND_NODE with fake peers even closer to the target, and with the target's real id, all
 * pointing at a black hole (a socket on 127.0.0.3 that accepts and never answers). The honest
 * target is found while they run, at its real address (the Sybils get two places in a k-bucket
 * and in a lookup, `maxPeersPerIp`; a contact that fails or does not answer by
 * `contactTimeout` is replaced at once; the target counts as found only when it answers
 * itself), and again at once after they leave. The searcher does not
 * listen (so no honest peer connects to it and puts the target in its routing table: it must
 * find it by a lookup), and dials the Sybils, as a node would dial peers it heard of.
 * @module
 */
import { createServer, type Server, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DISCOVERY_ID } from '../../machines/discovery/context.js'
import { keyToPeerId, peerKey } from '../../machines/discovery/kbucket.js'
import type { ExportedPeer } from '../../machines/discovery/peer-store.js'
import { createSwarm, type SwarmOptions } from '../../src/create-swarm.js'
import { Driven, RawListener, rawIdentity, sleep, useFaultRecorder, within, type RawIdentity } from '../helpers/raw-peer.js'

useFaultRecorder()

const SYBIL_HOST = '127.0.0.2'
const BLACK_HOLE_HOST = '127.0.0.3'
const SYBILS = 20

let blackHole: Server
const held: Socket[] = []
const honest: Driven[] = []
let searcher: Driven

async function node(options: Partial<SwarmOptions>): Promise<Driven> {
  const d = new Driven(await createSwarm({ listen: ['ws://127.0.0.1:0'], pubsub: false, ...options }))
  honest.push(d)
  return d
}

/** A Sybil on SYBIL_HOST: answers the searcher's dial, says hello, answers every find with fake closer peers. */
async function sybil(identity: RawIdentity, target: Uint8Array, stop: () => boolean): Promise<RawListener> {
  const port = (blackHole.address() as { port: number }).port
  const fakes = Array.from({ length: 20 }, (_, i) => {
    const key = Uint8Array.from(target)
    key[31] ^= i // closer to the target than any real peer can be; i = 0: the target's real id
    const id = keyToPeerId(key)
    return { id, addrs: [`ws://${BLACK_HOLE_HOST}:${port}/p2p/${id}`] }
  })
  return RawListener.start(async (peer) => {
    await peer.respond({ identity })
    peer.sendFrame(DISCOVERY_ID, { t: 'hello', addrs: [`ws://${SYBIL_HOST}:9/p2p/${identity.peerId}`], peers: [] })
    while (!stop() && peer.isOpen) {
      const frame = await peer.nextFrame(60_000).catch(() => null)
      if (frame === null) break
      const body = frame.body as { t?: string; id?: number }
      if (frame.protocol === DISCOVERY_ID && body.t === 'find') peer.sendFrame(DISCOVERY_ID, { t: 'found', id: body.id, peers: fakes })
    }
  }, SYBIL_HOST)
}

/** `count` identities whose key shares its first byte with `target`. */
function sybilIdentities(target: Uint8Array, count: number): RawIdentity[] {
  const out: RawIdentity[] = []
  for (let tries = 0; out.length < count && tries < 200_000; tries++) {
    const id = rawIdentity()
    if (peerKey(id.peerId)![0] === target[0]) out.push(id)
  }
  return out
}

describe('a lookup among Sybils', () => {
  let target: Driven
  let sybils: RawListener[] = []
  let stopped = false

  beforeAll(async () => {
    blackHole = createServer((socket) => { held.push(socket); socket.on('error', () => {}) })
    await new Promise<void>((resolve) => blackHole.listen(0, BLACK_HOLE_HOST, resolve))
    // An honest overlay of three, then the searcher (which joins through one of them), then the target.
    const h1 = await node({})
    const h2 = await node({ bootstrap: [h1.swarm.addresses[0]] })
    const h3 = await node({ bootstrap: [h1.swarm.addresses[0]] })
    await h2.waitFor((e) => e.type === 'peer.connected', 5000)
    await h3.waitFor((e) => e.type === 'peer.connected', 5000)
    searcher = await node({
      listen: [],
      bootstrap: [h1.swarm.addresses[0]],
      discovery: { lowWatermark: 1, highWatermark: 64, queryTimeout: 3000, contactTimeout: 1000, disjointPaths: 3, diversityAllowlist: ['127.0.0.1'], tickInterval: 1000, heardPeerTtl: 5000 },
    })
    await searcher.waitFor((e) => e.type === 'peer.connected', 5000)
    await sleep(500) // its join lookup is over
    target = await node({ bootstrap: [h1.swarm.addresses[0]] })
    await target.waitFor((e) => e.type === 'peer.connected', 5000)
  }, 30_000)

  afterAll(async () => {
    stopped = true
    await Promise.all(sybils.map((s) => s.close()))
    for (const s of held) s.destroy()
    await within(Promise.all(honest.map((d) => d.swarm.close())), 10_000, 'closing the swarms')
    await new Promise<void>((resolve) => blackHole.close(() => resolve()))
  })

  it(`${SYBILS} Sybils from one address answering with fake closer peers: the honest target is found, and again at once after they leave`, async () => {
    const targetId = target.swarm.peerId
    const targetKey = peerKey(targetId)!
    const ids = sybilIdentities(targetKey, SYBILS)
    expect(ids.length).toBe(SYBILS)
    sybils = await Promise.all(ids.map((id) => sybil(id, targetKey, () => stopped)))
    const since = performance.now()
    for (const [i, s] of sybils.entries()) searcher.swarm.dial(s.address(ids[i]))
    for (const id of ids) await searcher.waitFor((e) => e.type === 'peer.connected' && (e as { peer: string }).peer === id.peerId, 5000, since, 'a Sybil')
    await sleep(300) // their hellos are taken
    expect(searcher.swarm.isConnected(targetId)).toBe(false)

    const t0 = performance.now()
    const found = await within(searcher.swarm.findPeer(targetId), 15_000, 'findPeer among the Sybils')
    const during = performance.now() - t0
    expect(found.addresses).toEqual(target.swarm.addresses)

    stopped = true
    await Promise.all(sybils.map((s) => s.close()))
    // the verified lookup left a connection to the target: close it, so the next one is a lookup too
    const hungUp = performance.now()
    if (searcher.swarm.isConnected(targetId)) {
      searcher.swarm.hangUp(targetId)
      await searcher.waitFor((e) => e.type === 'peer.disconnected' && (e as { peer: string }).peer === targetId, 5000, hungUp, 'the target hung up')
    }
    await sleep(200)
    const t1 = performance.now()
    const again = await within(searcher.swarm.findPeer(targetId), 15_000, 'findPeer after the Sybils left')
    const after = performance.now() - t1
    expect(again.addresses).toEqual(target.swarm.addresses)
    expect(again.rounds).toBeGreaterThan(0) // a lookup, not an answer from a connection

    // What the Sybils told the searcher does not stay in its peer store: a fake peer it dialed
    // is forgotten when the dial fails, one it never dialed after heardPeerTtl (5 s here), and the
    // target keeps no black-hole address once that dial has failed (the black hole holds a dial
    // until the WebSocket handshake timeout, 10 s).
    const fakeTarget = `${BLACK_HOLE_HOST}:${(blackHole.address() as { port: number }).port}/p2p/${targetId}`
    await searcher.waitFor((e) => e.type === 'dial.failed' && (e as { address: string }).address.endsWith(fakeTarget), 15_000, since, 'the black-hole dial of the target to fail')
    const asked = performance.now()
    searcher.swarm.command(DISCOVERY_ID, { type: 'discovery.export' })
    const { peers } = await searcher.waitFor((e) => e.type === 'discovery.exported', 5000, asked, 'the peer store') as unknown as { peers: ExportedPeer[] }
    const blackHoled = peers.filter((p) => p.addresses.some((a) => a.includes(`${BLACK_HOLE_HOST}:`)))
    expect(peers.find((p) => p.peer === targetId)?.addresses).toEqual(target.swarm.addresses)
    expect(blackHoled).toEqual([])
    console.log(`eclipse: found among ${SYBILS} Sybils in ${during.toFixed(0)} ms (${found.rounds} rounds), after they left in ${after.toFixed(0)} ms (${again.rounds} rounds)`)
  }, 60_000)
})

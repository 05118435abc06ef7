/**
 * Lookup eclipse (issue 14, item 5): Sybil identities, with ids sharing the target's first 8
 * bits, are connected to the searching node and answer every FIND_NODE with fake peers even
 * closer to the target, and with the target's real id, all pointing at black holes (sockets that
 * accept and never answer). The honest target is found while they run, at its real address (a
 * host's Sybils get `maxPeersPerIp` places in a k-bucket and in a lookup; a contact that fails or
 * does not answer by `contactTimeout` is replaced at once; every round asks a peer that answered
 * before; the target counts as found only when it answers itself), and again at once after they
 * leave; and what they told the searcher does not stay in its peer store.
 *
 * Two attacks, each with one lookup path (the default) and three disjoint paths:
 * - one host: 20 Sybils on 127.0.0.2, fakes at one black hole (127.0.0.3): defended;
 * - eight networks: 24 Sybils on 127.0.0.2 … 127.0.0.9, fakes at black holes on eight more
 *   addresses, with the searcher's per-network bound lifted (`maxPeersPerSubnet`) so that each
 *   address stands for a network of its own: what the diversity bounds cannot stop. Not
 *   defended with one path (`it.fails`, SECURITY.md known weakness 1); three paths are run
 *   with ECLIPSE_ALL=1 (every case then expects success).
 * The searcher does not listen (so no honest peer connects to it and puts the target in its
 * routing table: it must find it by a lookup), and dials the Sybils, as a node would dial peers
 * it heard of. Each case prints its figures (`eclipse: ...`).
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

/**
 * Per number of paths, what the suite expects: `defended` (it), `weakness` (a known weakness in
 * SECURITY.md, kept as `it.fails` so that a fix shows) or `measured` (run only with
 * ECLIPSE_ALL=1: the outcome varies from run to run, SECURITY.md gives the tally).
 */
type Outcome = 'defended' | 'weakness' | 'measured'
interface Attack { name: string; sybilHosts: string[]; perHost: number; blackHoleHosts: string[]; outcome: Record<1 | 3, Outcome> }
const hosts = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => `127.0.0.${from + i}`)
const ATTACKS: Attack[] = [
  { name: '20 Sybils from one address', sybilHosts: hosts(2, 1), perHost: 20, blackHoleHosts: hosts(3, 1), outcome: { 1: 'defended', 3: 'defended' } },
  // Sybils that fill the searcher's routing table near the target: every seed is theirs, and a
  // single-path lookup stops after the first round that brings nothing closer (Kademlia's early
  // stop) before it asks the honest peers further out: not-found in 2 rounds. Three disjoint
  // paths run until each path's k closest answered and found the target in 3 of 4 runs.
  // Known weakness 1 in SECURITY.md.
  { name: '24 Sybils from eight networks', sybilHosts: hosts(2, 8), perHost: 3, blackHoleHosts: hosts(10, 8), outcome: { 1: 'weakness', 3: 'measured' } },
]

/** `count` identities whose key shares its first byte with `target`. */
function sybilIdentities(target: Uint8Array, count: number): RawIdentity[] {
  const out: RawIdentity[] = []
  for (let tries = 0; out.length < count && tries < 400_000; tries++) {
    const id = rawIdentity()
    if (peerKey(id.peerId)![0] === target[0]) out.push(id)
  }
  return out
}

/** 20 fake peers closer to `target` than any real one (the first: the target's real id), spread over the black holes. */
function fakePeers(target: Uint8Array, blackHoles: string[]): Array<{ id: string; addrs: string[] }> {
  return Array.from({ length: 20 }, (_, i) => {
    const key = Uint8Array.from(target)
    key[31] ^= i
    const id = keyToPeerId(key)
    return { id, addrs: [`ws://${blackHoles[i % blackHoles.length]}/p2p/${id}`] }
  })
}

/** A Sybil on `host`: answers the searcher's dial, says hello, answers every find with `fakes`. */
function sybil(identity: RawIdentity, host: string, fakes: unknown[], stop: () => boolean): Promise<RawListener> {
  return RawListener.start(async (peer) => {
    await peer.respond({ identity })
    peer.sendFrame(DISCOVERY_ID, { t: 'hello', addrs: [`ws://${host}:9/p2p/${identity.peerId}`], peers: [] })
    while (!stop() && peer.isOpen) {
      const frame = await peer.nextFrame(60_000).catch(() => null)
      if (frame === null) break
      const body = frame.body as { t?: string; id?: number }
      if (frame.protocol === DISCOVERY_ID && body.t === 'find') peer.sendFrame(DISCOVERY_ID, { t: 'found', id: body.id, peers: fakes })
    }
  }, host)
}

for (const attack of ATTACKS) {
  for (const paths of [1, 3] as const) {
    describe(`a lookup among ${attack.name}, disjointPaths ${paths}`, () => {
      const honest: Driven[] = []
      const blackHoles: Server[] = []
      const held: Socket[] = []
      let searcher: Driven
      let target: Driven
      let sybils: RawListener[] = []
      let stopped = false

      async function node(options: Partial<SwarmOptions>): Promise<Driven> {
        const d = new Driven(await createSwarm({ listen: ['ws://127.0.0.1:0'], pubsub: false, ...options }))
        honest.push(d)
        return d
      }

      beforeAll(async () => {
        for (const host of attack.blackHoleHosts) {
          const server = createServer((socket) => { held.push(socket); socket.on('error', () => {}) })
          await new Promise<void>((resolve) => server.listen(0, host, resolve))
          blackHoles.push(server)
        }
        // An honest overlay of three, then the searcher (which joins through one of them), then the target.
        const h1 = await node({})
        const h2 = await node({ bootstrap: [h1.swarm.addresses[0]] })
        const h3 = await node({ bootstrap: [h1.swarm.addresses[0]] })
        await h2.waitFor((e) => e.type === 'peer.connected', 5000)
        await h3.waitFor((e) => e.type === 'peer.connected', 5000)
        searcher = await node({
          listen: [],
          bootstrap: [h1.swarm.addresses[0]],
          discovery: {
            lowWatermark: 1, highWatermark: 64, queryTimeout: 3000, contactTimeout: 1000, disjointPaths: paths,
            diversityAllowlist: ['127.0.0.1'], maxPeersPerSubnet: 1000, tickInterval: 1000, heardPeerTtl: 5000,
          },
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
        await Promise.all(blackHoles.map((b) => new Promise<void>((resolve) => b.close(() => resolve()))))
      })

      const outcome = process.env.ECLIPSE_ALL ? 'defended' : attack.outcome[paths]
      const test = outcome === 'defended' ? it : outcome === 'weakness' ? it.fails : it.skip
      test('the honest target is found, and again at once after they leave; nothing they said stays in the peer store', async () => {
        const targetId = target.swarm.peerId
        const targetKey = peerKey(targetId)!
        const count = attack.sybilHosts.length * attack.perHost
        const ids = sybilIdentities(targetKey, count)
        expect(ids.length).toBe(count)
        const holes = blackHoles.map((b, i) => `${attack.blackHoleHosts[i]}:${(b.address() as { port: number }).port}`)
        const fakes = fakePeers(targetKey, holes)
        sybils = await Promise.all(ids.map((id, i) => sybil(id, attack.sybilHosts[i % attack.sybilHosts.length], fakes, () => stopped)))
        const since = performance.now()
        for (const [i, s] of sybils.entries()) searcher.swarm.dial(s.address(ids[i]))
        for (const id of ids) await searcher.waitFor((e) => e.type === 'peer.connected' && (e as { peer: string }).peer === id.peerId, 5000, since, 'a Sybil')
        await sleep(300) // their hellos are taken
        expect(searcher.swarm.isConnected(targetId)).toBe(false)

        const t0 = performance.now()
        const found = await within(searcher.swarm.findPeer(targetId), 15_000, 'findPeer among the Sybils').catch((error: Error) => {
          console.log(`eclipse: ${attack.name}, disjointPaths ${paths}: ${error.message} (${(performance.now() - t0).toFixed(0)} ms)`)
          throw error
        })
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

        console.log(`eclipse: ${attack.name}, disjointPaths ${paths}: found in ${during.toFixed(0)} ms (${found.rounds} rounds), after they left in ${after.toFixed(0)} ms (${again.rounds} rounds)`)

        // A fake peer the searcher dialed is forgotten when the dial fails, one it never dialed
        // after heardPeerTtl (5 s here); the target keeps no black-hole address once that dial
        // has failed. A black hole holds a dial until the WebSocket handshake timeout (10 s), so
        // the store is read every second until it is clean, for at most 40 s.
        let peers: ExportedPeer[] = []
        let blackHoled: ExportedPeer[] = []
        for (let i = 0; i < 40; i++) {
          const asked = performance.now()
          searcher.swarm.command(DISCOVERY_ID, { type: 'discovery.export' })
          peers = (await searcher.waitFor((e) => e.type === 'discovery.exported', 5000, asked, 'the peer store') as unknown as { peers: ExportedPeer[] }).peers
          blackHoled = peers.filter((p) => p.addresses.some((a) => holes.some((h) => a.includes(h))))
          if (blackHoled.length === 0) break
          await sleep(1000)
        }
        expect(peers.find((p) => p.peer === targetId)?.addresses).toEqual(target.swarm.addresses)
        expect(blackHoled).toEqual([])
      }, 120_000)
    })
  }
}

/**
 * Connections discovery opens only to query a peer for a lookup, at machine level: closed
 * (`lookup-done`) once the lookup is done with them and `lookupLinger` has passed, so lookups do
 * not leave a node above its watermarks; reused by a follow-up query within the linger; kept as
 * ordinary connections when another use protects the peer or the node needs them for its low
 * watermark. Connections a peer opened to us, or that we opened to fill the watermark, are never
 * closed this way.
 */
import { describe, expect, test } from 'vitest'
import { createShortlist, takeNext } from '../../machines/discovery/lookup.js'
import { peerKey } from '../../machines/discovery/kbucket.js'
import { DiscoveryProbe, simPeerId } from '../../src/discovery/probe.js'

const [a, b, target] = ['a', 'b', 'target'].map((x) => simPeerId(`linger/${x}`))
const addr = (id: string): string => `memory://${id.slice(0, 6)}/p2p/${id}`
const LINGER = 500
const options = { lowWatermark: 0, highWatermark: 50, tickInterval: 60_000, refreshInterval: 0, queryTimeout: 5_000, lookupLinger: LINGER }

/**
 * A probe whose routing table holds `a` (connected inbound) and `b` (known, not connected), with
 * the join's self-lookup answered: a findPeer then dials `b` for its query.
 */
function probeWithRoutes(extra: object = {}): DiscoveryProbe {
  const probe = new DiscoveryProbe({ ...options, ...extra })
  probe.connect(a) // inbound: a peer's own connection to us
  probe.send({ type: 'message', peer: a, body: { t: 'hello', addrs: [addr(a)], peers: [] } } as never)
  probe.connect(b, 'outbound', addr(b)) // b enters the routing table…
  probe.send({ type: 'peer.disconnected', peer: b, reason: 'gone' }) // …and leaves
  answerFinds(probe)
  probe.clear()
  return probe
}

/** Answer every `find` sent so far with no peers. */
function answerFinds(probe: DiscoveryProbe): void {
  for (const f of probe.frames().filter((x) => x.body.t === 'find')) {
    probe.send({ type: 'message', peer: f.peer, body: { t: 'found', id: f.body.id, peers: [] } } as never)
  }
}

/** findPeer `target`: the lookup dials b; b connects; both answer. */
function lookupOverB(probe: DiscoveryProbe, queryId: number): void {
  probe.send({ type: 'discovery.findPeer', peer: target, queryId })
  if (!probe.context.connected.has(b)) {
    expect(probe.dials()).toContain(addr(b))
    probe.connect(b, 'outbound', addr(b))
  }
  answerFinds(probe)
  expect(probe.events('discovery.peer.notFound').map((e) => e.queryId)).toContain(queryId)
}

describe('connections opened for lookups', () => {
  test('are closed `lookup-done` once the lookup is done with them and the linger has passed; never a peer’s own connection', () => {
    const probe = probeWithRoutes()
    lookupOverB(probe, 1)
    probe.advance(LINGER / 2)
    expect(probe.hangUps()).toEqual([])
    probe.advance(2 * LINGER) // checked every linger: closed within two
    expect(probe.hangUps()).toEqual([{ peer: b, reason: 'lookup-done' }]) // a (inbound) stays
    probe.send({ type: 'peer.disconnected', peer: b, reason: 'lookup-done' })
    expect(probe.context.lookupConnections).toBe(0)
    probe.stop()
  })

  test('a follow-up query within the linger reuses the connection (no dial), and the linger starts again when its lookup ends', () => {
    const probe = probeWithRoutes()
    lookupOverB(probe, 1)
    probe.advance(LINGER / 2)
    probe.clear()
    lookupOverB(probe, 2)
    expect(probe.dials()).toEqual([])
    expect(probe.frames(b).filter((f) => f.body.t === 'find')).toHaveLength(1)
    probe.advance(LINGER / 2 + 10)
    expect(probe.hangUps()).toEqual([]) // idle since the second lookup, not the first
    probe.advance(2 * LINGER)
    expect(probe.hangUps()).toEqual([{ peer: b, reason: 'lookup-done' }])
    probe.stop()
  })

  test('one a protection tag covers, or that the node needs for its low watermark, becomes an ordinary connection', () => {
    const protectedProbe = probeWithRoutes()
    lookupOverB(protectedProbe, 1)
    protectedProbe.send({ type: 'discovery.protect', peer: b, tag: 'pubsub' }) // b joined a mesh meanwhile
    protectedProbe.advance(3 * LINGER)
    expect(protectedProbe.hangUps()).toEqual([])
    expect(protectedProbe.context.connected.get(b)!.transient).toBe(false)
    protectedProbe.stop()

    const needed = probeWithRoutes({ lowWatermark: 1, highWatermark: 4 })
    lookupOverB(needed, 1)
    needed.send({ type: 'peer.disconnected', peer: a, reason: 'gone' }) // b is all the node has left
    needed.advance(3 * LINGER)
    expect(needed.hangUps()).toEqual([])
    expect(needed.context.connected.get(b)!.transient).toBe(false)
    expect(needed.context.lookupConnections).toBe(0)
    needed.stop()
  })

  test('a connection dialed for a lookup that ended before it opened is closed after the linger too', () => {
    const probe = probeWithRoutes({ contactTimeout: 100 })
    probe.send({ type: 'discovery.findPeer', peer: target, queryId: 1 })
    expect(probe.dials()).toContain(addr(b))
    answerFinds(probe) // a answers; b's dial outlives its deadline and the lookup ends
    probe.advance(200)
    expect(probe.events('discovery.peer.notFound')).toHaveLength(1)
    probe.connect(b, 'outbound', addr(b))
    probe.advance(3 * LINGER)
    expect(probe.hangUps()).toEqual([{ peer: b, reason: 'lookup-done' }])
    probe.stop()
  })

  test('a refresh lookup asks connected candidates among its k next first; other lookups go by distance alone', () => {
    const peers = Array.from({ length: 6 }, (_, i) => simPeerId(`linger/c${i}`))
    const target = peerKey(simPeerId('linger/target'))!
    const contacts = peers.map((p, i) => ({ peer: p, key: peerKey(p)!, connected: i % 2 === 1 }))
    const list = createShortlist(target, 12, contacts)
    const byDistance = list.entries.map((e) => e.peer)
    expect(takeNext(list, 3).peers).toEqual(byDistance.slice(0, 3))
    const within4 = list.entries.slice(0, 4)
    const expected = [...within4.filter((e) => e.connected), ...within4.filter((e) => !e.connected)].slice(0, 3).map((e) => e.peer)
    expect(takeNext(list, 3, 4).peers.slice().sort()).toEqual(expected.slice().sort())
  })
})

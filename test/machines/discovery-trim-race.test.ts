/**
 * Lookups and the connection manager's trims, at machine level (the cause of `actors.lookup`
 * missing a living actor on some seeds of test/sim/actors-lookup.test.ts).
 *
 * Every node trims at its manager's tick. A lookup started at that instant found the peers it
 * needed (the k closest to the key, which held the records) being hung up by us, or had its
 * query cross the remote's own trim, and counted each as a failed query: with only k seeds the
 * lookup ran out of candidates and answered `[]`. A trim says nothing about the peer's health:
 * the query (or the provider record being announced) now waits for the connection to go, the
 * peer is dialed again, and the query goes out on the new connection. A disconnect for any
 * other reason still fails the query at once.
 */
import { describe, expect, test } from 'vitest'
import { actorNameKey } from '../../machines/actors/names.js'
import { DiscoveryProbe, simPeerId } from '../../src/discovery/probe.js'

const KEY = actorNameKey('counter')
const [a, b, provider] = [simPeerId('trim/a'), simPeerId('trim/b'), simPeerId('trim/provider')]
const addr = (id: string): string => `memory://${id.slice(0, 6)}/p2p/${id}`
const options = { lowWatermark: 0, highWatermark: 1, gracePeriod: 0, tickInterval: 1_000, refreshInterval: 0, queryTimeout: 5_000 }

/** A probe connected to `a` and `b` (outbound, so both are in its routing table), with the join's self-lookup answered. */
function connected(): DiscoveryProbe {
  const probe = new DiscoveryProbe(options)
  for (const p of [a, b]) probe.connect(p, 'outbound', addr(p))
  for (const p of [a, b]) {
    for (const f of probe.frames(p).filter((x) => x.body.t === 'find')) probe.send({ type: 'message', peer: p, body: { t: 'found', id: f.body.id, peers: [] } } as never)
  }
  probe.clear()
  return probe
}

const getp = (probe: DiscoveryProbe, peer: string) => probe.frames(peer).filter((f) => f.body.t === 'getp')
const answer = (probe: DiscoveryProbe, peer: string, providers: string[]) => {
  const id = getp(probe, peer).at(-1)!.body.id
  probe.send({ type: 'message', peer, body: { t: 'providers', id, providers: providers.map((p) => ({ id: p, addrs: [addr(p)] })), peers: [] } } as never)
}
const found = (probe: DiscoveryProbe) => probe.events('discovery.providers.found')

describe('a lookup meets a trim', () => {
  test('a query to a peer we are trimming waits for the hang-up, redials it and asks it then', () => {
    const probe = connected()
    probe.advance(1_000) // the tick: above the high watermark, both are hung up
    expect(probe.hangUps().map((h) => h.peer).sort()).toEqual([a, b].sort())
    probe.send({ type: 'discovery.findProviders', key: KEY, queryId: 'q' } as never)
    expect(getp(probe, a)).toEqual([]) // not sent on a connection being closed…
    expect(found(probe)).toEqual([]) // …and not counted as failed
    for (const p of [a, b]) probe.send({ type: 'peer.disconnected', peer: p, reason: 'trimmed' })
    expect(probe.dials().sort()).toEqual([addr(a), addr(b)].sort())
    for (const p of [a, b]) probe.connect(p, 'outbound', addr(p))
    answer(probe, a, [provider])
    answer(probe, b, [])
    expect(found(probe)).toEqual([expect.objectContaining({ queryId: 'q', providers: [{ peer: provider, addresses: [addr(provider)] }] })])
    probe.stop()
  })

  test('a query in flight when the remote trims us is sent again after a redial; any other disconnect fails it', () => {
    const probe = connected()
    probe.send({ type: 'discovery.findProviders', key: KEY, queryId: 'q' } as never)
    expect(getp(probe, a)).toHaveLength(1)
    probe.send({ type: 'peer.disconnected', peer: a, reason: 'trimmed' }) // the remote's trim crossed our query
    probe.send({ type: 'peer.disconnected', peer: b, reason: 'ping-timeout' }) // b is gone: failed, not redialed
    expect(probe.dials()).toEqual([addr(a)])
    probe.connect(a, 'outbound', addr(a))
    expect(getp(probe, a)).toHaveLength(2)
    answer(probe, a, [provider])
    expect(found(probe)).toEqual([expect.objectContaining({ queryId: 'q', providers: [{ peer: provider, addresses: [addr(provider)] }] })])
    probe.stop()
  })

  test('a provider record for a peer we are trimming is announced to it after a redial', () => {
    const probe = connected()
    probe.send({ type: 'discovery.provide', key: KEY } as never)
    const find = (p: string) => probe.frames(p).find((f) => f.body.t === 'find')!.body
    probe.send({ type: 'message', peer: a, body: { t: 'found', id: find(a).id, peers: [] } } as never)
    probe.advance(1_000) // the tick: a has answered and is hung up; b is still being asked
    expect(probe.hangUps()).toEqual([{ peer: a, reason: 'trimmed' }])
    probe.send({ type: 'message', peer: b, body: { t: 'found', id: find(b).id, peers: [] } } as never)
    const provides = () => probe.frames().filter((f) => f.body.t === 'provide').map((f) => f.peer)
    expect(provides()).toEqual([b]) // a is one of the k closest, but its connection is closing
    probe.send({ type: 'peer.disconnected', peer: a, reason: 'trimmed' })
    expect(probe.dials()).toEqual([addr(a)])
    probe.connect(a, 'outbound', addr(a))
    expect(provides()).toEqual([b, a])
    probe.stop()
  })
})

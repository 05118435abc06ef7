/**
 * Lookup hardening (issue 14, item 5) on the lookup statechart and the discovery machine alone:
 * found means verified (only the target's own answer ends a findPeer, and a fake address for
 * its real id costs one attempt: the next claimed address is tried), a deadline per contact
 * (a silent peer is replaced at once when it passes, long before the round's timeout), and
 * disjoint paths (a peer serves one path; what a hostile peer names stays in its path).
 * @module
 */
import { describe, expect, test } from 'vitest'
import { createActor, SimulatedClock } from 'xstate'
import { peerKey } from '../../machines/discovery/kbucket.js'
import { lookupMachine, type LookupInput, type LookupOutput } from '../../machines/discovery/lookup.machine.js'
import { DiscoveryProbe, simPeerId } from '../../src/discovery/probe.js'
import { lookupParent } from '../helpers/lookup-parent.js'

const ids = Array.from({ length: 12 }, (_, i) => simPeerId(`hardening/${i}`))
const keyOf = (id: string) => peerKey(id)!
const contact = (id: string, addresses = [`memory://h${id.slice(0, 4)}/p2p/${id}`]) => ({ peer: id, key: keyOf(id), addresses })
const TARGET = ids[11]
const REAL = `memory://real/p2p/${TARGET}`
const FAKE = `memory://blackhole/p2p/${TARGET}`

/** A lookup under a recording parent and a simulated clock. */
function start(input: Partial<LookupInput>) {
  const clock = new SimulatedClock()
  const { parent, queries } = lookupParent(clock)
  const lookup = createActor(lookupMachine, {
    parent,
    input: { lookupId: 'l', target: keyOf(TARGET), targetPeer: TARGET, seeds: [], alpha: 1, k: 3, maxRounds: 10, queryTimeout: 10_000, ...input },
  } as never).start()
  const asked = () => queries.flatMap((q) => q.peers)
  return { clock, queries, lookup, asked, output: () => lookup.getSnapshot().output as LookupOutput | undefined }
}

describe('found means verified', () => {
  test('a response naming the target at a fake address does not find it; each claimed address is tried; found when the target answers', () => {
    const { lookup, queries, output } = start({ seeds: [contact(ids[0])] })
    expect(queries[0].peers).toEqual([ids[0]])
    lookup.send({ type: 'lookup.response', peer: ids[0], contacts: [contact(TARGET, [FAKE, REAL])] })
    expect(lookup.getSnapshot().status).toBe('active') // named, not found
    expect(queries[1]).toMatchObject({ peers: [TARGET], dial: { [TARGET]: FAKE } })
    lookup.send({ type: 'lookup.failed', peer: TARGET }) // the fake address: a dial that failed
    expect(queries[2]).toMatchObject({ peers: [TARGET], dial: { [TARGET]: REAL } })
    lookup.send({ type: 'lookup.response', peer: TARGET, contacts: [] })
    expect(output()?.found).toEqual({ peer: TARGET, addresses: [REAL] })
  })

  test('with every claimed address failed, the lookup ends not found', () => {
    const { lookup, output } = start({ seeds: [contact(ids[0])] })
    lookup.send({ type: 'lookup.response', peer: ids[0], contacts: [contact(TARGET, [FAKE])] })
    lookup.send({ type: 'lookup.failed', peer: TARGET })
    expect(output()?.found).toBeUndefined()
    expect(lookup.getSnapshot().value).toBe('done')
  })
})

describe('a deadline per contact', () => {
  test('a silent contact is replaced when contactTimeout passes, long before the round ends', () => {
    const { lookup, clock, asked } = start({ seeds: [contact(ids[0]), contact(ids[1])], targetPeer: undefined, contactTimeout: 500, queryTimeout: 10_000 })
    expect(asked()).toHaveLength(1)
    clock.increment(499)
    expect(asked()).toHaveLength(1)
    clock.increment(1)
    expect(asked()).toHaveLength(2) // the next candidate, at once
    lookup.send({ type: 'lookup.response', peer: asked()[0], contacts: [] }) // late: its deadline passed
    lookup.send({ type: 'lookup.response', peer: asked()[1], contacts: [] })
    expect(lookup.getSnapshot().value).toBe('done')
    expect((lookup.getSnapshot().output as LookupOutput).closest).toEqual([asked()[1]])
  })
})

describe('disjoint paths', () => {
  test('seeds are dealt to the paths; contacts join the path of the peer that named them; a peer serves one path', () => {
    const seeds = [contact(ids[0]), contact(ids[1])]
    const { lookup, queries } = start({ seeds, targetPeer: undefined, alpha: 2, paths: 2, k: 2 })
    expect(queries[0].peers.sort()).toEqual([ids[0], ids[1]].sort())
    const entries = () => lookup.getSnapshot().context.list.entries
    const pathOf = (peer: string) => entries().find((e) => e.peer === peer)?.path
    const [first, second] = queries[0].peers
    // the first names three "closer" peers; the second names one of them and one of its own
    lookup.send({ type: 'lookup.response', peer: first, contacts: [contact(ids[2]), contact(ids[3]), contact(ids[4])] })
    lookup.send({ type: 'lookup.response', peer: second, contacts: [contact(ids[2]), contact(ids[5])] })
    expect(pathOf(ids[2])).toBe(pathOf(first))
    expect(pathOf(ids[5])).toBe(pathOf(second))
    // each path keeps its own k·3 closest: what `first` names cannot push out `second`'s
    expect(entries().filter((e) => e.path === pathOf(second)).map((e) => e.peer)).toContain(ids[5])
    const round2 = queries[1].peers
    expect(round2.map(pathOf).sort()).toEqual([0, 1]) // one query per path
  })
})

describe('the discovery machine', () => {
  test('findPeer: a fake address for the target is dialed and fails; the real one is dialed next; found at the real address', () => {
    const addr = (id: string) => `memory://h${id.slice(0, 6)}/p2p/${id}`
    const probe = new DiscoveryProbe({ lowWatermark: 0, refreshInterval: 0, queryTimeout: 10_000, contactTimeout: 1_000 })
    probe.connect(ids[0], 'outbound', addr(ids[0]))
    const join = probe.frames(ids[0]).find((f) => f.body.t === 'find')!.body
    probe.send({ type: 'message', peer: ids[0], body: { t: 'found', id: join.id, peers: [] } } as never) // the join lookup is over
    probe.send({ type: 'discovery.findPeer', peer: TARGET, queryId: 'q' })
    const find = probe.frames(ids[0]).filter((f) => f.body.t === 'find').at(-1)!.body
    probe.send({ type: 'message', peer: ids[0], body: { t: 'found', id: find.id, peers: [{ id: TARGET, addrs: [FAKE, REAL] }] } } as never)
    expect(probe.events('discovery.peer.found')).toEqual([])
    expect(probe.dials()).toContain(FAKE)
    probe.send({ type: 'dial.failed', address: FAKE, peer: TARGET, reason: 'handshake-timeout' } as never)
    expect(probe.dials()).toContain(REAL)
    probe.connect(TARGET, 'outbound', REAL)
    const ask = probe.frames(TARGET).find((f) => f.body.t === 'find')!.body
    probe.send({ type: 'message', peer: TARGET, body: { t: 'found', id: ask.id, peers: [] } } as never)
    expect(probe.events('discovery.peer.found')).toEqual([expect.objectContaining({ queryId: 'q', peer: TARGET, addresses: [REAL] })])
    probe.stop()
  })
})

describe('addresses heard from others', () => {
  const S = ids[0]
  const H = ids[1]
  const G = ids[2]
  const F = ids[3]
  const at = (host: string, id: string) => `memory://${host}/p2p/${id}`
  const hello = (probe: DiscoveryProbe, from: string, peers: Array<{ id: string; addrs: string[] }>) =>
    probe.send({ type: 'message', peer: from, body: { t: 'hello', addrs: [], peers } } as never)

  test('a fake peer a Sybil named is forgotten at its first failed dial, and passed on no more', () => {
    const probe = new DiscoveryProbe({ lowWatermark: 0, refreshInterval: 0 })
    probe.connect(S, 'outbound', at('sybil', S))
    const join = probe.frames(S).find((f) => f.body.t === 'find')!.body
    probe.send({ type: 'message', peer: S, body: { t: 'found', id: join.id, peers: [{ id: F, addrs: [at('blackhole', F)] }] } } as never)
    expect(probe.dials()).toContain(at('blackhole', F)) // the join lookup asks it
    probe.send({ type: 'dial.failed', address: at('blackhole', F), peer: F, reason: 'timeout' } as never)
    expect(probe.context.store.records.has(F)).toBe(false)
    probe.connect(ids[4])
    expect(probe.frames(ids[4]).find((f) => f.body.t === 'hello')!.body.peers.map((p: { id: string }) => p.id)).not.toContain(F)
    probe.stop()
  })

  test('an honest peer named at a black hole loses only that address: no backoff, it keeps its routing table place', () => {
    const probe = new DiscoveryProbe({ lowWatermark: 0, refreshInterval: 0, contactTimeout: 1_000 })
    probe.connect(H, 'outbound', at('real', H)) // proves its address, admits it to the table
    probe.send({ type: 'peer.disconnected', peer: H, reason: 'x' })
    probe.connect(S, 'outbound', at('sybil', S))
    probe.send({ type: 'discovery.findPeer', peer: H, queryId: 'q' })
    const ask = probe.frames(S).filter((f) => f.body.t === 'find').at(-1)!.body
    probe.send({ type: 'message', peer: S, body: { t: 'found', id: ask.id, peers: [{ id: H, addrs: [at('blackhole', H)] }] } } as never)
    const record = () => probe.context.store.records.get(H)!
    expect(record().addresses).toEqual([at('real', H), at('blackhole', H)])
    probe.send({ type: 'discovery.export' })
    const exported = (probe.events('discovery.exported').at(-1)!.peers as Array<{ peer: string; addresses: string[] }>)
    expect(exported.find((p) => p.peer === H)!.addresses).toEqual([at('real', H)]) // only what it claimed goes out
    expect(probe.dials().at(-1)).toBe(at('real', H)) // H is a seed: asked at its own address
    probe.advance(1_100) // no answer by contactTimeout: the lookup tries the address S claimed
    expect(probe.dials().at(-1)).toBe(at('blackhole', H))
    probe.send({ type: 'dial.failed', address: at('blackhole', H), peer: H, reason: 'timeout' } as never)
    expect(record().addresses).toEqual([at('real', H)])
    expect(record().backoffUntil).toBe(0)
    expect(probe.context.table.byPeer.has(H)).toBe(true)
    probe.stop()
  })

  test('a peer known only by hearsay backs off for each failed address, and is forgotten with its last', () => {
    const probe = new DiscoveryProbe({ lowWatermark: 1, refreshInterval: 0, tickInterval: 1_000, dialBackoff: { base: 1_000, max: 1_000, jitter: 0 } })
    probe.connect(S)
    hello(probe, S, [{ id: G, addrs: [at('g1', G), at('g2', G)] }])
    probe.send({ type: 'peer.disconnected', peer: S, reason: 'x' }) // below the low watermark: G is dialed
    expect(probe.dials().at(-1)).toBe(at('g1', G))
    probe.send({ type: 'dial.failed', address: at('g1', G), peer: G, reason: 'timeout' } as never)
    expect(probe.context.store.records.get(G)!.addresses).toEqual([at('g2', G)])
    expect(probe.context.store.records.get(G)!.backoffUntil).toBeGreaterThan(probe.clock.now())
    probe.advance(3_000)
    expect(probe.dials().at(-1)).toBe(at('g2', G))
    probe.send({ type: 'dial.failed', address: at('g2', G), peer: G, reason: 'timeout' } as never)
    expect(probe.context.store.records.has(G)).toBe(false)
    probe.stop()
  })

  test('peers heard of only in lookup answers are forgotten after heardPeerTtl; peers from a hello, or proven, stay', () => {
    const probe = new DiscoveryProbe({ lowWatermark: 0, refreshInterval: 0, tickInterval: 1_000, heardPeerTtl: 5_000, maxDials: 1 })
    probe.connect(S, 'outbound', at('sybil', S))
    hello(probe, S, [{ id: G, addrs: [at('g', G)] }])
    const join = probe.frames(S).find((f) => f.body.t === 'find')!.body
    const fakes = ids.slice(3, 11)
    probe.send({ type: 'message', peer: S, body: { t: 'found', id: join.id, peers: fakes.map((id) => ({ id, addrs: [at('blackhole', id)] })) } } as never)
    const held = () => fakes.filter((id) => probe.context.store.records.has(id))
    expect(held()).toEqual(fakes)
    probe.advance(4_000)
    expect(held()).toEqual(fakes)
    probe.advance(2_000)
    const dialing = [...probe.context.dialing.keys()]
    expect(held()).toEqual(fakes.filter((id) => dialing.includes(id))) // only a peer being dialed is kept
    expect(probe.context.store.records.has(G)).toBe(true)
    expect(probe.context.store.records.has(S)).toBe(true)
    probe.stop()
  })
})

/**
 * The discovery protocol machine alone (src/discovery/probe.ts plays the swarm): peer
 * exchange, FIND_NODE answers and request correlation, findPeer, export/import, the store's
 * bound, static mode and closing; and the peer-store file (atomic, debounced).
 */
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { peerKey } from '../../machines/discovery/kbucket.js'
import { resolveOptions } from '../../machines/discovery/options.js'
import { createPeerStore, evictOverflow, rememberPeer } from '../../machines/discovery/peer-store.js'
import { createPeerStoreWriter, loadPeerStore, savePeerStore } from '../../src/discovery/peer-store-file.js'
import { DiscoveryProbe, simPeerId } from '../../src/discovery/probe.js'

const ids = Array.from({ length: 40 }, (_, i) => simPeerId(`proto/${i}`))
const addr = (id: string): string => `memory://h${id.slice(0, 6)}/p2p/${id}`

describe('peer exchange', () => {
  test('each new connection gets one hello with our addresses and a sample of known peers', () => {
    const probe = new DiscoveryProbe({ knownPeers: ids.slice(1, 30).map((p) => ({ peer: p, addresses: [addr(p)] })), exchangeSize: 8, lowWatermark: 0, refreshInterval: 0 })
    probe.connect(ids[0])
    const [hello] = probe.frames(ids[0])
    expect(hello.body.t).toBe('hello')
    expect(hello.body.addrs).toEqual([probe.address])
    expect(hello.body.peers).toHaveLength(8)
    expect(hello.body.peers.every((p: { id: string }) => p.id !== ids[0])).toBe(true)
    probe.stop()
  })

  test('received addresses are validated; peer.discovered once per new peer', () => {
    const probe = new DiscoveryProbe({ lowWatermark: 0, refreshInterval: 0 })
    probe.connect(ids[0])
    const hello = {
      t: 'hello',
      addrs: [addr(ids[0]), addr(ids[1]), 'ws://host:1', 'http://x/p2p/' + ids[0]], // only the first names the sender
      peers: [
        { id: ids[2], addrs: [addr(ids[2]), addr(ids[3])] }, // the second names someone else
        { id: ids[4], addrs: ['memory://nowhere'] }, // no /p2p: dropped
        { id: probe.peerId, addrs: [addr(probe.peerId)] }, // ourselves: dropped
      ],
    }
    probe.send({ type: 'message', peer: ids[0], body: hello } as never)
    probe.send({ type: 'message', peer: ids[0], body: { ...hello, peers: [{ id: ids[5], addrs: [addr(ids[5])] }] } } as never) // second hello ignored
    const found = probe.events('peer.discovered')
    expect(found.map((e) => [e.peer, e.addresses])).toEqual([[ids[0], [addr(ids[0])]], [ids[2], [addr(ids[2])]]])
    probe.connect(ids[6]) // a hello on another connection naming ids[2] again: not announced twice
    probe.send({ type: 'message', peer: ids[6], body: { t: 'hello', addrs: [], peers: [{ id: ids[2], addrs: [addr(ids[2])] }] } } as never)
    expect(probe.events('peer.discovered')).toHaveLength(2)
    probe.stop()
  })
})

describe('FIND_NODE', () => {
  test('answers with at most k closest table peers, never the asker, with the request id', () => {
    const probe = new DiscoveryProbe({ k: 5, lowWatermark: 0, highWatermark: 100, refreshInterval: 0 })
    for (const p of ids.slice(0, 20)) probe.connect(p, 'outbound', addr(p))
    probe.send({ type: 'message', peer: ids[0], body: { t: 'find', id: 77, target: peerKey(ids[0])! } } as never)
    const answer = probe.frames(ids[0]).at(-1)!.body
    expect(answer.t).toBe('found')
    expect(answer.id).toBe(77)
    expect(answer.peers).toHaveLength(5)
    expect(answer.peers.some((p: { id: string }) => p.id === ids[0])).toBe(false)
    for (const p of answer.peers) expect(p.addrs).toEqual([addr(p.id)])
    probe.stop()
  })

  test('findPeer: immediate when connected, invalid ids refused, a lookup otherwise; found answers correlate', () => {
    const probe = new DiscoveryProbe({ lowWatermark: 0, refreshInterval: 0, queryTimeout: 1_000 })
    probe.connect(ids[0], 'outbound', addr(ids[0]))
    probe.send({ type: 'discovery.findPeer', peer: ids[0], queryId: 'a' })
    probe.send({ type: 'discovery.findPeer', peer: 'not-a-peer-id', queryId: 'b' })
    expect(probe.events('discovery.peer.found')[0]).toMatchObject({ queryId: 'a', peer: ids[0], addresses: [addr(ids[0])], rounds: 0 })
    expect(probe.events('discovery.peer.notFound')[0]).toMatchObject({ queryId: 'b', reason: 'invalid-peer' })
    probe.clear()
    probe.send({ type: 'discovery.findPeer', peer: ids[9], queryId: 'c' })
    const find = probe.frames(ids[0]).find((f) => f.body.t === 'find')!.body
    // a forged answer (unknown id) and one from the wrong peer are dropped
    probe.connect(ids[1])
    probe.send({ type: 'message', peer: ids[0], body: { t: 'found', id: find.id + 1, peers: [{ id: ids[9], addrs: [addr(ids[9])] }] } } as never)
    probe.send({ type: 'message', peer: ids[1], body: { t: 'found', id: find.id, peers: [{ id: ids[9], addrs: [addr(ids[9])] }] } } as never)
    probe.advance(10)
    expect(probe.events('discovery.peer.found')).toEqual([])
    probe.send({ type: 'message', peer: ids[0], body: { t: 'found', id: find.id, peers: [{ id: ids[9], addrs: [addr(ids[9])] }] } } as never)
    probe.advance(10)
    expect(probe.events('discovery.peer.found')).toEqual([]) // named is not found: ids[9] itself must answer
    expect(probe.dials()).toContain(addr(ids[9]))
    probe.connect(ids[9], 'outbound', addr(ids[9]))
    const ask = probe.frames(ids[9]).find((f) => f.body.t === 'find' && f.body.id > find.id)!.body
    probe.send({ type: 'message', peer: ids[9], body: { t: 'found', id: ask.id, peers: [] } } as never)
    expect(probe.events('discovery.peer.found')).toEqual([{ type: 'discovery.peer.found', queryId: 'c', peer: ids[9], addresses: [addr(ids[9])], rounds: 2 }])
    const running = [...probe.context.lookups.entries()]
    expect(running.map(([, l]) => l.kind)).toEqual(['self']) // the join lookup is still waiting
    expect(Object.keys(probe.actor.getSnapshot().children)).toEqual(running.map(([id]) => id)) // finished ones are removed
    probe.stop()
  })

  test('a lookup whose peers never answer ends after its rounds time out: notFound', () => {
    const probe = new DiscoveryProbe({ lowWatermark: 0, refreshInterval: 0, queryTimeout: 1_000 })
    probe.connect(ids[0], 'outbound', addr(ids[0]))
    probe.send({ type: 'discovery.findPeer', peer: ids[9], queryId: 1 })
    probe.advance(1_100)
    expect(probe.events('discovery.peer.notFound')).toMatchObject([{ queryId: 1, peer: ids[9], reason: 'not-found', rounds: 1 }])
    expect(probe.context.pending.size).toBe(0)
    probe.stop()
  })
})

describe('peer store', () => {
  test('export/import round trip (ages, failures), and the export on swarm.closing', () => {
    const known = ids.slice(0, 3).map((p, i) => ({ peer: p, addresses: [addr(p)], age: 1_000 * i, failures: i }))
    const probe = new DiscoveryProbe({ knownPeers: [...known, { peer: 'junk', addresses: ['x'] }], lowWatermark: 0, refreshInterval: 0 })
    probe.advance(500)
    probe.send({ type: 'discovery.export' })
    const [exported] = probe.events('discovery.exported')
    const byPeer = new Map((exported.peers as typeof known).map((p) => [p.peer, p]))
    expect(byPeer.size).toBe(3)
    expect(byPeer.get(ids[2])).toEqual({ peer: ids[2], addresses: [addr(ids[2])], age: 2_500, failures: 2 })
    probe.send({ type: 'swarm.closing' })
    expect(probe.events('discovery.exported')).toHaveLength(2)
    expect(probe.actor.getSnapshot().value).toBe('closed')
    probe.send({ type: 'discovery.findPeer', peer: ids[5], queryId: 'late' })
    expect(probe.events('discovery.peer.notFound').at(-1)).toMatchObject({ queryId: 'late', reason: 'closed' })
    probe.stop()
  })

  test('the store stays within maxPeers, never evicting peers in use', () => {
    const store = createPeerStore(20, 4)
    for (let i = 0; i < 35; i++) {
      rememberPeer(store, ids[i], peerKey(ids[i])!, [addr(ids[i])], false)
      evictOverflow(store, (r) => r.peer === ids[0])
      expect(store.records.size).toBeLessThanOrEqual(20)
    }
    expect(store.records.has(ids[0])).toBe(true)
    expect(new Set(store.ids).size).toBe(store.records.size)
  })

  test('options are checked at the boundary', () => {
    expect(() => resolveOptions({ lowWatermark: 10, highWatermark: 5 })).toThrow(RangeError)
    expect(() => resolveOptions({ bootstrap: ['not an address'] })).toThrow(RangeError)
    expect(() => resolveOptions({ k: 1.5 })).toThrow(TypeError)
    expect(resolveOptions().highWatermark).toBe(16)
  })
})

describe('refresh region', () => {
  test('routes but no connection: waits (no eventless loop), rejoins with a self-lookup on reconnect', () => {
    const probe = new DiscoveryProbe({ lowWatermark: 0, refreshInterval: 1_000, queryTimeout: 100 })
    probe.connect(ids[0], 'outbound', addr(ids[0])) // a route; joining starts a self-lookup
    probe.advance(200)
    probe.send({ type: 'peer.disconnected', peer: ids[0], reason: 'gone' }) // routes remain, connections do not
    expect(probe.context.table.byPeer.size).toBe(1)
    expect(probe.actor.getSnapshot().value).toMatchObject({ active: { refresh: 'waitingForRoutes' } })
    probe.advance(5_000, 100)
    expect(probe.actor.getSnapshot().status).toBe('active')
    const finds = (): number => probe.frames().filter((f) => f.body.t === 'find').length
    const before = finds()
    probe.connect(ids[1], 'outbound', addr(ids[1]))
    expect(probe.actor.getSnapshot().value).toMatchObject({ active: { refresh: 'walking' } })
    expect(finds()).toBe(before + 1) // the self-lookup's first query
    probe.stop()
  })
})

describe('static mode', () => {
  test('enabled: false sends nothing, dials nothing and answers findPeer with disabled', () => {
    const probe = new DiscoveryProbe({ enabled: false, bootstrap: [addr(ids[1])], knownPeers: [{ peer: ids[2], addresses: [addr(ids[2])] }] })
    probe.connect(ids[0])
    probe.send({ type: 'message', peer: ids[0], body: { t: 'find', id: 1, target: new Uint8Array(32) } } as never)
    probe.advance(120_000, 1_000)
    probe.send({ type: 'discovery.findPeer', peer: ids[3], queryId: 9 })
    expect(probe.frames()).toEqual([])
    expect(probe.requests).toEqual([])
    expect(probe.events('discovery.peer.notFound')).toMatchObject([{ queryId: 9, reason: 'disabled' }])
    probe.stop()
  })
})

describe('peer-store file', () => {
  const peers = ids.slice(0, 3).map((p) => ({ peer: p, addresses: [addr(p)] }))

  test('save is atomic (no temporary file left) and load reads it back; bad files give []', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xswarm-peers-'))
    const file = join(dir, 'sub', 'peers.json')
    await savePeerStore(file, peers)
    expect(await loadPeerStore(file)).toEqual(peers)
    expect(await readdir(join(dir, 'sub'))).toEqual(['peers.json'])
    await writeFile(join(dir, 'bad.json'), '{ not json')
    expect(await loadPeerStore(join(dir, 'bad.json'))).toEqual([])
    expect(await loadPeerStore(join(dir, 'missing.json'))).toEqual([])
  })

  test('the writer coalesces a burst of exports into one write of the latest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xswarm-peers-'))
    const file = join(dir, 'peers.json')
    const writer = createPeerStoreWriter(file, { debounceMs: 50 })
    writer.schedule(peers.slice(0, 1))
    writer.schedule(peers.slice(0, 2))
    writer.schedule(peers)
    await new Promise((r) => setTimeout(r, 120))
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(peers)
    writer.schedule([])
    await writer.close()
    expect(await loadPeerStore(file)).toEqual([])
  })
})

/**
 * Provider records alone: the provider store (add, refresh, expiry, every bound with its
 * refusal), the wire parser's new bodies, and the discovery machine under a probe playing the
 * swarm: ADD_PROVIDER stored under the authenticated sender (never a payload field), refusals
 * answered, GET_PROVIDERS answered with live records only, announcing a key to the k closest
 * peers after a lookup and republishing it, and findProviders' answers.
 * @module
 */
import { describe, expect, test } from 'vitest'
import { parseMessage } from '../../machines/discovery/messages.js'
import { addProvider, createProviderStore, expireProviders, keyHex, providersOf } from '../../machines/discovery/provider-store.js'
import { actorNameKey } from '../../machines/actors/names.js'
import { DiscoveryProbe, simPeerId } from '../../src/discovery/probe.js'

const ids = Array.from({ length: 12 }, (_, i) => simPeerId(`providers/${i}`))
const addr = (id: string): string => `memory://h${id.slice(0, 6)}/p2p/${id}`
const KEY = actorNameKey('counter')
const key = (n: number): Uint8Array => new Uint8Array(32).fill(n)

describe('provider store', () => {
  const limits = { maxPerKey: 2, maxPerPeer: 2, maxRecords: 3, ttl: 1_000 }

  test('add, refresh, expire after the TTL unless refreshed', () => {
    const store = createProviderStore(limits)
    expect(addProvider(store, KEY, ids[0], [addr(ids[0])], 0)).toBe('added')
    expect(addProvider(store, KEY, ids[0], [addr(ids[0])], 600)).toBe('refreshed')
    expect(providersOf(store, KEY, 1_500).map((r) => r.peer)).toEqual([ids[0]]) // refreshed at 600: lives to 1600
    expect(providersOf(store, KEY, 1_600)).toEqual([])
    expect(expireProviders(store, 1_600)).toBe(1)
    expect(store.size).toBe(0)
    expect(store.perPeer.size).toBe(0)
  })

  test('bounds: providers per key, records per peer, records in all; expired records make room', () => {
    const store = createProviderStore(limits)
    expect(addProvider(store, key(1), ids[0], [addr(ids[0])], 0)).toBe('added')
    expect(addProvider(store, key(1), ids[1], [addr(ids[1])], 0)).toBe('added')
    expect(addProvider(store, key(1), ids[2], [addr(ids[2])], 0)).toBe('key-full')
    expect(addProvider(store, key(1), ids[0], [addr(ids[0])], 10)).toBe('refreshed') // a refresh always fits
    expect(addProvider(store, key(2), ids[0], [addr(ids[0])], 0)).toBe('added')
    expect(addProvider(store, key(3), ids[0], [addr(ids[0])], 0)).toBe('peer-full')
    expect(addProvider(store, key(3), ids[3], [addr(ids[3])], 0)).toBe('store-full')
    expect(addProvider(store, key(3), ids[3], [addr(ids[3])], 1_005)).toBe('added') // ids[1]'s record expired at 1000
    expect(store.size).toBeLessThanOrEqual(limits.maxRecords)
    expect(keyHex(key(1))).toBe('01'.repeat(32))
  })
})

describe('wire', () => {
  test('provide, provided, getp and providers parse strictly', () => {
    expect(parseMessage({ t: 'provide', key: KEY, addrs: [addr(ids[0])] })).toMatchObject({ t: 'provide' })
    expect(parseMessage({ t: 'provide', key: KEY.slice(0, 31), addrs: [] })).toBeUndefined()
    expect(parseMessage({ t: 'provide', key: KEY, addrs: [], provider: ids[1] })).toBeUndefined() // no provider field to forge
    expect(parseMessage({ t: 'provided', key: KEY, code: 'key-full' })).toMatchObject({ code: 'key-full' })
    expect(parseMessage({ t: 'provided', key: KEY, code: 'whatever' })).toBeUndefined()
    expect(parseMessage({ t: 'getp', id: 1, key: KEY })).toMatchObject({ t: 'getp', id: 1 })
    expect(parseMessage({ t: 'getp', id: -1, key: KEY })).toBeUndefined()
    const many = Array.from({ length: 33 }, (_, i) => ({ id: simPeerId(`m${i}`), addrs: [] }))
    expect(parseMessage({ t: 'providers', id: 1, providers: many.slice(0, 32), peers: [] })).toMatchObject({ t: 'providers' })
    expect(parseMessage({ t: 'providers', id: 1, providers: many, peers: [] })).toBeUndefined()
  })
})

describe('the discovery machine', () => {
  const options = { lowWatermark: 0, refreshInterval: 0, providerTtl: 10_000, republishInterval: 4_000, maxProvidersPerKey: 2, queryTimeout: 1_000 }

  test('ADD_PROVIDER is stored under the sender; refusals are answered; GET_PROVIDERS returns live records only', () => {
    const probe = new DiscoveryProbe(options)
    for (const p of ids.slice(0, 4)) probe.connect(p, 'outbound', addr(p))
    // ids[0] announces with an address of someone else: that one is dropped, its own known address kept
    probe.send({ type: 'message', peer: ids[0], body: { t: 'provide', key: KEY, addrs: [addr(ids[5])] } } as never)
    probe.send({ type: 'message', peer: ids[1], body: { t: 'provide', key: KEY, addrs: [addr(ids[1])] } } as never)
    probe.send({ type: 'message', peer: ids[2], body: { t: 'provide', key: KEY, addrs: [addr(ids[2])] } } as never)
    expect(probe.frames(ids[2]).at(-1)!.body).toMatchObject({ t: 'provided', code: 'key-full' })
    probe.send({ type: 'message', peer: ids[3], body: { t: 'getp', id: 9, key: KEY } } as never)
    const answer = probe.frames(ids[3]).at(-1)!.body
    expect(answer).toMatchObject({ t: 'providers', id: 9 })
    expect(answer.providers).toEqual([{ id: ids[0], addrs: [addr(ids[0])] }, { id: ids[1], addrs: [addr(ids[1])] }])
    probe.advance(10_001)
    probe.send({ type: 'message', peer: ids[3], body: { t: 'getp', id: 10, key: KEY } } as never)
    expect(probe.frames(ids[3]).at(-1)!.body.providers).toEqual([])
    probe.stop()
  })

  test('provide: a lookup for the key, then ADD_PROVIDER to the k closest; republished; unprovide stops it', () => {
    const probe = new DiscoveryProbe({ ...options, k: 3 })
    for (const p of ids.slice(0, 5)) probe.connect(p, 'outbound', addr(p))
    probe.clear()
    probe.send({ type: 'discovery.provide', key: KEY } as never)
    const announce = () => {
      const finds = probe.frames().filter((f) => f.body.t === 'find' && keyHex(f.body.target) === keyHex(KEY))
      for (const f of finds) probe.send({ type: 'message', peer: f.peer, body: { t: 'found', id: f.body.id, peers: [] } } as never)
      return probe.frames().filter((f) => f.body.t === 'provide').map((f) => f.peer)
    }
    const first = announce()
    expect(first.length).toBe(3)
    expect(new Set(first).size).toBe(3)
    probe.clear()
    // republished within one republish interval (the first at a seeded point of it), its lookup answered at once
    let again: string[] = []
    for (let t = 0; t < 4_000 && again.length === 0; t += 10) { probe.advance(10); again = announce() }
    expect(again.length).toBe(3)
    // a refusal reaches the user
    probe.send({ type: 'message', peer: ids[0], body: { t: 'provided', key: KEY, code: 'peer-full' } } as never)
    expect(probe.events('discovery.provide.refused')).toEqual([expect.objectContaining({ key: keyHex(KEY), peer: ids[0], reason: 'peer-full' })])
    probe.send({ type: 'discovery.unprovide', key: KEY } as never)
    probe.clear()
    probe.advance(8_000)
    expect(probe.frames().filter((f) => f.body.t === 'find' || f.body.t === 'provide')).toEqual([])
    probe.stop()
  })

  test('findProviders: invalid keys refused; alone, answered at once; otherwise a GET_PROVIDERS lookup that gathers providers', () => {
    const probe = new DiscoveryProbe(options)
    probe.send({ type: 'discovery.findProviders', key: new Uint8Array(3), queryId: 'bad' } as never)
    probe.send({ type: 'discovery.findProviders', key: KEY, queryId: 'slow', timeout: 0 } as never)
    expect(probe.events('discovery.providers.failed').map((e) => [e.queryId, e.reason])).toEqual([['bad', 'invalid-key'], ['slow', 'invalid-key']])
    probe.send({ type: 'discovery.provide', key: KEY } as never)
    probe.send({ type: 'discovery.findProviders', key: KEY, queryId: 'alone' } as never)
    expect(probe.events('discovery.providers.found')[0]).toMatchObject({ queryId: 'alone', rounds: 0, providers: [{ peer: probe.peerId }] })
    probe.send({ type: 'discovery.unprovide', key: KEY } as never)
    probe.clear()
    probe.connect(ids[0], 'outbound', addr(ids[0]))
    probe.send({ type: 'discovery.findProviders', key: KEY, queryId: 'q' } as never)
    const getp = probe.frames(ids[0]).find((f) => f.body.t === 'getp')!.body
    probe.send({ type: 'message', peer: ids[0], body: { t: 'providers', id: getp.id, providers: [{ id: ids[7], addrs: [addr(ids[7])] }, { id: ids[8], addrs: [addr(ids[9])] }], peers: [] } } as never)
    const found = probe.events('discovery.providers.found').find((e) => e.queryId === 'q')!
    expect(found).toMatchObject({ key: keyHex(KEY), timedOut: false, providers: [{ peer: ids[7], addresses: [addr(ids[7])] }] }) // ids[8]'s address names another peer
    probe.stop()
  })

  test('findProviders ends by its timeout, with what it found so far', () => {
    const probe = new DiscoveryProbe({ ...options, queryTimeout: 60_000 })
    probe.connect(ids[0], 'outbound', addr(ids[0]))
    probe.send({ type: 'discovery.findProviders', key: KEY, queryId: 't', timeout: 500 } as never)
    probe.advance(499)
    expect(probe.events('discovery.providers.found')).toEqual([])
    probe.advance(20)
    expect(probe.events('discovery.providers.found')).toEqual([expect.objectContaining({ queryId: 't', timedOut: true, providers: [] })])
    probe.stop()
  })
})

describe('hostile providers (issue 14)', () => {
  const ip = (id: string, host: string): string => `ws://${host}:4001/p2p/${id}`
  const getpTo = (probe: DiscoveryProbe, peer: string) => probe.frames(peer).filter((f) => f.body.t === 'getp').at(-1)!.body

  test('no peer announces another: a provide names no provider, and addresses naming someone else are dropped', () => {
    const probe = new DiscoveryProbe({ lowWatermark: 0, refreshInterval: 0 })
    probe.connect(ids[0], 'outbound', addr(ids[0]))
    probe.send({ type: 'message', peer: ids[0], body: { t: 'provide', key: KEY, addrs: [addr(ids[5])], provider: ids[5] } } as never) // not a field: the message is refused
    probe.send({ type: 'message', peer: ids[0], body: { t: 'provide', key: KEY, addrs: [addr(ids[5])] } } as never)
    expect([...probe.context.providerStore.byKey.get(keyHex(KEY))!.keys()]).toEqual([ids[0]])
    expect(probe.context.providerStore.byKey.get(keyHex(KEY))!.get(ids[0])!.addresses).toEqual([addr(ids[0])])
    probe.stop()
  })

  test('Sybils on one host get two of a key’s places (maxPeersPerIp), not all of them; other hosts still get in', () => {
    const probe = new DiscoveryProbe({ lowWatermark: 0, refreshInterval: 0, highWatermark: 64, diversityAllowlist: [] })
    const sybils = ids.slice(0, 5)
    for (const s of sybils) probe.connect(s, 'outbound', ip(s, '203.0.113.7'))
    for (const s of sybils) probe.send({ type: 'message', peer: s, body: { t: 'provide', key: KEY, addrs: [ip(s, '203.0.113.7')] } } as never)
    probe.connect(ids[6], 'outbound', ip(ids[6], '198.51.100.1'))
    probe.send({ type: 'message', peer: ids[6], body: { t: 'provide', key: KEY, addrs: [ip(ids[6], '198.51.100.1')] } } as never)
    expect([...probe.context.providerStore.byKey.get(keyHex(KEY))!.keys()]).toEqual([ids[0], ids[1], ids[6]])
    expect(probe.frames(ids[2]).at(-1)!.body).toMatchObject({ t: 'provided', code: 'key-full' })
    probe.stop()
  })

  test('findProviders: one answer full of fake providers does not crowd out what the other answers name', () => {
    const probe = new DiscoveryProbe({ lowWatermark: 0, refreshInterval: 0, maxProvidersPerKey: 4, diversityAllowlist: [] })
    const [sybil, honest] = [ids[0], ids[1]]
    probe.connect(sybil, 'outbound', ip(sybil, '203.0.113.7'))
    probe.connect(honest, 'outbound', ip(honest, '198.51.100.1'))
    probe.send({ type: 'discovery.findProviders', key: KEY, queryId: 'q' } as never)
    const fakes = ids.slice(4, 10).map((id, i) => ({ id, addrs: [ip(id, `192.0.2.${i + 1}`)] }))
    probe.send({ type: 'message', peer: sybil, body: { t: 'providers', id: getpTo(probe, sybil).id, providers: fakes, peers: [] } } as never)
    const real = { id: ids[2], addrs: [ip(ids[2], '198.51.100.9')] }
    probe.send({ type: 'message', peer: honest, body: { t: 'providers', id: getpTo(probe, honest).id, providers: [real], peers: [] } } as never)
    const found = probe.events('discovery.providers.found').find((e) => e.queryId === 'q')!
    const peers = (found.providers as Array<{ peer: string }>).map((p) => p.peer)
    expect(peers).toContain(ids[2])
    expect(peers).toHaveLength(4)
    // six fakes on one /24: at most maxPeersPerSubnet (4) of them, and here the honest one took a place
    expect(peers.filter((p) => p !== ids[2])).toEqual(ids.slice(4, 7))
    probe.stop()
  })
})

/**
 * Discovery at machine level: k-bucket properties, the backoff schedule, the parser's limits,
 * the lookup statechart against a fake Kademlia network (rounds O(log n)) and walked with
 * xstate/graph, and the connection manager's watermarks, trimming and protection.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { base32nopad } from '@scure/base'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { createActor, fromTransition, SimulatedClock } from 'xstate'
import { getShortestPaths } from 'xstate/graph'
import { backoffCeiling, backoffDelay } from '../../machines/discovery/backoff.js'
import {
  closest, commonPrefixLength, compareBytes, compareDistance, createTable, distance, keyToPeerId, peerKey, touch,
  type Key, type RoutingTable,
} from '../../machines/discovery/kbucket.js'
import { lookupMachine, type LookupOutput, type LookupQuery } from '../../machines/discovery/lookup.machine.js'
import { parseMessage } from '../../machines/discovery/messages.js'
import { createRng } from '../../machines/lib/rng.js'
import { DiscoveryProbe, simPeerId } from '../../src/discovery/probe.js'
import { lookupParent } from '../helpers/lookup-parent.js'

const key = (label: string): Key => sha256(new TextEncoder().encode(label))
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 })

describe('kbucket', () => {
  test('XOR distance is a metric on keys and compareDistance agrees with it', () => {
    fc.assert(fc.property(bytes32, bytes32, bytes32, (a, b, t) => {
      expect(distance(a, b)).toEqual(distance(b, a))
      expect(distance(a, a).every((x) => x === 0)).toBe(true)
      expect(Math.sign(compareDistance(a, b, t))).toBe(Math.sign(compareBytes(distance(a, t), distance(b, t))))
      expect(commonPrefixLength(a, b)).toBe(commonPrefixLength(b, a))
    }))
  })

  test('closest() equals a brute-force sort, and no bucket exceeds k', () => {
    fc.assert(fc.property(bytes32, fc.array(bytes32, { maxLength: 120 }), bytes32, fc.integer({ min: 1, max: 30 }), (self, keys, target, n) => {
      const table = createTable(self, 4)
      keys.forEach((k, i) => touch(table, `p${i}`, k, i))
      for (const b of table.buckets) expect((b ?? []).length).toBeLessThanOrEqual(4)
      const all = [...table.byPeer.values()].sort((x, y) => compareDistance(x.key, y.key, target))
      expect(closest(table, target, n).map((e) => e.peer)).toEqual(all.slice(0, n).map((e) => e.peer))
    }), { numRuns: 200 })
  })

  test('least-recently-seen eviction: a touched entry moves to the tail; canEvict decides', () => {
    const self = new Uint8Array(32)
    const far = (i: number): Key => { const k = new Uint8Array(32); k[0] = 0x80; k[31] = i; return k }
    const table = createTable(self, 3)
    for (const i of [1, 2, 3]) touch(table, `p${i}`, far(i), i)
    touch(table, 'p1', far(1), 10) // p1 seen again: p2 is now least recently seen
    expect(touch(table, 'p4', far(4), 11, () => false)).toEqual({ result: 'rejected' })
    expect(touch(table, 'p4', far(4), 12, (lrs) => lrs.peer === 'p2')).toEqual({ result: 'replaced', evicted: 'p2' })
    expect(table.buckets[0]!.map((e) => e.peer)).toEqual(['p3', 'p1', 'p4'])
    expect(touch(table, 'self', self, 13).result).toBe('self')
  })

  test('peer ids decode from base58btc and lowercase base32; anything else is rejected', () => {
    const k = key('a')
    expect(peerKey(keyToPeerId(k))).toEqual(k)
    const b32 = base32nopad.encode(k).toLowerCase() // 52 chars = 32 bytes
    expect(b32).toHaveLength(52)
    expect(peerKey(b32)).toEqual(k)
    expect(peerKey('0OIl' + keyToPeerId(k).slice(4))).toBeUndefined()
    expect(peerKey(keyToPeerId(k.subarray(0, 31)))).toBeUndefined()
    expect(peerKey('short')).toBeUndefined()
  })
})

describe('backoff', () => {
  test('exponential with jitter: each delay within ±jitter of min(max, base·2^n)', () => {
    const rng = createRng(42)
    const o = { base: 1_000, max: 60_000, jitter: 0.2 }
    expect([0, 1, 2, 5, 6, 7, 50].map((n) => backoffCeiling(n, o))).toEqual([1_000, 2_000, 4_000, 32_000, 60_000, 60_000, 60_000])
    for (let n = 0; n < 12; n++) {
      const ceiling = backoffCeiling(n, o)
      const samples = Array.from({ length: 500 }, () => backoffDelay(n, o, rng))
      for (const d of samples) {
        expect(d).toBeGreaterThanOrEqual(Math.floor(ceiling * 0.8))
        expect(d).toBeLessThanOrEqual(Math.ceil(ceiling * 1.2))
      }
      expect(new Set(samples).size).toBeGreaterThan(50) // jittered, not constant
    }
  })

  test('the bootstrap region redials on that schedule while not connected', () => {
    const boot = simPeerId('boot')
    const probe = new DiscoveryProbe({ bootstrap: [`memory://boot/p2p/${boot}`], bootstrapBackoff: { base: 1_000, max: 8_000, jitter: 0.2 } })
    const times: number[] = []
    let seen = 0
    while (probe.clock.now() < 40_000) {
      probe.advance(10)
      const dials = probe.dials().length
      if (dials > seen) { times.push(probe.clock.now()); seen = dials }
      if (dials > 0 && probe.requests.length > 0) probe.send({ type: 'dial.failed', address: probe.dials().at(-1)!, reason: 'unreachable' })
    }
    expect(probe.dials().length).toBeGreaterThan(3)
    const gaps = times.slice(1).map((t, i) => t - times[i])
    gaps.forEach((gap, n) => {
      const ceiling = Math.min(8_000, 1_000 * 2 ** n)
      expect(gap).toBeGreaterThanOrEqual(ceiling * 0.8 - 10)
      expect(gap).toBeLessThanOrEqual(ceiling * 1.2 + 20)
    })
    probe.connect(boot, 'outbound', `memory://boot/p2p/${boot}`)
    const before = probe.dials().length
    probe.advance(30_000, 100)
    expect(probe.dials().filter((a) => a.includes(boot)).length).toBe(before) // connected: no more bootstrap dials
    probe.stop()
  })
})

describe('parse limits (one test per bound)', () => {
  const id = simPeerId('x')
  const addr = `memory://x/p2p/${id}`
  const peers = (n: number) => Array.from({ length: n }, () => ({ id, addrs: [addr] }))
  test('accepts the three well-formed messages', () => {
    expect(parseMessage({ t: 'hello', addrs: [addr], peers: peers(2) })).toBeDefined()
    expect(parseMessage({ t: 'find', id: 7, target: new Uint8Array(32) })).toBeDefined()
    expect(parseMessage({ t: 'found', id: 7, peers: peers(20) })).toBeDefined()
  })
  test('at most 4 addresses per peer', () => expect(parseMessage({ t: 'hello', addrs: Array(5).fill(addr), peers: [] })).toBeUndefined())
  test('at most 32 peers in a hello', () => expect(parseMessage({ t: 'hello', addrs: [], peers: peers(33) })).toBeUndefined())
  test('at most 20 peers in a found', () => expect(parseMessage({ t: 'found', id: 1, peers: peers(21) })).toBeUndefined())
  test('at most 256 characters per address', () => expect(parseMessage({ t: 'hello', addrs: ['x'.repeat(257)], peers: [] })).toBeUndefined())
  test('peer ids of at most 64 characters', () => expect(parseMessage({ t: 'found', id: 1, peers: [{ id: 'x'.repeat(65), addrs: [] }] })).toBeUndefined())
  test('request ids are 32-bit unsigned integers', () => {
    for (const bad of [-1, 1.5, 2 ** 32, '1']) expect(parseMessage({ t: 'find', id: bad, target: new Uint8Array(32) })).toBeUndefined()
  })
  test('targets are 32 bytes', () => expect(parseMessage({ t: 'find', id: 1, target: new Uint8Array(31) })).toBeUndefined())
  test('unknown tags, unknown keys and non-plain objects are rejected', () => {
    expect(parseMessage({ t: 'ping' })).toBeUndefined()
    expect(parseMessage({ t: 'find', id: 1, target: new Uint8Array(32), extra: 1 })).toBeUndefined()
    expect(parseMessage([{ t: 'hello' }])).toBeUndefined()
    expect(parseMessage(new (class { t = 'hello'; addrs = []; peers = [] })())).toBeUndefined()
  })
})

/** An ideal Kademlia network: every node's table built from every other node (k = 20). */
function fakeNetwork(n: number) {
  const ids = Array.from({ length: n }, (_, i) => simPeerId(`fake/${i}`))
  const keys = ids.map((id) => peerKey(id)!)
  const tables = new Map<string, RoutingTable>()
  ids.forEach((id, i) => {
    const t = createTable(keys[i], 20)
    ids.forEach((other, j) => { if (j !== i) touch(t, other, keys[j], 0, () => false) })
    tables.set(id, t)
  })
  return { ids, keys, tables }
}

function runLookup(net: ReturnType<typeof fakeNetwork>, from: number, target: Key, targetPeer?: string, silent = new Set<string>()) {
  const clock = new SimulatedClock()
  const { parent, queries } = lookupParent(clock)
  const seeds = closest(net.tables.get(net.ids[from])!, target, 20).map((e) => ({ peer: e.peer, key: e.key }))
  const lookup = createActor(lookupMachine, {
    parent, input: { lookupId: 'l', target, targetPeer, seeds, alpha: 3, k: 20, maxRounds: 40, queryTimeout: 1_000 },
  } as never)
  lookup.start()
  while (lookup.getSnapshot().status === 'active') {
    const q = queries.shift()
    if (!q) { clock.increment(1_000); continue }
    for (const peer of q.peers) {
      if (silent.has(peer)) continue
      const contacts = closest(net.tables.get(peer)!, target, 20).map((e) => ({ peer: e.peer, key: e.key, addresses: [`memory://x/p2p/${e.peer}`] }))
      lookup.send({ type: 'lookup.response', peer, contacts })
    }
  }
  return lookup.getSnapshot().output as LookupOutput
}

describe('lookup machine on a fake network', () => {
  const n = 1_000
  const net = fakeNetwork(n)
  const bound = 2 * Math.log2(n)

  test('findPeer finds every target in O(log n) rounds', () => {
    for (let q = 0; q < 30; q++) {
      const from = (q * 131) % n, to = (q * 7919 + 17) % n
      const out = runLookup(net, from, net.keys[to], net.ids[to])
      expect(out.found?.peer).toBe(net.ids[to])
      expect(out.rounds).toBeLessThanOrEqual(bound)
    }
  })

  test('a key lookup converges on the true k closest peers', () => {
    for (let q = 0; q < 10; q++) {
      const target = key(`target/${q}`)
      const out = runLookup(net, q, target)
      const truth = net.ids.map((id, i) => ({ id, k: net.keys[i] })).sort((a, b) => compareDistance(a.k, b.k, target))
      expect(out.closest[0]).toBe(truth[0].id)
      expect(out.closest).toEqual(truth.slice(0, 20).map((t) => t.id))
      expect(out.rounds).toBeLessThanOrEqual(bound)
    }
  })

  test('silent peers time out (per-round `after`) and the lookup still succeeds', () => {
    const silent = new Set(net.ids.filter((_, i) => i % 3 === 0))
    const target = 5
    const out = runLookup(net, 1, net.keys[target], net.ids[target], silent)
    expect(out.found?.peer).toBe(net.ids[target])
    expect(out.rounds).toBeLessThanOrEqual(bound)
  })
})

describe('lookup machine graph', () => {
  test('xstate/graph reaches every state and takes every kind of transition', () => {
    const net = fakeNetwork(8)
    const target = net.keys[7]
    const seeds = [1, 2, 3, 4].map((i) => ({ peer: net.ids[i], key: net.keys[i] }))
    const paths = getShortestPaths(lookupMachine, {
      input: { lookupId: 'g', target, targetPeer: net.ids[7], seeds, alpha: 2, k: 3, maxRounds: 3, queryTimeout: 100 },
      events: (snapshot) => {
        const pending = snapshot.context.list.entries.filter((e) => e.state === 'pending')
        return [
          ...pending.flatMap((e) => [
            { type: 'lookup.response' as const, peer: e.peer, contacts: [] },
            { type: 'lookup.response' as const, peer: e.peer, contacts: [{ peer: net.ids[5], key: net.keys[5] }, { peer: net.ids[6], key: net.keys[6] }] },
            { type: 'lookup.response' as const, peer: e.peer, contacts: [{ peer: net.ids[7], key: net.keys[7], addresses: ['memory://t'] }] },
            { type: 'lookup.failed' as const, peer: e.peer },
          ]),
          { type: 'lookup.cancel' as const },
          { type: 'xstate.after.queryTimeout.lookup.waiting' } as never,
        ]
      },
      serializeState: (s) => JSON.stringify([s.value, s.context.rounds, s.context.list.entries.map((e) => `${e.peer.slice(0, 4)}:${e.state}`)]),
      serializeEvent: (e) => JSON.stringify([e.type, 'peer' in e ? e.peer.slice(0, 4) : '', 'contacts' in e ? e.contacts.length : -1]),
    })
    const values = new Set(paths.map((p) => p.state.value as string))
    expect(values).toEqual(new Set(['waiting', 'found', 'done', 'cancelled']))
    const transitions = new Set(paths.flatMap((p) => p.steps.map((s) => `${s.event.type}`)))
    for (const t of ['lookup.response', 'lookup.failed', 'lookup.cancel', 'xstate.after.queryTimeout.lookup.waiting']) expect(transitions).toContain(t)
    const rounds = paths.filter((p) => p.state.value === 'done').map((p) => p.state.context.rounds)
    expect(Math.max(...rounds)).toBeLessThanOrEqual(3) // maxRounds holds on every path
  })
})

describe('connection manager', () => {
  const peers = Array.from({ length: 10 }, (_, i) => simPeerId(`cm/${i}`))

  test('above the high watermark it trims to low, never protected, bootstrap or young peers', () => {
    const boot = peers[0]
    const probe = new DiscoveryProbe({
      bootstrap: [`memory://boot/p2p/${boot}`], lowWatermark: 3, highWatermark: 6, gracePeriod: 5_000, tickInterval: 1_000, refreshInterval: 0,
    })
    probe.connect(boot, 'outbound', `memory://boot/p2p/${boot}`)
    for (const p of peers.slice(1)) probe.connect(p)
    probe.send({ type: 'discovery.protect', peer: peers[1] })
    probe.send({ type: 'discovery.protect', peer: peers[2], tag: 'pubsub' })
    probe.advance(3_000)
    expect(probe.hangUps()).toEqual([]) // all younger than the grace period
    probe.advance(3_000)
    const hung = probe.hangUps()
    expect(hung).toHaveLength(10 - 3)
    expect(hung.every((h) => h.reason === 'trimmed')).toBe(true)
    expect(hung.map((h) => h.peer)).not.toContain(boot)
    expect(hung.map((h) => h.peer)).not.toContain(peers[1])
    expect(hung.map((h) => h.peer)).not.toContain(peers[2])
    probe.advance(3_000)
    expect(probe.hangUps()).toHaveLength(7) // hang-ups in flight are not repeated
    for (const h of hung) probe.send({ type: 'peer.disconnected', peer: h.peer, reason: 'trimmed' })
    expect(probe.context.connected.size).toBe(3)
    probe.stop()
  })

  test('a connection opened for a lookup query is trimmed first, without the grace period, once its query is done', () => {
    const probe = new DiscoveryProbe({ lowWatermark: 0, highWatermark: 1, gracePeriod: 60_000, tickInterval: 1_000, refreshInterval: 0, queryTimeout: 5_000 })
    const address = (p: string): string => `memory://${p.slice(0, 6)}/p2p/${p}`
    const [a, b] = [peers[1], peers[2]]
    probe.connect(a, 'outbound', address(a)) // a route to a
    probe.send({ type: 'peer.disconnected', peer: a, reason: 'gone' })
    probe.connect(b, 'outbound', address(b))
    probe.send({ type: 'discovery.findPeer', peer: peers[9], queryId: 1 })
    expect(probe.dials()).toContain(address(a)) // the lookup dials a to query it
    probe.connect(a, 'outbound', address(a))
    for (const f of probe.frames(a).filter((x) => x.body.t === 'find')) { // the join's self-lookup asks a too
      probe.send({ type: 'message', peer: a, body: { t: 'found', id: f.body.id, peers: [] } } as never)
    }
    probe.advance(1_100)
    expect(probe.hangUps()).toEqual([{ peer: a, reason: 'trimmed' }]) // b: within its grace period (and still queried)
    probe.stop()
  })

  test('unprotect releases only its own tag', () => {
    const probe = new DiscoveryProbe({ lowWatermark: 0, highWatermark: 1, gracePeriod: 0, tickInterval: 1_000, refreshInterval: 0 })
    const tick = (): string[] => { probe.advance(1_000); return probe.hangUps().map((h) => h.peer) }
    probe.connect(peers[1]); probe.connect(peers[2])
    probe.send({ type: 'discovery.protect', peer: peers[1], tag: 'pubsub' })
    probe.send({ type: 'discovery.protect', peer: peers[1] })
    probe.send({ type: 'discovery.unprotect', peer: peers[1], tag: 'pubsub' })
    expect(tick()).toEqual([peers[2]]) // still protected by the `user` tag
    probe.send({ type: 'peer.disconnected', peer: peers[2], reason: 'trimmed' })
    probe.send({ type: 'discovery.unprotect', peer: peers[1] })
    probe.connect(peers[3])
    expect(new Set(tick().slice(1))).toEqual(new Set([peers[1], peers[3]]))
    probe.stop()
  })

  test('below the low watermark it dials known peers: capped, never itself or connected, with per-peer backoff', () => {
    const known = peers.map((p) => ({ peer: p, addresses: [`memory://k${p.slice(0, 4)}/p2p/${p}`] }))
    const probe = new DiscoveryProbe({
      knownPeers: [...known, { peer: simPeerId('probe'), addresses: ['memory://self/p2p/' + simPeerId('probe')] }],
      lowWatermark: 6, highWatermark: 8, maxDials: 2, tickInterval: 1_000, refreshInterval: 0, dialBackoff: { base: 10_000, max: 10_000, jitter: 0 },
    })
    const self = simPeerId('probe')
    expect(probe.dials()).toHaveLength(2) // maxDials
    const [first, second] = probe.dials()
    probe.send({ type: 'dial.failed', address: first, reason: 'unreachable' })
    probe.send({ type: 'dial.failed', address: second, reason: 'unreachable' })
    probe.advance(2_000)
    const next = probe.dials().slice(2)
    expect(next).toHaveLength(2) // two slots freed, refilled at the next tick
    for (const a of next) probe.connect(a.split('/p2p/')[1], 'outbound', a)
    probe.advance(5_000)
    const all = probe.dials()
    expect(all.some((a) => a.includes(self))).toBe(false) // never itself
    expect(all.slice(4).filter((a) => next.includes(a))).toEqual([]) // never a connected peer
    expect(all.slice(2).filter((a) => a === first || a === second)).toEqual([]) // backoff: 10 s
    expect(new Set(all).size).toBe(all.length)
    probe.stop()
  })
})

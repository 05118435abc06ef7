/**
 * The router's pure helpers alone: seen cache (TTL, size bound, pending entries kept), message
 * cache (windows, gossip ids, size bound), score decay, and the frame builder (per-RPC limits,
 * maxRpcSize), which must never produce a frame the receiver's parseRpc would reject.
 */
import { describe, expect, it } from 'vitest'
import { bytesEqual, createMessageCache, createSeenCache, mcacheGet, mcacheGossipIds, mcacheKnownCopy, mcachePut, mcacheShift, seenAdd, seenExpire, type SeenStatus } from '../../machines/pubsub/caches.js'
import { DEFAULT_PARAMS, DEFAULT_SCORE, resolveParams } from '../../machines/pubsub/params.js'
import { computeScore, createStats, decayStats, scoreBehaviour, scoreInvalid } from '../../machines/pubsub/score.js'
import { buildFrames, type PendingRpc } from '../../machines/pubsub/state.js'
import { parseRpc, type WireMessage } from '../../machines/pubsub/wire.js'

const entry = (at: number, status: SeenStatus = 'valid') => ({ at, status, topic: 't', validatedAt: at, senders: [] })
const msg = (topic: string, size = 4): WireMessage => ({ f: 'abc', k: new Uint8Array(32), n: 1, t: topic, d: new Uint8Array(size), s: new Uint8Array(64) })
const id = (i: number): Uint8Array => new Uint8Array(20).fill(i)

describe('seen cache', () => {
  it('expires by TTL but keeps entries still waiting for the validator', () => {
    const c = createSeenCache(100)
    seenAdd(c, 'a', entry(0))
    seenAdd(c, 'b', entry(0, 'pending'))
    seenAdd(c, 'c', entry(500))
    seenExpire(c, 1000, 1000)
    expect([...c.entries.keys()]).toEqual(['b', 'c'])
  })
  it('drops the oldest entry when full', () => {
    const c = createSeenCache(2)
    for (const k of ['a', 'b', 'c']) seenAdd(c, k, entry(0))
    expect([...c.entries.keys()]).toEqual(['b', 'c'])
  })
})

describe('message cache', () => {
  it('recognises only byte-identical copies of a cached message, until it is shifted out', () => {
    const c = createMessageCache(2, 100)
    const m: WireMessage = { f: 'abc', k: new Uint8Array(32), n: 7, t: 'x', d: new Uint8Array(300).map((_, i) => i), s: new Uint8Array(64).map((_, i) => i * 3) }
    mcachePut(c, 'h1', id(1), m)
    // A copy in other arrays at another alignment (as decoded from another frame).
    const frame = new Uint8Array(1 + 300 + 64)
    frame.set(m.d, 1)
    frame.set(m.s, 301)
    const copy = { ...m, k: new Uint8Array(32).fill(9), d: frame.subarray(1, 301), s: frame.subarray(301) }
    expect(mcacheKnownCopy(c, copy)).toBe('h1')
    for (const change of [{ n: 8 }, { f: 'abd' }, { t: 'y' }, { d: m.d.slice(0, 299) }]) expect(mcacheKnownCopy(c, { ...copy, ...change })).toBeUndefined()
    frame[150] ^= 1 // same signature, other data: a forgery is not a copy
    expect(mcacheKnownCopy(c, copy)).toBeUndefined()
    frame[150] ^= 1
    frame[364] ^= 1 // last signature byte
    expect(mcacheKnownCopy(c, copy)).toBeUndefined()
    frame[364] ^= 1
    mcacheShift(c)
    mcacheShift(c)
    expect(mcacheKnownCopy(c, copy)).toBeUndefined()
    expect(c.size).toBe(0)
  })
  it('bytesEqual compares at every relative alignment and length', () => {
    for (const n of [0, 1, 7, 63, 64, 255, 256, 257, 258, 259, 300, 1027]) {
      for (let oa = 0; oa < 4; oa++) {
        for (let ob = 0; ob < 4; ob++) {
          const a = new Uint8Array(n + oa).subarray(oa)
          const b = new Uint8Array(n + ob).subarray(ob)
          for (let i = 0; i < n; i++) a[i] = b[i] = (i * 37) & 255
          expect(bytesEqual(a, b)).toBe(true)
          for (const at of n > 0 ? [0, n >> 1, n - 1] : []) {
            b[at] ^= 0x80
            expect(bytesEqual(a, b)).toBe(false)
            b[at] ^= 0x80
          }
        }
      }
    }
  })
  it('gossips the newest mcacheGossip windows of a topic and forgets after mcacheLength', () => {
    const c = createMessageCache(3, 100)
    mcachePut(c, 'x1', id(1), msg('x'))
    mcachePut(c, 'y1', id(2), msg('y'))
    mcacheShift(c)
    mcachePut(c, 'x2', id(3), msg('x'))
    expect(mcacheGossipIds(c, 'x', 2, 10)).toEqual([id(3), id(1)])
    expect(mcacheGossipIds(c, 'x', 1, 10)).toEqual([id(3)])
    expect(mcacheGossipIds(c, 'x', 2, 1)).toEqual([id(3)])
    mcacheShift(c); mcacheShift(c)
    expect(mcacheGet(c, 'x1')).toBeUndefined()
    expect(mcacheGet(c, 'x2')?.id).toEqual(id(3))
  })
  it('keeps its own copy of a small message (not a view of the frame it came in) and caches an id once', () => {
    const c = createMessageCache(2, 100)
    const frame = new Uint8Array(1 + 100 + 64).map((_, i) => i)
    const m: WireMessage = { f: 'abc', k: new Uint8Array(32), n: 7, t: 'x', d: frame.subarray(1, 101), s: frame.subarray(101) }
    const sent = { d: m.d.slice(), s: m.s.slice() }
    mcachePut(c, 'h1', id(1), m)
    frame.fill(0) // the frame's memory used again
    const cached = mcacheGet(c, 'h1')!.msg
    expect([cached.d, cached.s]).toEqual([sent.d, sent.s])
    expect(mcacheKnownCopy(c, { ...m, d: sent.d, s: sent.s })).toBe('h1')
    mcacheShift(c)
    mcachePut(c, 'h1', id(1), { ...m, d: sent.d, s: sent.s })
    expect(c.size).toBe(1)
  })
  it('holds at most maxCachedMessages', () => {
    const c = createMessageCache(3, 2)
    for (let i = 0; i < 5; i++) mcachePut(c, `m${i}`, id(i), msg('x'))
    expect(c.size).toBe(2)
    expect([0, 1, 2, 3, 4].filter((i) => mcacheGet(c, `m${i}`) !== undefined)).toEqual([0, 1])
  })
})

describe('score', () => {
  it('P4 and P7 are squared, decay, and go to zero', () => {
    const stats = createStats()
    scoreInvalid(stats, 't'); scoreInvalid(stats, 't')
    scoreBehaviour(stats)
    expect(computeScore(stats, DEFAULT_SCORE, 0)).toBe(4 * -10 + 1 * -10)
    const p = { ...DEFAULT_SCORE, invalidDecay: 0.1, behaviourDecay: 0.1 }
    for (let i = 0; i < 3; i++) decayStats(stats, p)
    expect(computeScore(stats, p, 0)).toBe(0)
    expect(stats.topics.size).toBe(0)
  })
})

describe('frame builder', () => {
  const p = resolveParams({ maxIhaveIdsPerRpc: 3, maxIwantIdsPerRpc: 2, maxMessagesPerRpc: 2, maxSubscriptionsPerRpc: 1, maxMessageSize: 2048, maxRpcSize: 4096 })
  const valid = (frames: ReturnType<typeof buildFrames>): void => {
    for (const f of frames) expect(parseRpc(f, p)).toEqual(f)
  }

  it('puts everything in one frame when it fits', () => {
    const rpc: PendingRpc = { sub: [{ t: 'a', on: true }], msg: [msg('a')], idw: [id(1)], graft: ['a'] }
    const frames = buildFrames(p, rpc)
    expect(frames).toEqual([{ sub: [{ t: 'a', on: true }], msg: [msg('a')], ctl: { graft: ['a'], idw: [id(1)] } }])
  })

  it('splits lists over their per-RPC limits into frames the receiver accepts', () => {
    const rpc: PendingRpc = {
      sub: [{ t: 'a', on: true }, { t: 'b', on: true }],
      ihave: [{ t: 'a', ids: [id(1), id(2), id(3), id(4)] }, { t: 'b', ids: [id(5)] }],
      iwant: [id(6), id(7), id(8)],
      msg: [msg('a'), msg('a'), msg('a')],
    }
    const frames = buildFrames(p, rpc)
    valid(frames)
    expect(frames.flatMap((f) => f.sub ?? [])).toHaveLength(2)
    expect(frames.flatMap((f) => f.ctl?.ihave ?? []).flatMap((e) => e.ids)).toHaveLength(5)
    expect(frames.flatMap((f) => f.ctl?.iwant ?? [])).toHaveLength(3)
    expect(frames.flatMap((f) => f.msg ?? [])).toHaveLength(3)
  })

  it('keeps messages within maxRpcSize, one large message per frame', () => {
    const rpc: PendingRpc = { msg: [msg('a', 2048), msg('a', 2048), msg('a', 10)], idw: [id(1)] }
    const frames = buildFrames(p, rpc)
    valid(frames)
    for (const f of frames) {
      const bytes = (f.msg ?? []).reduce((n, m) => n + m.d.length, 0)
      expect(bytes).toBeLessThanOrEqual(p.maxRpcSize)
    }
    expect(frames.flatMap((f) => f.msg ?? [])).toHaveLength(3)
    expect(frames.length).toBeGreaterThanOrEqual(2)
  })

  it('default limits: a full IHAVE heartbeat for many topics still parses', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => id(i & 0xff))
    const rpc: PendingRpc = { ihave: [{ t: 'a', ids }, { t: 'b', ids }] }
    const frames = buildFrames(DEFAULT_PARAMS, rpc)
    expect(frames).toHaveLength(2)
    for (const f of frames) expect(parseRpc(f)).toBeDefined()
  })
})

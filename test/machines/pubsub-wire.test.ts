/**
 * parseRpc, the pubsub protocol's `parse`: the exact shape, and one test per bound (with small
 * limits so each bound is hit exactly: at the limit passes, one over fails).
 */
import { describe, expect, it } from 'vitest'
import { DEFAULT_PARAMS, resolveParams, type WireLimits } from '../../machines/pubsub/params.js'
import { mergeRpcs, parseRpc, signedBytes, type Rpc, type WireMessage } from '../../machines/pubsub/wire.js'
import { pubsubProtocol } from '../../machines/pubsub/pubsub.machine.js'

const L: WireLimits = {
  ...DEFAULT_PARAMS,
  maxMessageSize: 16, maxTopicLength: 8, maxSubscriptionsPerRpc: 2, maxMessagesPerRpc: 2,
  maxIhaveTopicsPerRpc: 2, maxIhaveIdsPerRpc: 3, maxIwantIdsPerRpc: 3, maxIdontwantIdsPerRpc: 3,
  maxGraftsPerRpc: 2, maxPrunesPerRpc: 2, maxBackoff: 60_000,
}
const id = (i = 1): Uint8Array => new Uint8Array(20).fill(i)
const ids = (n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => id(i))
const msg = (over: Partial<Record<keyof WireMessage, unknown>> = {}): Record<string, unknown> => ({
  f: '12D3KooWabc', k: new Uint8Array(32), n: 1, t: 'chat', d: new Uint8Array(4), s: new Uint8Array(64), ...over,
})
const ok = (body: unknown): void => { expect(parseRpc(body, L)).toBeDefined() }
const bad = (body: unknown): void => { expect(parseRpc(body, L)).toBeUndefined() }

describe('parseRpc shape', () => {
  it('accepts a full RPC and returns the same data', () => {
    const body = {
      sub: [{ t: 'a', on: true }, { t: 'b', on: false }],
      msg: [msg()],
      ctl: { ihave: [{ t: 'a', ids: [id()] }], iwant: [id(2)], graft: ['a'], prune: [{ t: 'b', b: 60 }, { t: 'c' }], idw: [id(3)], iann: [id(4)], ineed: [id(5)] },
    }
    expect(parseRpc(body, L)).toEqual(body)
    ok({})
  })
  it('rejects non-objects, arrays, class instances and unknown keys at every level', () => {
    for (const body of [null, 1, 'x', [], new Uint8Array(1), new Map(), { x: 1 }]) bad(body)
    bad({ sub: [{ t: 'a', on: true, x: 1 }] })
    bad({ msg: [{ ...msg(), x: 1 }] })
    bad({ ctl: { x: [] } })
    bad({ ctl: { ihave: [{ t: 'a', ids: [], x: 1 }] } })
    bad({ ctl: { prune: [{ t: 'a', x: 1 }] } })
  })
  it('rejects wrong types of fields', () => {
    bad({ sub: {} })
    bad({ sub: [{ t: 'a', on: 1 }] })
    bad({ msg: [msg({ d: 'text' })] })
    bad({ msg: [msg({ n: '1' })] })
    bad({ ctl: { graft: [1] } })
    bad({ ctl: { iwant: ['x'.repeat(20)] } })
  })
})

describe('parseRpc bounds (one each)', () => {
  it('maxSubscriptionsPerRpc', () => {
    ok({ sub: [{ t: 'a', on: true }, { t: 'b', on: true }] })
    bad({ sub: [{ t: 'a', on: true }, { t: 'b', on: true }, { t: 'c', on: true }] })
  })
  it('maxTopicLength (and empty topics)', () => {
    ok({ sub: [{ t: 'x'.repeat(8), on: true }] })
    bad({ sub: [{ t: 'x'.repeat(9), on: true }] })
    bad({ sub: [{ t: '', on: true }] })
    bad({ msg: [msg({ t: 'x'.repeat(9) })] })
    bad({ ctl: { graft: ['x'.repeat(9)] } })
  })
  it('maxMessagesPerRpc', () => {
    ok({ msg: [msg(), msg()] })
    bad({ msg: [msg(), msg(), msg()] })
  })
  it('maxMessageSize', () => {
    ok({ msg: [msg({ d: new Uint8Array(16) })] })
    bad({ msg: [msg({ d: new Uint8Array(17) })] })
  })
  it('public key of 32 bytes', () => {
    bad({ msg: [msg({ k: new Uint8Array(31) })] })
    bad({ msg: [msg({ k: new Uint8Array(33) })] })
  })
  it('signature of 64 bytes', () => {
    bad({ msg: [msg({ s: new Uint8Array(63) })] })
  })
  it('seqno: non-negative safe integer', () => {
    ok({ msg: [msg({ n: 0 })] })
    ok({ msg: [msg({ n: Number.MAX_SAFE_INTEGER })] })
    bad({ msg: [msg({ n: -1 })] })
    bad({ msg: [msg({ n: 1.5 })] })
    bad({ msg: [msg({ n: 2 ** 53 })] })
  })
  it('author peer id: 1..128 characters of a peer-id alphabet', () => {
    ok({ msg: [msg({ f: 'a'.repeat(128) })] })
    bad({ msg: [msg({ f: 'a'.repeat(129) })] })
    bad({ msg: [msg({ f: '' })] })
    bad({ msg: [msg({ f: 'héllo' })] })
  })
  it('maxIhaveTopicsPerRpc', () => {
    ok({ ctl: { ihave: [{ t: 'a', ids: [] }, { t: 'b', ids: [] }] } })
    bad({ ctl: { ihave: [{ t: 'a', ids: [] }, { t: 'b', ids: [] }, { t: 'c', ids: [] }] } })
  })
  it('maxIhaveIdsPerRpc, counted over all entries', () => {
    ok({ ctl: { ihave: [{ t: 'a', ids: ids(2) }, { t: 'b', ids: ids(1) }] } })
    bad({ ctl: { ihave: [{ t: 'a', ids: ids(2) }, { t: 'b', ids: ids(2) }] } })
    bad({ ctl: { ihave: [{ t: 'a', ids: ids(4) }] } })
  })
  it('message ids of 20 bytes', () => {
    bad({ ctl: { iwant: [new Uint8Array(19)] } })
    bad({ ctl: { idw: [new Uint8Array(21)] } })
    bad({ ctl: { iann: [new Uint8Array(19)] } })
    bad({ ctl: { ineed: [new Uint8Array(21)] } })
  })
  it('maxIwantIdsPerRpc', () => {
    ok({ ctl: { iwant: ids(3) } })
    bad({ ctl: { iwant: ids(4) } })
  })
  it('maxIdontwantIdsPerRpc, for IDONTWANT, IANNOUNCE and INEED each', () => {
    for (const key of ['idw', 'iann', 'ineed']) {
      ok({ ctl: { [key]: ids(3) } })
      bad({ ctl: { [key]: ids(4) } })
    }
  })
  it('maxGraftsPerRpc', () => {
    ok({ ctl: { graft: ['a', 'b'] } })
    bad({ ctl: { graft: ['a', 'b', 'c'] } })
  })
  it('maxPrunesPerRpc', () => {
    ok({ ctl: { prune: [{ t: 'a' }, { t: 'b' }] } })
    bad({ ctl: { prune: [{ t: 'a' }, { t: 'b' }, { t: 'c' }] } })
  })
  it('prune backoff: whole seconds up to maxBackoff', () => {
    ok({ ctl: { prune: [{ t: 'a', b: 60 }] } })
    bad({ ctl: { prune: [{ t: 'a', b: 61 }] } })
    bad({ ctl: { prune: [{ t: 'a', b: -1 }] } })
    bad({ ctl: { prune: [{ t: 'a', b: 0.5 }] } })
  })
})

describe('protocol definition and params', () => {
  it('parse uses the configured limits', () => {
    const protocol = pubsubProtocol({ maxMessageSize: 8 })
    expect(protocol.id).toBe('/xswarm/pubsub/1')
    expect(protocol.parse!({ msg: [msg({ d: new Uint8Array(8) })] })).toBeDefined()
    expect(protocol.parse!({ msg: [msg({ d: new Uint8Array(9) })] })).toBeUndefined()
    expect(protocol.calls).toBeUndefined()
    expect(pubsubProtocol({ validate: () => 'accept' }).calls?.validate).toBeTypeOf('function')
  })
  it('rejects unusable or unknown options', () => {
    expect(() => resolveParams({ D: 3, Dlo: 4 })).toThrow(RangeError)
    expect(() => resolveParams({ Dee: 3 } as never)).toThrow(RangeError)
    expect(() => resolveParams({ score: { gossipThreshold: 1 } })).toThrow(RangeError)
    expect(() => resolveParams({ heartbeatInterval: Number.NaN })).toThrow(RangeError)
  })
  it('signs a canonical, length-prefixed encoding', () => {
    const a = signedBytes('ab', 1, 'c', new Uint8Array([1]))
    const b = signedBytes('a', 1, 'bc', new Uint8Array([1]))
    expect(a.buffer.subarray(0, a.signedLength)).not.toEqual(b.buffer.subarray(0, b.signedLength))
  })
})

describe('mergeRpcs (the protocol\'s merge: a batch of RPCs from one peer as one)', () => {
  const parsed = (body: unknown): Rpc => parseRpc(body, L) as Rpc
  const m = (n: number) => msg({ n })

  it('joins the messages in order, keeping the first\'s subscriptions and the last\'s control part', () => {
    const merged = mergeRpcs(parsed({ sub: [{ t: 'a', on: true }], msg: [m(1)] }), parsed({ msg: [m(2)], ctl: { graft: ['a'] } }), L)
    expect(merged?.sub).toEqual([{ t: 'a', on: true }])
    expect(merged?.msg?.map((x) => x.n)).toEqual([1, 2])
    expect(merged?.ctl).toEqual({ graft: ['a'] })
  })

  it('keeps apart what would be handled in another order, or more messages than one RPC may carry', () => {
    expect(mergeRpcs(parsed({ msg: [m(1)], ctl: { graft: ['a'] } }), parsed({ msg: [m(2)] }), L)).toBeUndefined()
    expect(mergeRpcs(parsed({ msg: [m(1)] }), parsed({ sub: [{ t: 'a', on: false }] }), L)).toBeUndefined()
    expect(mergeRpcs(parsed({ msg: [m(1), m(2)] }), parsed({ msg: [m(3)] }), L)).toBeUndefined()
  })

  it('is the pubsub protocol\'s merge', () => {
    const merge = pubsubProtocol().merge
    expect(merge?.(parsed({ msg: [m(1)] }), parsed({ msg: [m(2)] }))?.msg?.length).toBe(2)
  })
})

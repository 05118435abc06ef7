/**
 * src/codec/shared-items.ts and the FrameEncoder that uses it: a frame built from items encoded
 * once is byte for byte the frame `encodeFrame` writes for the same body (pubsub RPCs with and
 * without subscriptions and control parts, several messages, data and strings across msgpack's
 * size boundaries, and random bodies), and it is refused for the same reasons.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEFAULT_CODEC_LIMITS, decodeFrame, encodeFrame, resolveCodecLimits } from '../../src/codec/frame.js'
import { encodeSharedFrame, sharesItems, spliceFrame } from '../../src/codec/shared-items.js'
import { FrameEncoder } from '../../src/runtime/encoder.js'
import { CodecError } from '../../src/errors.js'
import { PUBSUB_ID, type Rpc, type WireMessage } from '../../machines/pubsub/wire.js'

const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

function message(size: number, topic = 'topic', n = 7): WireMessage {
  return {
    f: '12D3KooWQpNEvwj1R1H3m6hEu4ndv9Cf2q3yQkT2aTWjPsVyvWxb',
    k: new Uint8Array(32).fill(1),
    n,
    t: topic,
    d: Uint8Array.from({ length: size }, (_, i) => i & 0xff),
    s: new Uint8Array(64).fill(9),
  }
}

/**
 * The frame every way: spliced with items packed alone, encoded whole (its items remembered as
 * views of it), and spliced from those views.
 */
function expectSameBytes(body: Record<string, unknown>, protocol = PUBSUB_ID): void {
  const expected = toHex(encodeFrame(protocol, body))
  expect(toHex(spliceFrame(protocol, body, DEFAULT_CODEC_LIMITS, new Map()))).toBe(expected)
  const items = new Map<object, Uint8Array>()
  expect(toHex(encodeSharedFrame(protocol, body, DEFAULT_CODEC_LIMITS, items))).toBe(expected)
  expect(toHex(encodeSharedFrame(protocol, body, DEFAULT_CODEC_LIMITS, items))).toBe(expected)
}

describe('a frame of items encoded once equals encodeFrame', () => {
  // Data across bin8/bin16/bin32 and topics across fixstr/str8/str16 (ASCII and not).
  const sizes = [0, 1, 255, 256, 65_535, 65_536, 70_000]
  const topics = ['t', 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(255), 'x'.repeat(256), 'é'.repeat(16), 'ü'.repeat(128), '話'.repeat(11), '😀'.repeat(70)]
  const seqnos = [0, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 3]

  it.each(sizes)('messages with %i bytes of data, alone and with others', (size) => {
    expectSameBytes({ msg: [message(size)] })
    expectSameBytes({ msg: [message(size), message(3), message(size, 'other')] })
  })

  it.each(topics.map((t) => [t.length, t]))('a topic of %i characters', (_, topic) => {
    expectSameBytes({ msg: [message(10, topic)] })
    expectSameBytes({ sub: [{ t: topic, on: true }], msg: [message(10, topic)] })
  })

  it('seqnos across every integer width', () => {
    expectSameBytes({ msg: seqnos.map((n) => message(5, 't', n)) })
  })

  it('with subscriptions, control parts, both, and 15 to 17 messages (array headers)', () => {
    const m = message(4096)
    const id = new Uint8Array(20).fill(3)
    const ctl = { graft: ['t'], prune: [{ t: 't', b: 60 }], idw: [id, id], ihave: [{ t: 't', ids: [id] }], iwant: [id] }
    const rpcs: Rpc[] = [
      { sub: [{ t: 't', on: true }, { t: 'u', on: false }], msg: [m] },
      { ctl, msg: [m, message(100)] },
      { sub: [{ t: 't', on: true }], ctl: { idw: [id] }, msg: [m] },
      { ctl: { ihave: [{ t: 't', ids: [id, id] }, { t: 'u', ids: [] }] } },
      { sub: [{ t: 't', on: true }] },
      { msg: Array.from({ length: 15 }, (_, i) => message(i * 20)) },
      { msg: Array.from({ length: 16 }, (_, i) => message(i * 20)) },
      { msg: Array.from({ length: 17 }, () => m) },
    ]
    for (const rpc of rpcs) expectSameBytes(rpc as Record<string, unknown>)
    // Bodies with no list of plain objects go to encodeFrame in FrameEncoder (written the same here too).
    expect(rpcs.map((rpc) => sharesItems(rpc))).toEqual([true, true, true, false, true, true, true, true])
  })

  it('other bodies with lists of plain objects: long and non-ASCII keys, mixed lists, nesting', () => {
    const bare = Object.assign(Object.create(null) as object, { a: 1 })
    expectSameBytes({ ['k'.repeat(31)]: [{ a: 1 }], ['k'.repeat(32)]: [{ b: 2 }], 'ключ': [{ c: 3 }] })
    expectSameBytes({ list: [{ a: 1 }, 2, 'three', null, new Uint8Array(3), [4, { five: 5 }], bare, undefined, -1.5] })
    expectSameBytes({ list: [{}, { nested: [{ deeper: [{ x: true }] }] }], other: { map: [1, 2] }, n: 2 ** 53 - 1 })
    expectSameBytes({ big: Array.from({ length: 70_000 }, () => ({})) }, '/other/1')
  })

  it('random bodies', () => {
    const leaf = fc.oneof(fc.integer(), fc.double(), fc.string(), fc.boolean(), fc.constant(null), fc.uint8Array({ maxLength: 300 }))
    const item = fc.dictionary(fc.string({ maxLength: 40 }), fc.oneof(leaf, fc.array(leaf, { maxLength: 20 })), { maxKeys: 8 })
    const body = fc.dictionary(fc.string({ maxLength: 40 }), fc.oneof(leaf, fc.array(item, { minLength: 1, maxLength: 20 })), { minKeys: 1, maxKeys: 5 })
    fc.assert(
      fc.property(body, item, (b, extra) => {
        // The first item a plain object (fast-check also makes objects without a prototype).
        const withList = { ...b, zzz: [{ ...extra }, ...Object.values(b).filter(Array.isArray).flat()] }
        expect(sharesItems(withList)).toBe(true)
        // Either the same bytes or the same refusal (a random key may be '__proto__' or 'constructor').
        const outcome = (encode: () => Uint8Array): string => {
          try { return toHex(encode()) } catch (error) { return (error as CodecError).code }
        }
        const items = new Map<object, Uint8Array>()
        const expected = outcome(() => encodeFrame(PUBSUB_ID, withList))
        expect(outcome(() => spliceFrame(PUBSUB_ID, withList, DEFAULT_CODEC_LIMITS, new Map()))).toBe(expected)
        expect(outcome(() => encodeSharedFrame(PUBSUB_ID, withList, DEFAULT_CODEC_LIMITS, items))).toBe(expected)
        expect(outcome(() => encodeSharedFrame(PUBSUB_ID, withList, DEFAULT_CODEC_LIMITS, items))).toBe(expected)
      }),
      { numRuns: 300 },
    )
  })

  it('decodes to the same body', () => {
    const rpc = { ctl: { idw: [new Uint8Array(20)] }, msg: [message(300), message(70_000)] }
    const frame = spliceFrame(PUBSUB_ID, rpc, DEFAULT_CODEC_LIMITS, new Map())
    expect(decodeFrame(frame)).toEqual(decodeFrame(encodeFrame(PUBSUB_ID, rpc)))
  })
})

describe('it refuses what encodeFrame refuses', () => {
  const codeOf = (f: () => unknown): string | undefined => {
    try {
      f()
      return undefined
    } catch (error) {
      return error instanceof CodecError ? error.code : (error as Error).name
    }
  }
  it.each([
    ['too large', { msg: [message(2000)] }, resolveCodecLimits({ maxFrameBytes: 1000 })],
    ['too deep', { msg: [{ a: [[[1]]] }] }, resolveCodecLimits({ maxDepth: 3 })],
    ['too many elements', { msg: [{ a: 1, b: 2 }] }, resolveCodecLimits({ maxElements: 2 })],
    ['a forbidden key in an item', { msg: [JSON.parse('{"__proto__": 1}') as object] }, DEFAULT_CODEC_LIMITS],
    ['an extension in an item', { msg: [{ at: new Date(0) }] }, DEFAULT_CODEC_LIMITS],
    ['an unencodable item', { msg: [{ f: () => 1, s: Symbol('x') }] }, DEFAULT_CODEC_LIMITS],
  ])('%s', (_, body, limits) => {
    const expected = codeOf(() => encodeFrame(PUBSUB_ID, body, limits))
    expect(expected).toBeDefined()
    expect(codeOf(() => spliceFrame(PUBSUB_ID, body as Record<string, unknown>, limits, new Map()))).toBe(expected)
    expect(codeOf(() => encodeSharedFrame(PUBSUB_ID, body as Record<string, unknown>, limits, new Map()))).toBe(expected)
  })
  it('a bad protocol id', () => {
    expect(() => spliceFrame('', { msg: [{}] }, DEFAULT_CODEC_LIMITS, new Map())).toThrow(RangeError)
  })
})

describe('FrameEncoder', () => {
  it('encodes an item shared by two bodies once per settle, and again after forget()', () => {
    const encoder = new FrameEncoder(DEFAULT_CODEC_LIMITS)
    const shared = message(100)
    const a = { msg: [shared] }
    const b = { ctl: { idw: [new Uint8Array(20)] }, msg: [message(5), shared] }
    expect(toHex(encoder.encode(PUBSUB_ID, a))).toBe(toHex(encodeFrame(PUBSUB_ID, a)))
    expect(toHex(encoder.encode(PUBSUB_ID, b))).toBe(toHex(encodeFrame(PUBSUB_ID, b)))
    encoder.forget()
    shared.n = 8 // changed between settles (never within one)
    expect(toHex(encoder.encode(PUBSUB_ID, a))).toBe(toHex(encodeFrame(PUBSUB_ID, a)))
    expect(encoder.encode(PUBSUB_ID, { plain: 1 })).toEqual(encodeFrame(PUBSUB_ID, { plain: 1 }))
  })
})

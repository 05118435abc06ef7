/**
 * src/codec/frame.ts: round trips, one test per limit, every extension type, prototype keys,
 * byte fixtures in hex, and property tests over random bytes and random values.
 */
import fc from 'fast-check'
import { Packr, Unpackr } from 'msgpackr'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  DEFAULT_CODEC_LIMITS,
  decodeFrame,
  encodeFrame,
  isUtf8,
  resolveCodecLimits,
  tryDecodeFrame,
  type CodecLimits,
} from '../../src/codec/frame.js'
import { CodecError, ErrorCodes } from '../../src/errors.js'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
/** The frame envelope for protocol '/p' around raw body bytes. */
const frameWithBody = (body: string): Uint8Array => hex('92 a2 2f70' + body)

function codeOf(bytes: Uint8Array, limits?: Partial<CodecLimits>): string | undefined {
  const result = tryDecodeFrame(bytes, limits)
  return result instanceof CodecError ? result.code : undefined
}

function nest(depth: number, leaf: unknown = 1): unknown {
  let v: unknown = leaf
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? [v] : { k: v }
  return v
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('byte fixtures', () => {
  it('encodes a ping frame to known bytes and decodes them back', () => {
    // [ '/ping/1', { n: 1, data: bin(01 02 03) } ]; msgpackr writes objects as map16 (de 0002)
    const fixture = '92 a7 2f70696e672f31 de 0002 a1 6e 01 a4 64617461 c4 03 010203'.replace(/\s+/g, '')
    const bytes = encodeFrame('/ping/1', { n: 1, data: Uint8Array.of(1, 2, 3) })
    expect(toHex(bytes)).toBe(fixture)
    const frame = decodeFrame(hex(fixture))
    expect(frame.protocol).toBe('/ping/1')
    expect(frame.body).toEqual({ n: 1, data: Uint8Array.of(1, 2, 3) })
    // The minimal fixmap form another encoder would write decodes the same.
    expect(decodeFrame(hex(fixture.replace('de0002', '82')))).toEqual(frame)
  })

  it('reads bytes a foreign encoder wrote with 64-bit ints and floats as plain numbers', () => {
    // [ '/', [ uint64 2^53, int64 -1, float64 1.5, float32 0.5, str8 'a', map16 {'b': nil} ] ]
    const bytes = hex(`92 a1 2f 96
      cf 0020000000000000
      d3 ffffffffffffffff
      cb 3ff8000000000000
      ca 3f000000
      d9 01 61
      de 0001 a1 62 c0`)
    expect(decodeFrame(bytes)).toEqual({ protocol: '/', body: [2 ** 53, -1, 1.5, 0.5, 'a', { b: null }] })
  })
})

describe('round trips', () => {
  const values: Array<[string, unknown]> = [
    ['null', null],
    ['true', true],
    ['false', false],
    ['small ints', [0, 1, -1, 127, 128, -32, -33, 255, 256, 65535, 65536, -128, -129, -32768, -32769]],
    ['large ints', [2 ** 32, -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]],
    ['floats', [1.5, -0.25, 1e300, 5e-324, Infinity, -Infinity, NaN]],
    ['strings', ['', 'a', 'héllo', '😀 emoji', 'x'.repeat(31), 'x'.repeat(32), 'y'.repeat(256), 'z'.repeat(70_000)]],
    ['empty containers', [[], {}]],
    ['nested', { a: [1, { b: [true, null, 'c'] }], 'key with spaces': { '': 0 }, 'ключ': 'значение' }],
    ['bytes', [new Uint8Array(0), Uint8Array.of(0, 255), new Uint8Array(256).fill(7), new Uint8Array(70_000).fill(9)]],
    ['many keys', Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i]))],
  ]
  for (const [name, value] of values) {
    it(`round-trips ${name}`, () => {
      const frame = decodeFrame(encodeFrame('/xswarm/test/1', value))
      expect(frame).toEqual({ protocol: '/xswarm/test/1', body: value })
    })
  }

  it('decodes bin as a plain Uint8Array view into the input, also from a Buffer', () => {
    const encoded = encodeFrame('/p', { data: Uint8Array.of(1, 2, 3) })
    const input = Buffer.from(encoded) // a Buffer, as ws hands out
    const body = decodeFrame(input).body as { data: Uint8Array }
    expect(Object.getPrototypeOf(body.data)).toBe(Uint8Array.prototype)
    expect(body.data.buffer).toBe(input.buffer) // a view, not a copy
    input[input.length - 1] = 99
    expect(body.data[2]).toBe(99)
    expect('dataView' in input).toBe(false) // msgpackr's cache does not land on the caller's object
  })

  it('encodes every kind of binary as bin and returns a plain Uint8Array', () => {
    const bytes = encodeFrame('/p', [Buffer.from([1]), Uint8Array.of(2), Uint16Array.of(0x0403).buffer])
    expect(Object.getPrototypeOf(bytes)).toBe(Uint8Array.prototype)
    expect(decodeFrame(bytes).body).toEqual([Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3, 4)])
  })

  it('maps undefined to null, -0 to 0 and a bigint to a number', () => {
    expect(decodeFrame(encodeFrame('/p', [undefined, -0, 5n])).body).toEqual([null, 0, 5])
    expect(Object.is((decodeFrame(encodeFrame('/p', -0)).body as number), 0)).toBe(true)
  })

  it('does not change earlier results when encoding again', () => {
    const first = encodeFrame('/p', 'first')
    const copy = Uint8Array.from(first)
    for (let i = 0; i < 2000; i++) encodeFrame('/p', new Uint8Array(100))
    expect(first).toEqual(copy)
  })
})

describe('encodeFrame refuses what could not travel', () => {
  it('refuses a bad protocol id with TypeError/RangeError', () => {
    expect(() => encodeFrame(7 as unknown as string, null)).toThrow(TypeError)
    expect(() => encodeFrame('', null)).toThrow(RangeError)
    expect(() => encodeFrame('p'.repeat(257), null)).toThrow(RangeError)
    expect(() => encodeFrame('é'.repeat(129), null)).toThrow(/at most 256 UTF-8 bytes, got 258/)
    expect(() => encodeFrame('p'.repeat(256), null)).not.toThrow()
  })

  it.each([
    ['a Date', new Date(0), ErrorCodes.FRAME_EXTENSION],
    ['a forbidden key', JSON.parse('{"__proto__": 1}'), ErrorCodes.FRAME_FORBIDDEN_KEY],
    ['a Map with a number key', new Map([[1, 'a']]), ErrorCodes.FRAME_FORBIDDEN_KEY],
    ['a body deeper than maxDepth', nest(33), ErrorCodes.FRAME_TOO_COMPLEX],
    ['a symbol', Symbol('x'), ErrorCodes.FRAME_UNENCODABLE],
    ['a bigint beyond 64 bits', 2n ** 70n, ErrorCodes.FRAME_UNENCODABLE],
  ])('refuses %s', (_name, body, code) => {
    expect(() => encodeFrame('/p', body)).toThrow(CodecError)
    try {
      encodeFrame('/p', body)
    } catch (error) {
      expect((error as CodecError).code).toBe(code)
    }
  })

  it('refuses a frame larger than maxFrameBytes', () => {
    expect(() => encodeFrame('/p', new Uint8Array(100), { maxFrameBytes: 100 })).toThrow(
      expect.objectContaining({ code: ErrorCodes.FRAME_TOO_LARGE }),
    )
  })
})

describe('limits', () => {
  it('checks maxFrameBytes first: a huge buffer of garbage is FRAME_TOO_LARGE, unread', () => {
    const unpack = vi.spyOn(Unpackr.prototype, 'unpack')
    const garbage = new Uint8Array(DEFAULT_CODEC_LIMITS.maxFrameBytes + 1).fill(0xc1)
    expect(codeOf(garbage)).toBe(ErrorCodes.FRAME_TOO_LARGE)
    expect(codeOf(garbage.subarray(0, 1000))).toBe(ErrorCodes.FRAME_MALFORMED) // the same bytes, small
    expect(unpack).not.toHaveBeenCalled()
  })

  it('accepts exactly maxFrameBytes and refuses one byte more', () => {
    const bytes = encodeFrame('/p', 'abc') // 92 a2 2f70 a3 616263
    expect(bytes.length).toBe(8)
    expect(codeOf(bytes, { maxFrameBytes: 8 })).toBeUndefined()
    expect(codeOf(bytes, { maxFrameBytes: 7 })).toBe(ErrorCodes.FRAME_TOO_LARGE)
  })

  it('accepts depth 32 and refuses depth 33 (arrays and maps)', () => {
    const deep32 = encodeFrame('/p', nest(32))
    const deep33 = encodeFrame('/p', nest(33), { maxDepth: 40 })
    expect(codeOf(deep32)).toBeUndefined()
    expect(decodeFrame(deep32).body).toEqual(nest(32))
    expect(codeOf(deep33)).toBe(ErrorCodes.FRAME_TOO_COMPLEX)
    expect(codeOf(deep33, { maxDepth: 33 })).toBeUndefined()
  })

  it('counts an empty container as a level, and maxDepth 0 allows only scalars', () => {
    expect(codeOf(encodeFrame('/p', 1), { maxDepth: 0 })).toBeUndefined()
    expect(codeOf(frameWithBody('90'), { maxDepth: 0 })).toBe(ErrorCodes.FRAME_TOO_COMPLEX)
    expect(codeOf(frameWithBody('80'), { maxDepth: 0 })).toBe(ErrorCodes.FRAME_TOO_COMPLEX)
  })

  it('refuses hostile nesting without recursion (100 000 nested fixarrays)', () => {
    const unpack = vi.spyOn(Unpackr.prototype, 'unpack')
    const bytes = new Uint8Array(4 + 100_000 + 1).fill(0x91)
    bytes.set(hex('92 a2 2f70'), 0)
    bytes[bytes.length - 1] = 0xc0
    expect(codeOf(bytes)).toBe(ErrorCodes.FRAME_TOO_COMPLEX)
    expect(unpack).not.toHaveBeenCalled()
  })

  it('accepts maxElements entries and refuses one more', () => {
    const atLimit = encodeFrame('/p', new Array(100_000).fill(null))
    const overLimit = encodeFrame('/p', new Array(100_001).fill(null), { maxElements: 200_000 })
    expect(codeOf(atLimit)).toBeUndefined()
    expect(codeOf(overLimit)).toBe(ErrorCodes.FRAME_TOO_COMPLEX)
  })

  it('sums elements over the whole body and counts a map entry once', () => {
    const body = encodeFrame('/p', [[1, 2], { a: 1, b: 2 }, []]) // 3 + 2 + 2 + 0
    expect(codeOf(body, { maxElements: 7 })).toBeUndefined()
    expect(codeOf(body, { maxElements: 6 })).toBe(ErrorCodes.FRAME_TOO_COMPLEX)
  })

  it('refuses a declared count of 2^32-1 before allocating anything', () => {
    const unpack = vi.spyOn(Unpackr.prototype, 'unpack')
    expect(codeOf(frameWithBody('dd ffffffff c0'))).toBe(ErrorCodes.FRAME_TOO_COMPLEX)
    expect(codeOf(frameWithBody('df ffffffff c0 c0'))).toBe(ErrorCodes.FRAME_TOO_COMPLEX)
    // With the element limit out of the way, the count still cannot exceed the bytes left.
    expect(codeOf(frameWithBody('dd ffffffff c0'), { maxElements: 2 ** 32 - 1 })).toBe(ErrorCodes.FRAME_MALFORMED)
    expect(unpack).not.toHaveBeenCalled()
  })

  it('bounds the protocol id: 256 bytes accepted, 257 refused, empty refused', () => {
    const id256 = encodeFrame('p'.repeat(256), null)
    const id257 = encodeFrame('p'.repeat(257), null, { maxProtocolIdLength: 300 })
    expect(decodeFrame(id256).protocol).toBe('p'.repeat(256))
    expect(codeOf(id257)).toBe(ErrorCodes.FRAME_MALFORMED)
    expect(codeOf(id257, { maxProtocolIdLength: 257 })).toBeUndefined()
    expect(codeOf(hex('92 a0 c0'))).toBe(ErrorCodes.FRAME_MALFORMED)
  })

  it('checks its own limits', () => {
    expect(resolveCodecLimits()).toBe(DEFAULT_CODEC_LIMITS)
    const limits = resolveCodecLimits({ maxDepth: 4 })
    expect(limits).toEqual({ ...DEFAULT_CODEC_LIMITS, maxDepth: 4 })
    expect(resolveCodecLimits(limits)).toBe(limits)
    expect(() => resolveCodecLimits({ maxDepth: 1001 })).toThrow(RangeError)
    expect(() => resolveCodecLimits({ maxFrameByte: 10 } as Partial<CodecLimits>)).toThrow('"limits.maxFrameByte" is not a codec limit')
    expect(() => resolveCodecLimits({ maxFrameBytes: 0 })).toThrow(/"limits.maxFrameBytes" expected integer in \[1, /)
    expect(() => resolveCodecLimits({ maxElements: '9' as unknown as number })).toThrow(TypeError)
    expect(() => tryDecodeFrame('92' as unknown as Uint8Array)).toThrow(TypeError)
  })
})

describe('malformed frames', () => {
  it('refuses every truncation of a valid frame', () => {
    const bytes = encodeFrame('/xswarm/test/1', {
      a: [1, 2.5, 'str', Uint8Array.of(1, 2, 3), { b: null }],
      c: 'x'.repeat(300),
      d: 70000,
    })
    for (let n = 0; n < bytes.length; n++) {
      expect(codeOf(bytes.subarray(0, n)), `prefix of ${n} bytes`).toBe(ErrorCodes.FRAME_MALFORMED)
    }
    expect(codeOf(bytes)).toBeUndefined()
  })

  it('refuses declared lengths beyond the end (str, bin)', () => {
    expect(codeOf(frameWithBody('d9 0a 616263'))).toBe(ErrorCodes.FRAME_MALFORMED)
    expect(codeOf(frameWithBody('c6 7fffffff 00'))).toBe(ErrorCodes.FRAME_MALFORMED)
  })

  it('refuses trailing bytes after the frame', () => {
    const bytes = encodeFrame('/p', [1, 2])
    const longer = new Uint8Array(bytes.length + 1)
    longer.set(bytes)
    expect(tryDecodeFrame(longer)).toMatchObject({ code: ErrorCodes.FRAME_MALFORMED, message: /1 trailing bytes/ })
  })

  it.each([
    ['not an array', 'a2 2f70'],
    ['an array of 1', '91 a2 2f70'],
    ['an array of 3', '93 a2 2f70 c0 c0'],
    ['array16 of 2 (not the canonical envelope)', 'dc 0002 a2 2f70 c0'],
    ['a number as protocol id', '92 01 c0'],
    ['the reserved byte 0xc1', '92 a2 2f70 c1'],
    ['an empty message', ''],
  ])('refuses %s', (_name, bytes) => {
    expect(codeOf(hex(bytes))).toBe(ErrorCodes.FRAME_MALFORMED)
  })

  it.each([
    ['an overlong "/"', 'c0 af'],
    ['a lone surrogate', 'ed a0 80'],
    ['a code point above U+10FFFF', 'f4 90 80 80'],
    ['a stray continuation byte', '80'],
    ['a sequence cut by the end of the string', 'e2 82'],
  ])('refuses a string with %s (strict UTF-8)', (_name, utf8) => {
    const n = utf8.replace(/\s+/g, '').length / 2
    const str = (0xa0 + n).toString(16) + utf8
    expect(codeOf(frameWithBody(str))).toBe(ErrorCodes.FRAME_MALFORMED) // as a value
    expect(codeOf(frameWithBody('81' + str + 'c0'))).toBe(ErrorCodes.FRAME_MALFORMED) // as a key
    expect(codeOf(hex('92' + str + 'c0'))).toBe(ErrorCodes.FRAME_MALFORMED) // as the protocol id
  })

  it('refuses invalid UTF-8 in long strings too (validated natively from 256 bytes)', () => {
    const long = (tail: string): string => 'da 0200' + '61'.repeat(512 - tail.length / 2) + tail
    expect(decodeFrame(frameWithBody(long('c3a9'))).body).toBe('a'.repeat(510) + 'é')
    expect(codeOf(frameWithBody(long('e282')))).toBe(ErrorCodes.FRAME_MALFORMED)
    expect(codeOf(frameWithBody(long('eda080')))).toBe(ErrorCodes.FRAME_MALFORMED)
  })

  it('validates UTF-8 exactly as a fatal TextDecoder does', () => {
    const decoder = new TextDecoder('utf-8', { fatal: true })
    const strict = (b: Uint8Array): boolean => {
      try {
        decoder.decode(b)
        return true
      } catch {
        return false
      }
    }
    const utf8ish = fc.array(
      fc.oneof(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0x80, max: 0xbf }), fc.integer({ min: 0xc0, max: 0xf7 })),
      { maxLength: 300 },
    )
    fc.assert(
      fc.property(fc.oneof(utf8ish, fc.string({ unit: 'binary', maxLength: 300 }).map((t) => [...new TextEncoder().encode(t)])), (arr) => {
        const b = Uint8Array.from(arr)
        expect(isUtf8(b, 0, b.length)).toBe(strict(b))
      }),
      { numRuns: 3000 },
    )
  })

  it('accepts valid multi-byte UTF-8 of every length', () => {
    expect(decodeFrame(frameWithBody('a9 c3a9 e282ac f09f9880')).body).toBe('é€😀')
  })

  it('closes the smuggling route: a cut UTF-8 sequence cannot make msgpackr parse bin payload as structure', () => {
    // Structurally [ str(1) = <e0>, bin(3) = <d4 00 00> ]. msgpackr's JS string reader would take
    // 3 bytes for <e0> and then decode <d4 00 00> as an extension; the scan refuses the string.
    expect(codeOf(frameWithBody('92 a1 e0 c4 03 d40000'))).toBe(ErrorCodes.FRAME_MALFORMED)
  })
})

describe('extensions are never accepted', () => {
  it.each([
    ['fixext 1', 'd4 01 aa'],
    ['fixext 2', 'd5 01 aabb'],
    ['fixext 4', 'd6 01 aabbccdd'],
    ['fixext 8', 'd7 01 0001020304050607'],
    ['fixext 16', 'd8 01 000102030405060708090a0b0c0d0e0f'],
    ['ext 8', 'c7 03 01 aabbcc'],
    ['ext 16', 'c8 0003 01 aabbcc'],
    ['ext 32', 'c9 00000003 01 aabbcc'],
    ['timestamp (ext -1)', 'd6 ff 00000000'],
    ['msgpackr "undefined" (fixext 1 type 0)', 'd4 00 00'],
    ['msgpackr record definition (0x72)', 'd4 72 40 91 a1 61 01'],
    ['msgpackr structured-clone reference (0x70)', 'd6 70 00000001'],
    ['msgpackr bigint (0x42)', 'c7 09 42 000000000000000001'],
  ])('refuses %s', (_name, ext) => {
    const unpack = vi.spyOn(Unpackr.prototype, 'unpack')
    expect(codeOf(frameWithBody(ext))).toBe(ErrorCodes.FRAME_EXTENSION)
    expect(codeOf(frameWithBody('92 01 ' + ext))).toBe(ErrorCodes.FRAME_EXTENSION) // inside an array
    expect(codeOf(frameWithBody('81 a1 6b ' + ext))).toBe(ErrorCodes.FRAME_EXTENSION) // as a map value
    expect(codeOf(frameWithBody('81' + ext + 'c0'))).toBe(ErrorCodes.FRAME_FORBIDDEN_KEY) // as a map key
    expect(unpack).not.toHaveBeenCalled()
  })

  it('refuses what a default new Packr() writes (records)', () => {
    const bytes = new Packr().pack(['/p', { a: 1 }])
    expect(toHex(bytes)).toContain('d472') // msgpackr's record extension
    expect(codeOf(bytes)).toBe(ErrorCodes.FRAME_EXTENSION)
  })

  it('refuses what a structuredClone Packr writes for shared and cyclic references', () => {
    const packr = new Packr({ structuredClone: true })
    const shared = { x: 1 }
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const sharedBytes = packr.pack(['/p', [shared, shared]])
    const cyclicBytes = packr.pack(['/p', cyclic])
    expect(toHex(sharedBytes)).toContain('d670') // the 0x70 reference extension
    expect(codeOf(sharedBytes)).toBe(ErrorCodes.FRAME_EXTENSION)
    expect(codeOf(cyclicBytes)).toBe(ErrorCodes.FRAME_EXTENSION)
  })
})

describe('prototype keys', () => {
  const str = (s: string): string => (0xa0 + s.length).toString(16) + Buffer.from(s).toString('hex')
  const str8 = (s: string): string => 'd9' + s.length.toString(16).padStart(2, '0') + Buffer.from(s).toString('hex')

  it.each([
    ['__proto__ → {polluted: true}', `81 ${str('__proto__')} 81 ${str('polluted')} c3`],
    ['__proto__ as str8', `81 ${str8('__proto__')} 81 ${str('polluted')} c3`],
    ['constructor.prototype.polluted', `81 ${str('constructor')} 81 ${str('prototype')} 81 ${str('polluted')} c3`],
    ['prototype', `81 ${str('prototype')} 81 ${str('polluted')} c3`],
    ['__proto__ deep inside', `92 01 81 ${str('a')} 91 81 ${str('__proto__')} 81 ${str('polluted')} c3`],
    ['__proto__ as map16', `de 0001 ${str('__proto__')} 81 ${str('polluted')} c3`],
  ])('refuses %s and pollutes nothing', (_name, body) => {
    const bytes = frameWithBody(body)
    expect(codeOf(bytes)).toBe(ErrorCodes.FRAME_FORBIDDEN_KEY)
    expect(() => decodeFrame(bytes)).toThrow(CodecError)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false)
  })

  it('refuses non-string keys, which msgpackr would coerce to strings', () => {
    expect(codeOf(frameWithBody('81 01 a1 61'))).toBe(ErrorCodes.FRAME_FORBIDDEN_KEY) // int key
    expect(codeOf(frameWithBody('81 c0 01'))).toBe(ErrorCodes.FRAME_FORBIDDEN_KEY) // nil key
    expect(codeOf(frameWithBody(`81 91 ${str('__proto__')} 01`))).toBe(ErrorCodes.FRAME_FORBIDDEN_KEY) // ['__proto__'] key
    expect(codeOf(frameWithBody('81 c4 01 61 01'))).toBe(ErrorCodes.FRAME_FORBIDDEN_KEY) // bin key
  })

  it('allows look-alike keys and these words as values', () => {
    const body = { __proto: 1, constructors: 2, Prototype: 3, list: ['__proto__', 'constructor'] }
    expect(decodeFrame(encodeFrame('/p', body)).body).toEqual(body)
  })
})

describe('properties', () => {
  const forbidden = new Set(['__proto__', 'constructor', 'prototype'])
  const key = fc.string({ unit: 'binary', maxLength: 12 }).filter((k) => !forbidden.has(k))
  const scalar = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.maxSafeInteger(),
    fc.integer({ min: -200, max: 70000 }),
    fc.double().map((d) => (Object.is(d, -0) ? 0 : d)),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.uint8Array({ maxLength: 40 }),
  )
  const { value } = fc.letrec<{ value: unknown; array: unknown[]; object: Record<string, unknown> }>((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, scalar, tie('array'), tie('object')),
    array: fc.array(tie('value'), { maxLength: 6 }),
    object: fc.dictionary(key, tie('value'), { maxKeys: 6, noNullPrototype: true }),
  }))
  const protocol = fc.string({ unit: 'binary', minLength: 1, maxLength: 30 })

  it('round-trips arbitrary msgpack-able values', () => {
    fc.assert(
      fc.property(protocol, value, (p, v) => {
        const frame = decodeFrame(encodeFrame(p, v))
        expect(frame.protocol).toBe(p)
        expect(frame.body).toEqual(v)
      }),
      { numRuns: 1000 },
    )
  })

  function onlyCodecErrors(bytes: Uint8Array): void {
    const result = tryDecodeFrame(bytes)
    if (result instanceof CodecError) expect(Object.values(ErrorCodes)).toContain(result.code)
    else expect(typeof result.protocol).toBe('string')
    try {
      decodeFrame(bytes)
    } catch (error) {
      expect(error).toBeInstanceOf(CodecError)
    }
  }

  it('random bytes never throw anything but CodecError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), onlyCodecErrors), { numRuns: 2000 })
    // Random bytes behind a valid envelope reach the body scan more often.
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (tail) => {
        const bytes = new Uint8Array(4 + tail.length)
        bytes.set(hex('92 a2 2f70'))
        bytes.set(tail, 4)
        onlyCodecErrors(bytes)
      }),
      { numRuns: 2000 },
    )
  })

  it('mutated valid frames never throw anything but CodecError, and decode to data only', () => {
    fc.assert(
      fc.property(value, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (v, edits) => {
        const bytes = Uint8Array.from(encodeFrame('/p', v))
        for (const [at, byte] of edits) bytes[at % bytes.length] = byte
        onlyCodecErrors(bytes)
        const result = tryDecodeFrame(bytes)
        if (!(result instanceof CodecError)) assertPlainData(result.body)
      }),
      { numRuns: 2000 },
    )
  })
})

/** Only null, boolean, number, string, plain Uint8Array, array and plain object with string keys. */
function assertPlainData(v: unknown, depth = 0): void {
  expect(depth).toBeLessThanOrEqual(DEFAULT_CODEC_LIMITS.maxDepth)
  if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return
  if (v instanceof Uint8Array) {
    expect(Object.getPrototypeOf(v)).toBe(Uint8Array.prototype)
    return
  }
  if (Array.isArray(v)) {
    for (const item of v) assertPlainData(item, depth + 1)
    return
  }
  expect(typeof v).toBe('object')
  expect(Object.getPrototypeOf(v)).toBe(Object.prototype)
  for (const key of Object.keys(v as object)) {
    expect(['__proto__', 'constructor', 'prototype']).not.toContain(key)
    assertPlainData((v as Record<string, unknown>)[key], depth + 1)
  }
}

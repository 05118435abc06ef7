/**
 * Frame codec: one WebSocket message is one frame, the msgpack array `[protocolId, body]`.
 *
 * Frames come from strangers, so decoding is fenced in three layers, cheapest first:
 * 1. the byte length against `maxFrameBytes`, before a single byte is read;
 * 2. `scanFrame`, a hand-written linear walk over the msgpack bytes that allocates nothing
 *    and skips str/bin payloads by their declared length. It accepts only the envelope
 *    `0x92 <str protocolId> <body>` and, in the body, only nil/bool/int/float/str/bin/array/map:
 *    any extension (fixext 1-16, ext 8/16/32, which includes msgpackr's records, structured-clone
 *    references and timestamps) is refused, so a few hundred bytes can never expand into
 *    megabytes. It also bounds nesting and element counts, requires string map keys other than
 *    `__proto__`/`constructor`/`prototype`, rejects truncation and trailing bytes, and
 *    validates every string as strict UTF-8. The UTF-8 check is not cosmetic: msgpackr's JS
 *    string decoder (used whenever the msgpackr-extract addon is absent) reads a multi-byte
 *    sequence cut by the end of its string past that end, so `a1 e0 c4 03 d4 00 00` (a
 *    1-byte string, then a bin) makes msgpackr decode the bin's payload as an extension.
 *    With strict UTF-8 the scan and msgpackr agree byte for byte.
 * 3. msgpackr's Unpackr with options pinned once below, then a shape check of the result.
 *
 * Decoded values are only: null, boolean, number, string, Uint8Array, array, and plain object
 * with string keys. No bigint (int64 is read as a number: exact up to 2^53; carry exact 64-bit
 * values as 8-byte bin), no Map, no Date, no undefined. `bin` values are plain Uint8Array *views*
 * into the input bytes (zero copy, never a Buffer): copy a body before reusing the frame buffer,
 * and know that keeping a small view keeps the whole frame buffer alive.
 *
 * Node only: long strings are validated with `node:buffer` isUtf8 (simdutf), short ones in JS.
 *
 * Encoding runs the same scan over its own output (cheap: bin payloads are skipped), so what
 * `encodeFrame` returns is what `decodeFrame` accepts under the same limits; a body that
 * cannot travel (a Date or other extension type, a forbidden key, too deep...) throws a
 * CodecError locally instead of getting the connection closed by the peer.
 * @module
 */
import { isUtf8 as nativeIsUtf8 } from 'node:buffer'
import { Packr, Unpackr } from 'msgpackr'
import { CodecError, ErrorCodes } from '../errors.js'
import { abytes, aint, aobject, astring } from '../validate.js'

/** One decoded frame. */
export interface Frame {
  /** The protocol the body is for, e.g. `/xswarm/pubsub/1`. */
  protocol: string
  /** The decoded body (see the module doc for the possible types). */
  body: unknown
}

/** Bounds on one frame. Every one is checked before msgpackr allocates anything. */
export interface CodecLimits {
  /** Largest frame in bytes, checked first of all. Default 1 MiB (1_048_576), as `Limits.maxFrameBytes`. */
  readonly maxFrameBytes: number
  /**
   * Deepest nesting of arrays and maps inside the body: a scalar body has depth 0, `[1]` depth 1,
   * `{a: [1]}` depth 2. The envelope array does not count. Default 32, at most 1000 (msgpackr
   * decodes recursively).
   */
  readonly maxDepth: number
  /** Most array items plus map entries (key/value pairs), summed over the whole body. Default 100_000. */
  readonly maxElements: number
  /** Longest protocol id, in UTF-8 bytes (ids are never empty). Default 256. */
  readonly maxProtocolIdLength: number
}

/** The default limits (frozen). */
export const DEFAULT_CODEC_LIMITS: CodecLimits = Object.freeze({
  maxFrameBytes: 1024 * 1024,
  maxDepth: 32,
  maxElements: 100_000,
  maxProtocolIdLength: 256,
})

const MAX_DEPTH_CAP = 1000
const resolvedLimits = new WeakSet<object>([DEFAULT_CODEC_LIMITS])

/**
 * Merge overrides into the defaults and check them (RangeError/TypeError name the field).
 * Resolve once and pass the result on the hot path: a resolved object is recognised and not
 * checked again.
 * @example const limits = resolveCodecLimits({ maxFrameBytes: 64 * 1024 })
 */
export function resolveCodecLimits(limits?: Partial<CodecLimits>): CodecLimits {
  if (limits === undefined) return DEFAULT_CODEC_LIMITS
  if (resolvedLimits.has(limits)) return limits as CodecLimits
  aobject(limits, 'limits')
  const d = DEFAULT_CODEC_LIMITS
  for (const key of Object.keys(limits)) {
    if (!(key in d)) throw new RangeError(`"limits.${key}" is not a codec limit (known: ${Object.keys(d).join(', ')})`)
  }
  const out: CodecLimits = Object.freeze({
    maxFrameBytes: aint(limits.maxFrameBytes ?? d.maxFrameBytes, 'limits.maxFrameBytes', 1, 2 ** 32 - 1),
    maxDepth: aint(limits.maxDepth ?? d.maxDepth, 'limits.maxDepth', 0, MAX_DEPTH_CAP),
    maxElements: aint(limits.maxElements ?? d.maxElements, 'limits.maxElements', 0, 2 ** 32 - 1),
    maxProtocolIdLength: aint(limits.maxProtocolIdLength ?? d.maxProtocolIdLength, 'limits.maxProtocolIdLength', 1, 2 ** 16),
  })
  resolvedLimits.add(out)
  return out
}

// The only msgpackr instances in xswarm. Options pinned on purpose:
// - useRecords/structuredClone/moreTypes/bundleStrings false: standard msgpack only, no msgpackr
//   extensions written (the scan refuses them on the way in anyway);
// - mapsAsObjects: maps decode to plain objects (keys are guaranteed strings by the scan);
// - int64AsType 'number': the decoded value set stays closed (no bigint that would make
//   JSON.stringify or `x + 1` throw in protocol code); exact above 2^53 is not needed on our wire;
// - encodeUndefinedAsNil: undefined is written as nil, not as msgpackr's fixext 0 "undefined";
// - copyBuffers false: bin decodes as a view (see the module doc).
// addExtension is never called: it would mutate msgpackr's process-wide tables.
/** The msgpackr options every frame is written with (exported for the codec benchmark). */
export const PACK_OPTIONS = Object.freeze({
  useRecords: false,
  structuredClone: false,
  moreTypes: false,
  bundleStrings: false,
  mapsAsObjects: true,
  int64AsType: 'number',
  encodeUndefinedAsNil: true,
  useFloat32: 0,
} as const)

/** The msgpackr options every frame is read with (after the pre-scan). */
export const UNPACK_OPTIONS = Object.freeze({
  useRecords: false,
  structuredClone: false,
  moreTypes: false,
  bundleStrings: false,
  mapsAsObjects: true,
  int64AsType: 'number',
  copyBuffers: false,
  sequential: false,
} as const)

const packr = new Packr({ ...PACK_OPTIONS })
const unpackr = new Unpackr({ ...UNPACK_OPTIONS })

/**
 * Encode one frame. Uint8Array (and other typed arrays, ArrayBuffer) become msgpack bin, plain
 * objects become maps, undefined becomes nil, `-0` becomes 0, a bigint becomes int64 (read back
 * as a number).
 * @param protocol the protocol id, 1 to `maxProtocolIdLength` UTF-8 bytes
 * @param body any value made of the types listed in the module doc
 * @param limits the limits the receiver applies (defaults when omitted)
 * @returns the frame bytes: a fresh region of an encoder slab, never modified by later calls
 * @throws TypeError/RangeError for a bad `protocol`; CodecError when the body cannot travel
 *   (FRAME_UNENCODABLE, FRAME_TOO_LARGE, FRAME_TOO_COMPLEX, FRAME_EXTENSION, FRAME_FORBIDDEN_KEY)
 * @example ws.send(encodeFrame('/xswarm/ping/1', { seq: 1, data: new Uint8Array(8) }))
 */
export function encodeFrame(protocol: string, body: unknown, limits?: Partial<CodecLimits>): Uint8Array {
  const l = resolveCodecLimits(limits)
  astring(protocol, 'protocol')
  if (protocol.length === 0) throw new RangeError('"protocol" expected a non-empty string')
  // Up to 3 UTF-8 bytes per UTF-16 code unit: count bytes only when that bound is not enough.
  if (protocol.length * 3 > l.maxProtocolIdLength) {
    const n = utf8Length(protocol)
    if (n > l.maxProtocolIdLength) {
      throw new RangeError(`"protocol" expected at most ${l.maxProtocolIdLength} UTF-8 bytes, got ${n}`)
    }
  }
  let packed: Uint8Array
  try {
    packed = packr.pack([protocol, body])
  } catch (cause) {
    throw new CodecError(ErrorCodes.FRAME_UNENCODABLE, `cannot encode frame for ${protocol}: ${errorText(cause)}`, { cause })
  }
  if (packed.length > l.maxFrameBytes) {
    throw new CodecError(
      ErrorCodes.FRAME_TOO_LARGE,
      `cannot encode frame for ${protocol}: ${packed.length} bytes exceeds maxFrameBytes=${l.maxFrameBytes}`,
    )
  }
  const problem = scanFrame(packed, l, false)
  if (problem !== null) {
    throw new CodecError(problem.code, `cannot encode frame for ${protocol}: ${problem.message}`)
  }
  // A plain Uint8Array view, so Buffer's `slice`-is-a-view semantics never leak out.
  return new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength)
}

/**
 * Decode one frame from a peer.
 * @param bytes one whole WebSocket message
 * @param limits bounds (defaults when omitted); pass a `resolveCodecLimits` result on hot paths
 * @returns the frame; `body` may share memory with `bytes` (bin values are views)
 * @throws CodecError with FRAME_TOO_LARGE, FRAME_MALFORMED, FRAME_TOO_COMPLEX, FRAME_EXTENSION or
 *   FRAME_FORBIDDEN_KEY; TypeError when `bytes` is not a Uint8Array
 * @example const { protocol, body } = decodeFrame(message)
 */
export function decodeFrame(bytes: Uint8Array, limits?: Partial<CodecLimits>): Frame {
  const result = tryDecodeFrame(bytes, limits)
  if (result instanceof CodecError) throw result
  return result
}

/**
 * Like `decodeFrame`, but returns the CodecError instead of throwing it (for the receive path,
 * where a bad frame is an expected outcome). Throws only for bad arguments.
 * @example const f = tryDecodeFrame(bytes, limits); if (f instanceof CodecError) conn.close(f.code)
 */
export function tryDecodeFrame(bytes: Uint8Array, limits?: Partial<CodecLimits>): Frame | CodecError {
  abytes(bytes, undefined, 'bytes')
  const l = resolveCodecLimits(limits)
  if (bytes.length > l.maxFrameBytes) {
    return new CodecError(ErrorCodes.FRAME_TOO_LARGE, `frame of ${bytes.length} bytes exceeds maxFrameBytes=${l.maxFrameBytes}`)
  }
  const problem = scanFrame(bytes, l, true)
  if (problem !== null) return problem
  // A plain view: msgpackr slices bin values from its source, so they come out as Uint8Array,
  // not Buffer; msgpackr also caches a DataView on its source, which stays off the caller's object.
  const source = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let value: unknown
  try {
    value = unpackr.unpack(source)
  } catch (cause) {
    // Unreachable when the scan is right; kept so no decoder error can escape uncoded.
    return new CodecError(ErrorCodes.FRAME_MALFORMED, `msgpack decoder refused the frame: ${errorText(cause)}`, { cause })
  }
  if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== 'string') {
    return new CodecError(ErrorCodes.FRAME_MALFORMED, 'frame is not [protocolId: string, body]')
  }
  return { protocol: value[0], body: value[1] }
}

// ---------------------------------------------------------------------------------------------
// The structural pre-scan.

// Per open container: values still expected in it, and whether it is a map (keys at even counts).
let stackLeft = new Float64Array(64)
let stackMap = new Uint8Array(64)

function malformed(message: string): CodecError {
  return new CodecError(ErrorCodes.FRAME_MALFORMED, message)
}
function truncated(offset: number, what: string): CodecError {
  return new CodecError(ErrorCodes.FRAME_MALFORMED, `frame truncated: ${what} at offset ${offset} runs past the end`)
}
function hex(byte: number): string {
  return '0x' + byte.toString(16).padStart(2, '0')
}

/**
 * Walk the msgpack bytes of one frame without decoding them. Returns null when the frame is
 * well formed and within `limits`, else the CodecError describing the first problem.
 * Exported for tests and benchmarks; `decodeFrame` calls it.
 * @param checkUtf8 validate every string as strict UTF-8 (always on for peer bytes)
 */
export function scanFrame(b: Uint8Array, limits: CodecLimits, checkUtf8 = true): CodecError | null {
  const end = b.length
  // Envelope: fixarray of exactly 2, then the protocol id string.
  if (end === 0) return malformed('empty frame')
  if (b[0] !== 0x92) return malformed(`frame must start with 0x92 (a 2-element array), got ${hex(b[0])}`)
  if (end < 2) return truncated(1, 'protocol id')
  let pos = 1
  let t = b[pos++]
  let len: number
  if (t >= 0xa0 && t <= 0xbf) len = t & 0x1f
  else if (t === 0xd9) {
    if (pos + 1 > end) return truncated(pos - 1, 'str8 header')
    len = b[pos++]
  } else if (t === 0xda) {
    if (pos + 2 > end) return truncated(pos - 1, 'str16 header')
    len = (b[pos] << 8) | b[pos + 1]
    pos += 2
  } else if (t === 0xdb) {
    if (pos + 4 > end) return truncated(pos - 1, 'str32 header')
    len = b[pos] * 0x1000000 + ((b[pos + 1] << 16) | (b[pos + 2] << 8) | b[pos + 3])
    pos += 4
  } else return malformed(`protocol id must be a string, got type byte ${hex(t)}`)
  if (len === 0) return malformed('protocol id is empty')
  if (len > limits.maxProtocolIdLength) {
    return malformed(`protocol id of ${len} bytes exceeds maxProtocolIdLength=${limits.maxProtocolIdLength}`)
  }
  if (len > end - pos) return truncated(pos, 'protocol id')
  if (checkUtf8 && !isUtf8(b, pos, pos + len)) return malformed('protocol id is not valid UTF-8')
  pos += len

  // Body: an explicit stack, so hostile nesting cannot overflow the JS stack here.
  const maxDepth = limits.maxDepth
  const maxElements = limits.maxElements
  if (stackLeft.length <= maxDepth) {
    stackLeft = new Float64Array(maxDepth + 1)
    stackMap = new Uint8Array(maxDepth + 1)
  }
  let depth = 0 // open containers
  let left = 1 // values still expected at this level (the body itself at level 0)
  let inMap = 0
  let elements = 0
  for (;;) {
    if (left === 0) {
      if (depth === 0) break
      depth--
      left = stackLeft[depth]
      inMap = stackMap[depth]
      continue
    }
    if (pos >= end) return truncated(pos, 'value')
    const isKey = inMap === 1 && left % 2 === 0
    left--
    const at = pos
    t = b[pos++]

    if (isKey) {
      if (t >= 0xa0 && t <= 0xbf) len = t & 0x1f
      else if (t === 0xd9) {
        if (pos + 1 > end) return truncated(at, 'str8 header')
        len = b[pos++]
      } else if (t === 0xda) {
        if (pos + 2 > end) return truncated(at, 'str16 header')
        len = (b[pos] << 8) | b[pos + 1]
        pos += 2
      } else if (t === 0xdb) {
        if (pos + 4 > end) return truncated(at, 'str32 header')
        len = b[pos] * 0x1000000 + ((b[pos + 1] << 16) | (b[pos + 2] << 8) | b[pos + 3])
        pos += 4
      } else {
        return new CodecError(ErrorCodes.FRAME_FORBIDDEN_KEY, `map key at offset ${at} is not a string (type byte ${hex(t)})`)
      }
      if (len > end - pos) return truncated(at, 'map key')
      if ((len === 9 || len === 11) && isForbiddenKey(b, pos, len)) {
        return new CodecError(
          ErrorCodes.FRAME_FORBIDDEN_KEY,
          `map key '${String.fromCharCode(...b.subarray(pos, pos + len))}' at offset ${at} is forbidden`,
        )
      }
      if (checkUtf8 && !isUtf8(b, pos, pos + len)) return malformed(`map key at offset ${at} is not valid UTF-8`)
      pos += len
      continue
    }

    if (t < 0x80 || t >= 0xe0) continue // positive / negative fixint
    let n = 0 // container entries
    let isMap = 0
    if (t < 0x90) {
      n = t & 0x0f
      isMap = 1
    } else if (t < 0xa0) {
      n = t & 0x0f
      isMap = 0
    } else if (t < 0xc0) {
      len = t & 0x1f
      if (len > end - pos) return truncated(at, 'string')
      if (checkUtf8 && !isUtf8(b, pos, pos + len)) return malformed(`string at offset ${at} is not valid UTF-8`)
      pos += len
      continue
    } else {
      let size = 0 // fixed payload size of a scalar
      switch (t) {
        case 0xc0: // nil
        case 0xc2: // false
        case 0xc3: // true
          continue
        case 0xc1:
          return malformed(`reserved type byte 0xc1 at offset ${at}`)
        case 0xc4: // bin 8
        case 0xd9: // str 8
          if (pos + 1 > end) return truncated(at, 'length header')
          len = b[pos++]
          break
        case 0xc5: // bin 16
        case 0xda: // str 16
          if (pos + 2 > end) return truncated(at, 'length header')
          len = (b[pos] << 8) | b[pos + 1]
          pos += 2
          break
        case 0xc6: // bin 32
        case 0xdb: // str 32
          if (pos + 4 > end) return truncated(at, 'length header')
          len = b[pos] * 0x1000000 + ((b[pos + 1] << 16) | (b[pos + 2] << 8) | b[pos + 3])
          pos += 4
          break
        case 0xc7: // ext 8
        case 0xc8: // ext 16
        case 0xc9: // ext 32
        case 0xd4: // fixext 1
        case 0xd5: // fixext 2
        case 0xd6: // fixext 4
        case 0xd7: // fixext 8
        case 0xd8: // fixext 16
          return new CodecError(
            ErrorCodes.FRAME_EXTENSION,
            `msgpack extension (type byte ${hex(t)}) at offset ${at}: extensions are never accepted`,
          )
        case 0xcc: // uint 8
        case 0xd0: // int 8
          size = 1
          break
        case 0xcd: // uint 16
        case 0xd1: // int 16
          size = 2
          break
        case 0xca: // float 32
        case 0xce: // uint 32
        case 0xd2: // int 32
          size = 4
          break
        case 0xcb: // float 64
        case 0xcf: // uint 64
        case 0xd3: // int 64
          size = 8
          break
        case 0xdc: // array 16
        case 0xde: // map 16
          if (pos + 2 > end) return truncated(at, 'length header')
          n = (b[pos] << 8) | b[pos + 1]
          pos += 2
          break
        case 0xdd: // array 32
        case 0xdf: // map 32
          if (pos + 4 > end) return truncated(at, 'length header')
          n = b[pos] * 0x1000000 + ((b[pos + 1] << 16) | (b[pos + 2] << 8) | b[pos + 3])
          pos += 4
          break
      }
      if (size !== 0) {
        if (size > end - pos) return truncated(at, 'number')
        pos += size
        continue
      }
      if (t <= 0xc6) {
        // bin: skipped by length
        if (len > end - pos) return truncated(at, 'bin')
        pos += len
        continue
      }
      if (t <= 0xdb) {
        // str 8/16/32
        if (len > end - pos) return truncated(at, 'string')
        if (checkUtf8 && !isUtf8(b, pos, pos + len)) return malformed(`string at offset ${at} is not valid UTF-8`)
        pos += len
        continue
      }
      isMap = t >= 0xde ? 1 : 0
    }

    // Open a container of n entries.
    if (depth >= maxDepth) {
      return new CodecError(ErrorCodes.FRAME_TOO_COMPLEX, `body nests deeper than maxDepth=${maxDepth} at offset ${at}`)
    }
    elements += n
    if (elements > maxElements) {
      return new CodecError(ErrorCodes.FRAME_TOO_COMPLEX, `body has more than maxElements=${maxElements} array items and map entries`)
    }
    const values = isMap === 1 ? n * 2 : n
    if (values > end - pos) return truncated(at, isMap === 1 ? 'map' : 'array')
    if (values === 0) continue
    stackLeft[depth] = left
    stackMap[depth] = inMap
    depth++
    left = values
    inMap = isMap
  }
  if (pos !== end) return malformed(`${end - pos} trailing bytes after the frame at offset ${pos}`)
  return null
}

// '__proto__', 'prototype' (9 bytes), 'constructor' (11 bytes), as bytes.
const PROTO = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f]
const PROTOTYPE = [0x70, 0x72, 0x6f, 0x74, 0x6f, 0x74, 0x79, 0x70, 0x65]
const CONSTRUCTOR = [0x63, 0x6f, 0x6e, 0x73, 0x74, 0x72, 0x75, 0x63, 0x74, 0x6f, 0x72]

function isForbiddenKey(b: Uint8Array, p: number, len: number): boolean {
  // Raw byte comparison is exact: strings are strict UTF-8, so non-ASCII bytes never decode to ASCII.
  const word = len === 11 ? CONSTRUCTOR : b[p] === 0x5f ? PROTO : PROTOTYPE
  if (word.length !== len) return false
  for (let i = 0; i < len; i++) if (b[p + i] !== word[i]) return false
  return true
}

const NATIVE_UTF8_MIN = 256

/**
 * Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF, no
 * sequence cut by the end of the string.
 */
export function isUtf8(b: Uint8Array, i: number, end: number): boolean {
  // Long strings go to Node's SIMD validator (same strict rules); its fixed cost (~100 ns with
  // the subarray) only pays off beyond a few hundred bytes.
  if (end - i >= NATIVE_UTF8_MIN) return nativeIsUtf8(b.subarray(i, end))
  while (i < end) {
    // ASCII fast path, four bytes at a time.
    while (i + 4 <= end && (b[i] | b[i + 1] | b[i + 2] | b[i + 3]) < 0x80) i += 4
    if (i >= end) break
    const c = b[i]
    if (c < 0x80) {
      i++
      continue
    }
    if (c < 0xc2) return false // continuation byte, or overlong 2-byte lead
    if (c < 0xe0) {
      if (i + 1 >= end || (b[i + 1] & 0xc0) !== 0x80) return false
      i += 2
      continue
    }
    if (c < 0xf0) {
      if (i + 2 >= end) return false
      const c1 = b[i + 1]
      if (c === 0xe0 ? c1 < 0xa0 || c1 > 0xbf : c === 0xed ? c1 < 0x80 || c1 > 0x9f : (c1 & 0xc0) !== 0x80) return false
      if ((b[i + 2] & 0xc0) !== 0x80) return false
      i += 3
      continue
    }
    if (c < 0xf5) {
      if (i + 3 >= end) return false
      const c1 = b[i + 1]
      if (c === 0xf0 ? c1 < 0x90 || c1 > 0xbf : c === 0xf4 ? c1 < 0x80 || c1 > 0x8f : (c1 & 0xc0) !== 0x80) return false
      if ((b[i + 2] & 0xc0) !== 0x80 || (b[i + 3] & 0xc0) !== 0x80) return false
      i += 4
      continue
    }
    return false
  }
  return true
}

function utf8Length(s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4
      i++
    } else n += 3
  }
  return n
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

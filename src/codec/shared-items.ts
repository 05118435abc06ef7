/**
 * Frames whose lists share items: when one settle sends several bodies that hold the same
 * objects in their lists (pubsub forwarding a message to three peers, each RPC with other
 * messages or control parts besides), each shared item is encoded once, not once per frame.
 *
 * A body that is a plain object with a list holding a plain object (`sharesItems`) comes here
 * with the caller's `items` (the bytes of the items encoded so far, by identity). When none of
 * its items is known yet, it is encoded whole as `encodeFrame` does (one copy of each item, no
 * splicing: many items go out once) and the byte range of each of its small plain-object items
 * in the frame is remembered (a walk over the frame's structure, bin and str payloads skipped).
 * When one is known, the frame is spliced (`spliceFrame`): the envelope, the map and list
 * headers and the keys written by hand, each plain-object item as its remembered bytes (or
 * packed alone and remembered), every other value as msgpackr writes it.
 *
 * A spliced frame is byte for byte what `encodeFrame` writes for the same body — msgpackr with
 * PACK_OPTIONS writes a value the same alone as inside a larger one, every plain object as a
 * map16 of its own enumerable keys in for-in order, a list with the shortest array header, an
 * ASCII key below 32 characters as a fixstr (test/unit/shared-items.test.ts holds it to that) —
 * and it is checked as `encodeFrame` checks its output (maxFrameBytes, then the same scan), so
 * the receiver sees no difference.
 *
 * The caller owns `items`: an item must not change while its bytes are kept, nor a frame they
 * are a view of. FrameEncoder forgets them after every input, the contract it already has for
 * whole bodies (a body emitted is data handed over, not changed within the settle that emitted
 * it; frames are encrypted or batched into new buffers, never changed).
 * @module
 */
import { createSlab, slabPart } from '../../machines/lib/slab.js'
import { checkEncoded, checkProtocolId, encodeFrame, packValue, resolveCodecLimits, unencodable, type CodecLimits } from './frame.js'

type PlainObject = Record<string, unknown>

/** The test msgpackr writes a value as a map with (its constructor is Object). */
function isPlainObject(value: unknown): value is PlainObject {
  return typeof value === 'object' && value !== null && value.constructor === Object
}

/** Whether `body` is written by `encodeSharedFrame`: a plain object with a list whose first item is a plain object. */
export function sharesItems(body: unknown): body is PlainObject {
  if (!isPlainObject(body)) return false
  for (const key in body) {
    const value = body[key]
    if (Array.isArray(value) && value.length > 0 && isPlainObject(value[0])) return true
  }
  return false
}

// Whether msgpackr counts `key` of `object` (its for-in filter, kept exactly).
function ownKey(object: PlainObject, key: string): boolean {
  return typeof object.hasOwnProperty !== 'function' || object.hasOwnProperty(key)
}

/** A key msgpackr writes as a fixstr of its characters (ASCII, at most 31). */
function isShortAscii(key: string): boolean {
  if (key.length >= 0x20) return false
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) >= 0x80) return false
  return true
}

/** A list with at least one plain-object item (its items are then written one by one). */
function hasPlainItem(list: unknown[]): boolean {
  for (let i = 0; i < list.length; i++) if (isPlainObject(list[i])) return true
  return false
}

function arrayHeaderLength(n: number): number {
  return n < 0x10 ? 1 : n < 0x10000 ? 3 : 5
}

// The packed parts of the frame being written, in order (pass 1 fills, pass 2 copies), reused.
const parts: Uint8Array[] = []
// The envelope `0x92 <str protocol>` of the last protocol written.
let lastProtocol = ''
let envelope = new Uint8Array(0)
// Spliced frames are cut from shared buffers (machines/lib/slab.ts), as msgpackr cuts its
// output: each part handed out once, a buffer alive while a frame in it is (a frame is held
// only until it is encrypted or batched). A frame above SLAB_BYTES gets a buffer of its own.
const SLAB_BYTES = 64 * 1024
const slab = createSlab(SLAB_BYTES)

function frameBuffer(size: number): Uint8Array {
  return size > SLAB_BYTES ? new Uint8Array(size) : slabPart(slab, size, 8)
}

/**
 * Items of at most this many encoded bytes are remembered. Splicing saves the encoding of an
 * item's fields, not the copy of its bytes (msgpackr copies a large bin as a splice does), so a
 * large item (a 4 KiB message) gains nothing from it that pays for the splicing.
 */
const REMEMBERED_MAX_BYTES = 1024

/** The bytes of one list item: kept per object for a small plain object, else packed. */
function itemBytes(item: unknown, items: Map<object, Uint8Array>): Uint8Array {
  if (!isPlainObject(item)) return packValue(item)
  let bytes = items.get(item)
  if (bytes === undefined) {
    bytes = packValue(item)
    if (bytes.length <= REMEMBERED_MAX_BYTES) items.set(item, bytes)
  }
  return bytes
}

/**
 * Pass 1: the frame's size after the envelope, with every packed part pushed to `parts` in the
 * order pass 2 writes them.
 */
function measure(body: PlainObject, items: Map<object, Uint8Array>): number {
  let size = 3 // map16 header
  let count = 0
  for (const key in body) {
    if (!ownKey(body, key)) continue
    count++
    if (isShortAscii(key)) size += 1 + key.length
    else size += push(packValue(key))
    const value = body[key]
    if (Array.isArray(value) && value.constructor === Array && hasPlainItem(value)) {
      size += arrayHeaderLength(value.length)
      for (let i = 0; i < value.length; i++) size += push(itemBytes(value[i], items))
    } else size += push(packValue(value))
  }
  if (count > 0xffff) throw new RangeError('Object is too large to serialize with fast 16-bit map size')
  return size
}

function push(part: Uint8Array): number {
  parts.push(part)
  return part.length
}

/** Pass 2: the body written into `out` from `at`, taking the packed parts in order. */
function write(body: PlainObject, out: Uint8Array, at: number): number {
  let p = 0
  const countAt = at
  at += 3
  let count = 0
  for (const key in body) {
    if (!ownKey(body, key)) continue
    count++
    if (isShortAscii(key)) {
      out[at++] = 0xa0 | key.length
      for (let i = 0; i < key.length; i++) out[at++] = key.charCodeAt(i)
    } else at = copy(parts[p++], out, at)
    const value = body[key]
    if (Array.isArray(value) && value.constructor === Array && hasPlainItem(value)) {
      const n = value.length
      if (n < 0x10) out[at++] = 0x90 | n
      else if (n < 0x10000) { out[at++] = 0xdc; out[at++] = n >>> 8; out[at++] = n & 0xff }
      else { out[at++] = 0xdd; out[at++] = n >>> 24; out[at++] = (n >>> 16) & 0xff; out[at++] = (n >>> 8) & 0xff; out[at++] = n & 0xff }
      for (let i = 0; i < n; i++) at = copy(parts[p++], out, at)
    } else at = copy(parts[p++], out, at)
  }
  out[countAt] = 0xde
  out[countAt + 1] = count >>> 8
  out[countAt + 2] = count & 0xff
  return at
}

function copy(part: Uint8Array, out: Uint8Array, at: number): number {
  out.set(part, at)
  return at + part.length
}

/**
 * The frame `[protocol, body]`, as `encodeFrame(protocol, body, limits)` writes it, with the
 * plain-object items of the body's lists taken from `items` when known there, and added to it.
 * @param body a body for which `sharesItems` is true
 * @throws as `encodeFrame`
 */
export function encodeSharedFrame(protocol: string, body: PlainObject, limits: CodecLimits, items: Map<object, Uint8Array>): Uint8Array {
  if (holdsKnownItem(body, items)) return spliceFrame(protocol, body, limits, items)
  const frame = encodeFrame(protocol, body, limits)
  rememberItems(frame, body, items)
  return frame
}

function holdsKnownItem(body: PlainObject, items: Map<object, Uint8Array>): boolean {
  if (items.size === 0) return false
  for (const key in body) {
    const value = body[key]
    if (!Array.isArray(value)) continue
    for (let i = 0; i < value.length; i++) if (items.has(value[i] as object)) return true
  }
  return false
}

/**
 * The byte ranges of `body`'s list items in `frame` (its bytes as `encodeFrame` wrote them, so
 * well formed: walked without checks), remembered as views for the small plain-object ones.
 */
function rememberItems(frame: Uint8Array, body: PlainObject, items: Map<object, Uint8Array>): void {
  let at = skipValue(frame, 1) + 3 // the protocol id, then the body's map16 header
  for (const key in body) {
    if (!ownKey(body, key)) continue
    at = skipValue(frame, at)
    const value = body[key]
    if (Array.isArray(value) && value.constructor === Array && hasPlainItem(value)) {
      at += arrayHeaderLength(value.length)
      for (let i = 0; i < value.length; i++) {
        const end = skipValue(frame, at)
        const item = value[i]
        if (end - at <= REMEMBERED_MAX_BYTES && isPlainObject(item)) items.set(item, frame.subarray(at, end))
        at = end
      }
    } else at = skipValue(frame, at)
  }
}

/** The offset after the msgpack value at `at` of well-formed bytes (no extensions). */
function skipValue(b: Uint8Array, at: number): number {
  let left = 1
  while (left > 0) {
    left--
    const t = b[at++]
    if (t < 0x80 || t >= 0xe0) continue // fixint
    if (t < 0x90) left += 2 * (t & 0x0f) // fixmap
    else if (t < 0xa0) left += t & 0x0f // fixarray
    else if (t < 0xc0) at += t & 0x1f // fixstr
    else if (t === 0xc4 || t === 0xd9) at += 1 + b[at] // bin8, str8
    else if (t === 0xc5 || t === 0xda) at += 2 + ((b[at] << 8) | b[at + 1]) // bin16, str16
    else if (t === 0xc6 || t === 0xdb) at += 4 + uint32(b, at) // bin32, str32
    else if (t === 0xcc || t === 0xd0) at += 1
    else if (t === 0xcd || t === 0xd1) at += 2
    else if (t === 0xca || t === 0xce || t === 0xd2) at += 4
    else if (t === 0xcb || t === 0xcf || t === 0xd3) at += 8
    else if (t === 0xdc) { left += (b[at] << 8) | b[at + 1]; at += 2 }
    else if (t === 0xdd) { left += uint32(b, at); at += 4 }
    else if (t === 0xde) { left += 2 * ((b[at] << 8) | b[at + 1]); at += 2 }
    else if (t === 0xdf) { left += 2 * uint32(b, at); at += 4 }
    // nil, false, true: nothing more (extensions never reach here: the scan refused them)
  }
  return at
}

function uint32(b: Uint8Array, at: number): number {
  return b[at] * 0x1000000 + ((b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3])
}

/**
 * @internal (exported for tests) The frame written by hand around the items' bytes, taken
 * from `items` or packed alone and added to it.
 */
export function spliceFrame(protocol: string, body: PlainObject, limits: CodecLimits, items: Map<object, Uint8Array>): Uint8Array {
  const l = resolveCodecLimits(limits)
  checkProtocolId(protocol, l)
  if (protocol !== lastProtocol) {
    const id = packValue(protocol)
    envelope = new Uint8Array(1 + id.length)
    envelope[0] = 0x92
    envelope.set(id, 1)
    lastProtocol = protocol
  }
  parts.length = 0
  let size: number
  try {
    size = envelope.length + measure(body, items)
  } catch (cause) {
    parts.length = 0
    throw unencodable(protocol, cause)
  }
  const out = frameBuffer(size)
  out.set(envelope, 0)
  write(body, out, envelope.length)
  parts.length = 0
  checkEncoded(protocol, out, l)
  return out
}

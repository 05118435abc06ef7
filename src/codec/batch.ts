/**
 * Batches: several frames to one peer carried in one frame, so they cost one encryption, one
 * WebSocket message and one queue input instead of one each.
 *
 * Wire: a batch is an ordinary frame `[BATCH_PROTOCOL, [part, part, ...]]` whose body is a
 * msgpack array of `bin`, each part the bytes of one whole frame `[protocolId, body]` exactly as
 * it would have been sent alone. It travels only inside the secure channel (like every frame
 * after the handshake), never nests, and never carries the handshake.
 *
 * The sender (src/runtime/conn-edge.ts) batches whatever goes to one connection before the
 * pump lets the event loop turn (or within one settle, under a simulated clock), at most
 * `BATCH_SEND_PARTS` frames and `BATCH_SEND_BYTES` bytes per batch; one frame alone is sent
 * as it is. The receiver accepts up to `MAX_BATCH_PARTS` parts (a peer-controlled bound,
 * above what an honest sender makes) and closes the connection otherwise: `batch-too-large`
 * for more parts, `batch-malformed` for a body that is not a non-empty array of bin, or for a
 * part that is itself a batch. Each part is then checked like a frame of its own (decode,
 * limits, parse), in order, and counts against the connection's frame rate limit.
 * @module
 */
import { CodecError, ErrorCodes } from '../errors.js'

/** The protocol id of a batch frame. */
export const BATCH_PROTOCOL = '/xswarm/batch/1'
/** Most frames a sender puts in one batch. */
export const BATCH_SEND_PARTS = 64
/** Most bytes of frames a sender puts in one batch (a larger frame goes alone). */
export const BATCH_SEND_BYTES = 256 * 1024
/** Most parts a receiver accepts in one batch. */
export const MAX_BATCH_PARTS = 256

// The envelope `0x92 <str BATCH_PROTOCOL>`, written once.
const ENVELOPE = Uint8Array.from([0x92, 0xa0 | BATCH_PROTOCOL.length, ...Array.from(BATCH_PROTOCOL, (c) => c.charCodeAt(0))])

/** Bytes a bin header takes for a part of `length` bytes. */
function binHeaderLength(length: number): number {
  return length < 0x100 ? 2 : length < 0x10000 ? 3 : 5
}

/** Encoded size of a batch's envelope and array header for `count` parts (the parts and their bin headers come on top). */
export function batchOverhead(count: number): number {
  return ENVELOPE.length + (count < 16 ? 1 : count < 0x10000 ? 3 : 5)
}

/**
 * The batch frame of `parts` (whole encoded frames), written into one buffer (each part copied
 * once). `bytes` is the sum of the parts' lengths.
 */
export function encodeBatch(parts: readonly Uint8Array[], bytes: number): Uint8Array {
  let size = batchOverhead(parts.length) + bytes
  for (const part of parts) size += binHeaderLength(part.length)
  const out = new Uint8Array(size)
  out.set(ENVELOPE, 0)
  let at = ENVELOPE.length
  const count = parts.length
  if (count < 16) out[at++] = 0x90 | count
  else if (count < 0x10000) { out[at++] = 0xdc; out[at++] = count >>> 8; out[at++] = count & 0xff }
  else { out[at++] = 0xdd; out[at++] = count >>> 24; out[at++] = (count >>> 16) & 0xff; out[at++] = (count >>> 8) & 0xff; out[at++] = count & 0xff }
  for (const part of parts) {
    const n = part.length
    if (n < 0x100) { out[at++] = 0xc4; out[at++] = n }
    else if (n < 0x10000) { out[at++] = 0xc5; out[at++] = n >>> 8; out[at++] = n & 0xff }
    else { out[at++] = 0xc6; out[at++] = n >>> 24; out[at++] = (n >>> 16) & 0xff; out[at++] = (n >>> 8) & 0xff; out[at++] = n & 0xff }
    out.set(part, at)
    at += n
  }
  return out
}

/**
 * The parts of a decoded batch body (views into the received bytes), or the CodecError the
 * connection closes with. Only the count and the shape are checked here; each part is a frame
 * to decode and check on its own.
 */
export function batchParts(body: unknown, maxParts = MAX_BATCH_PARTS): Uint8Array[] | CodecError {
  if (!Array.isArray(body) || body.length === 0) {
    return new CodecError(ErrorCodes.BATCH_MALFORMED, 'batch body is not a non-empty array of frames')
  }
  if (body.length > maxParts) {
    return new CodecError(ErrorCodes.BATCH_TOO_LARGE, `batch of ${body.length} parts exceeds ${maxParts}`)
  }
  for (const part of body) {
    if (!(part instanceof Uint8Array)) return new CodecError(ErrorCodes.BATCH_MALFORMED, 'a batch part is not bin')
    if (isBatch(part)) return new CodecError(ErrorCodes.BATCH_MALFORMED, 'a batch inside a batch')
  }
  return body as Uint8Array[]
}

/** Whether encoded frame bytes are a batch (their envelope is the batch's). */
function isBatch(frame: Uint8Array): boolean {
  if (frame.length < ENVELOPE.length) return false
  for (let i = 0; i < ENVELOPE.length; i++) if (frame[i] !== ENVELOPE[i]) return false
  return true
}

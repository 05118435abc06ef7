/**
 * The recording format (`createSwarm({ record })`, `xswarm node --record`, `xswarm replay`).
 *
 * A recording is one or more segment files (FILE, FILE.1, FILE.2, …). Each starts with a
 * fixed preamble, `XSWREC` and the format version (u16, little-endian), so a reader of another
 * format says so before it parses anything. Then come records, each a u32 little-endian length
 * and one msgpack value (msgpackr with structured clone, so bytes stay Uint8Array and Sets
 * stay Sets). The first record of a segment is its header; the others are tuples:
 *
 * | record                 | meaning                                                      |
 * |------------------------|--------------------------------------------------------------|
 * | `['s', t]`             | the root started at time t (the node's clock, in ms)         |
 * | `['i', t, input]`      | the root settled `input` at time t (after decryption)        |
 * | `['t', t, seq]`        | the root's timer number `seq` fired at time t                |
 * | `['c', fn, value?]`    | a machine's crypto call and the answer it got (crypto-tape.ts) |
 * | `['e', event]`         | an event the shell made itself (not a machine's)             |
 * | `['z', reason]`        | the recording ended (`closed`, `size-limit`, `encode-failed`)  |
 *
 * Times are the node's own clock readings, exactly as its machines saw them: a replay hands the
 * machines the same numbers, so what they compute from them (a ping's round trip, a deadline) is
 * the same to the last bit. (Format 1 kept times relative to the start, and `a - b` of relative
 * times is not always `a - b` of the clock's.) Shown times are relative to the `s` record.
 *
 * Inputs are numbered from 1 in the order of `i` and `t` records (`xswarm replay --until N`).
 * @module
 */
import { Packr } from 'msgpackr'
import { XswarmError } from '../errors.js'
import type { Input } from '../../machines/vocab.js'

/** This build's recording format. A recording of another format is refused with `recording-version`. */
export const RECORDING_FORMAT = 2
export const MAGIC = new TextEncoder().encode('XSWREC')
export const PREAMBLE_BYTES = MAGIC.length + 2
/** Largest record a reader accepts (a frame is at most maxFrameBytes; the header is small). */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024

/** Codes of RecordingError. */
export const RecordingCodes = {
  /** Not a recording, or made by another format version (the message names both versions). */
  VERSION: 'recording-version',
  /** Truncated or corrupt: a record is cut short or does not decode. */
  CORRUPT: 'recording-corrupt',
  /** The replayed node asked for something else than the recording holds (another build, or protocols that differ). */
  DIVERGED: 'replay-diverged',
  /** The recording needs something replay was not given (a user protocol). */
  MISSING: 'replay-missing-protocol',
} as const

/** A recording that cannot be read or replayed; `code` is one of RecordingCodes. */
export class RecordingError extends XswarmError {
  override name = 'RecordingError'
}

/** What replay needs to rebuild the node, written once at the start of the first segment. */
export interface RecordingHeader {
  kind: 'xswarm-recording'
  format: number
  /** The xswarm version that recorded. */
  xswarm: string
  /** Ties the segments of one recording together. */
  id: string
  segment: number
  /** The node's options, less secrets and anything that is not data (see options.ts). */
  options: Record<string, unknown>
  peerId: string
  identityKey: Uint8Array
  /** The Noise static public key and the identity signature binding it (both sent to every peer). */
  staticPublicKey: Uint8Array
  identitySignature: Uint8Array
  /** Whether the node had a swarm key (its bytes are never recorded). */
  privateNetwork: boolean
  /** The root machine's seed (protocol seeds and ephemeral keys derive from it; see SECURITY.md). */
  seed: Uint8Array
  /** Ids of the protocols the node ran, in order. */
  protocols: string[]
}

/** The header of a continuation segment (FILE.1, …). */
export interface SegmentHeader { kind: 'xswarm-recording'; format: number; xswarm: string; id: string; segment: number }

export type RecordTuple =
  | ['s', number]
  | ['i', number, Input]
  | ['t', number, number]
  | ['c', number, unknown?]
  | ['e', { type: string; [key: string]: unknown }]
  | ['z', string]

const packr = new Packr({ useRecords: false, structuredClone: true, moreTypes: true, int64AsType: 'bigint' })

/** The preamble of every segment. */
export function preamble(): Uint8Array {
  const out = new Uint8Array(PREAMBLE_BYTES)
  out.set(MAGIC)
  new DataView(out.buffer).setUint16(MAGIC.length, RECORDING_FORMAT, true)
  return out
}

/** One record, framed (length + msgpack). Throws if the value cannot be encoded. */
export function frameRecord(value: unknown): Uint8Array {
  const body = packr.pack(value)
  const out = new Uint8Array(4 + body.length)
  new DataView(out.buffer).setUint32(0, body.length, true)
  out.set(body, 4)
  return out
}

/** Check a segment's preamble; throws RecordingError `recording-version` naming what it found. */
export function checkPreamble(bytes: Uint8Array, name: string): void {
  const magic = bytes.subarray(0, MAGIC.length)
  if (bytes.length < PREAMBLE_BYTES || magic.some((b, i) => b !== MAGIC[i])) {
    throw new RecordingError(RecordingCodes.VERSION, `${name} is not an xswarm recording (it does not start with XSWREC)`)
  }
  const format = new DataView(bytes.buffer, bytes.byteOffset).getUint16(MAGIC.length, true)
  if (format !== RECORDING_FORMAT) {
    throw new RecordingError(RecordingCodes.VERSION, `${name} is a recording of format ${format}; this xswarm reads format ${RECORDING_FORMAT} (replay it with the xswarm version that recorded it)`)
  }
}

/** The records of one segment, after its preamble; throws RecordingError `recording-corrupt` on a cut or bad record. */
export function* readRecords(bytes: Uint8Array, name: string): Generator<unknown> {
  checkPreamble(bytes, name)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let at = PREAMBLE_BYTES
  for (let n = 1; at < bytes.length; n++) {
    if (at + 4 > bytes.length) throw corrupt(name, n, at, 'its length is cut short (the file is truncated)')
    const length = view.getUint32(at, true)
    if (length > MAX_RECORD_BYTES) throw corrupt(name, n, at, `it declares ${length} bytes (more than ${MAX_RECORD_BYTES})`)
    if (at + 4 + length > bytes.length) throw corrupt(name, n, at, `it needs ${length} bytes, ${bytes.length - at - 4} are left (the file is truncated)`)
    let value: unknown
    try {
      value = packr.unpack(bytes.subarray(at + 4, at + 4 + length))
    } catch (error) {
      throw corrupt(name, n, at, `it does not decode (${(error as Error).message})`)
    }
    at += 4 + length
    yield value
  }
}

function corrupt(name: string, n: number, at: number, why: string): RecordingError {
  return new RecordingError(RecordingCodes.CORRUPT, `${name}: record ${n} at byte ${at} is corrupt: ${why}`)
}

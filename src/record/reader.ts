/**
 * Reading a recording back: its segments in order, its header, and its records as the replay
 * asks for them (inputs for the queue, answers for the crypto tape).
 * @module
 */
import { existsSync, readFileSync } from 'node:fs'
import type { Input } from '../../machines/vocab.js'
import { readRecords, RecordingCodes, RecordingError, type RecordingHeader, type SegmentHeader } from './format.js'
import { segmentPath } from './sink.js'

/** A recorded input: an input for the root, or the number of a machine timer that fired. */
export type RecordedInput = { time: number; input: Input; timer?: undefined } | { time: number; timer: number; input?: undefined }

/** The bytes of every segment of the recording at `path` (FILE, FILE.1, … while they exist). */
export function readSegments(path: string): Array<{ name: string; bytes: Uint8Array }> {
  const out: Array<{ name: string; bytes: Uint8Array }> = []
  for (let k = 0; k === 0 || existsSync(segmentPath(path, k)); k++) {
    const name = segmentPath(path, k)
    let bytes: Uint8Array
    try {
      bytes = readFileSync(name)
    } catch (error) {
      throw new Error(`cannot read the recording ${name}: ${(error as Error).message}`, { cause: error })
    }
    out.push({ name, bytes })
  }
  return out
}

/** The records of a recording, in order, with its header read and checked. */
export class RecordingReader {
  readonly header: RecordingHeader
  /** The node's clock when its root started (the `s` record). */
  start = 0
  /** The node's clock at the input most recently taken (at the start until one is taken). */
  time = 0
  /** Inputs taken so far (the number of the latest). */
  taken = 0
  /** Why the recording ended (`closed`, `size-limit`, …), once its end record was read; undefined if it just stops. */
  endReason: string | undefined
  /**
   * The first divergence found. A machine's crypto call that diverges throws inside an XState
   * action, where the swarm would take it for a protocol failure; the replay checks this after
   * every input instead and stops with it.
   */
  diverged: RecordingError | undefined
  /** Events the shell made, read since the last call of `shellEvents`. */
  readonly #shellEvents: Array<{ type: string; [key: string]: unknown }> = []
  readonly #records: Iterator<unknown>
  /** A record read ahead in the constructor (a recording without its start mark). */
  #ahead: IteratorResult<unknown> | undefined

  constructor(segments: Array<{ name: string; bytes: Uint8Array }>) {
    this.#records = chain(segments)
    const first = this.#records.next()
    const header = first.done ? undefined : (first.value as RecordingHeader)
    if (!header || header.kind !== 'xswarm-recording' || header.segment !== 0) {
      throw new RecordingError(RecordingCodes.CORRUPT, `${segments[0]?.name ?? 'the recording'} has no recording header`)
    }
    this.header = header
    // The start mark comes first, so the replayed clock reads the live one's time from the start.
    const mark = this.#records.next()
    if (!mark.done && Array.isArray(mark.value) && mark.value[0] === 's') this.start = this.time = mark.value[1] as number
    else this.#ahead = mark
  }

  /** Time since the start, in ms (what a replay shows). */
  get elapsed(): number {
    return this.time - this.start
  }

  /** The next input, or undefined at the end (or at the end record). */
  nextInput(): RecordedInput | undefined {
    for (;;) {
      const r = this.#next()
      if (r === undefined) return undefined
      switch (r[0]) {
        case 'i': return this.#took({ time: r[1] as number, input: r[2] as Input })
        case 't': return this.#took({ time: r[1] as number, timer: r[2] as number })
        case 'c': throw this.divergence(`input ${this.taken}: the recording has a crypto answer (#${String(r[1])}) the replayed node did not ask for`)
        default: throw new RecordingError(RecordingCodes.CORRUPT, `unknown record ${JSON.stringify(r[0])} after input ${this.taken}`)
      }
    }
  }

  /** The next crypto answer, `[fn, value]`; a divergence when the next record is not one. */
  nextCrypto(): [number, unknown] {
    const r = this.#next()
    if (r === undefined || r[0] !== 'c') {
      throw this.divergence(`input ${this.taken}: the replayed node asked for a crypto answer, the recording has ${r === undefined ? 'ended' : `a ${String(r[0])} record`} here`)
    }
    return [r[1] as number, r[2]]
  }

  /** Note a divergence (the first one is kept) and return it, to be thrown. */
  divergence(message: string): RecordingError {
    const error = new RecordingError(RecordingCodes.DIVERGED, message)
    this.diverged ??= error
    return error
  }

  /** Events the shell made that were read since the last call. */
  shellEvents(): Array<{ type: string; [key: string]: unknown }> {
    return this.#shellEvents.splice(0)
  }

  #took(input: RecordedInput): RecordedInput {
    this.taken++
    this.time = input.time
    return input
  }

  /** The next input or crypto record; the start mark is skipped and shell events are kept aside. */
  #next(): unknown[] | undefined {
    for (;;) {
      if (this.endReason !== undefined) return undefined
      const step = this.#ahead ?? this.#records.next()
      this.#ahead = undefined
      if (step.done) return undefined
      const r = step.value
      if (!Array.isArray(r) || typeof r[0] !== 'string') throw new RecordingError(RecordingCodes.CORRUPT, `a record after input ${this.taken} is not a record tuple`)
      if (r[0] === 'z') this.endReason = String(r[1])
      else if (r[0] === 'e') this.#shellEvents.push(r[1] as never)
      else if (r[0] !== 's') return r
    }
  }
}

/** The records of all segments, each segment's own header checked and skipped. */
function* chain(segments: Array<{ name: string; bytes: Uint8Array }>): Generator<unknown> {
  let id: string | undefined
  for (const [k, { name, bytes }] of segments.entries()) {
    const records = readRecords(bytes, name)
    const first = records.next()
    const header = first.done ? undefined : (first.value as SegmentHeader)
    if (!header || header.kind !== 'xswarm-recording' || header.segment !== k || (id !== undefined && header.id !== id)) {
      throw new RecordingError(RecordingCodes.CORRUPT, `${name} is not segment ${k} of this recording`)
    }
    id = header.id
    if (k === 0) yield header
    yield* records
  }
}

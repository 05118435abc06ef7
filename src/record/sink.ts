/**
 * Where a recording's bytes go: segment files with rotation, or the user's writable sink.
 *
 * Policy (bounded, and nothing lost silently): a file recording is split into segments FILE,
 * FILE.1, FILE.2, … of at most `maxBytes` each (a record never spans two); when a record would
 * need segment number `maxSegments`, recording stops: the last segment ends with an end record
 * saying `size-limit`, and the swarm emits `record.stopped` once. Old segments are never
 * deleted, since replay needs a recording from its start. A writable sink gets one stream; it
 * stops at `maxBytes` in total the same way.
 *
 * Writes are batched per turn of the event loop (one `writeSync` per turn, and at once past
 * 256 KiB), and flushed when the swarm closes and when the process exits.
 * @module
 */
import { closeSync, openSync, writeSync } from 'node:fs'

/** A writable the recording is streamed to (a Node stream works: `write` and `end`). */
export interface RecordSink {
  write(chunk: Uint8Array): unknown
  end?(): unknown
}

export interface RecordOptions {
  /** Segment files FILE, FILE.1, … (exclusive with `sink`). */
  path?: string
  /** Or a writable sink. */
  sink?: RecordSink
  /** Bytes per segment (a sink: in total). Default 64 MiB. */
  maxBytes?: number
  /** Segments at most, FILE included (files only). Default 16. */
  maxSegments?: number
}

export const DEFAULT_RECORD_LIMITS = { maxBytes: 64 * 1024 * 1024, maxSegments: 16 }
const FLUSH_BYTES = 256 * 1024

/** The options a user gave (`record: 'file'`, a sink, or RecordOptions), checked. */
export function resolveRecordOptions(option: unknown): Required<Pick<RecordOptions, 'maxBytes' | 'maxSegments'>> & Pick<RecordOptions, 'path' | 'sink'> {
  const o: RecordOptions = typeof option === 'string' ? { path: option } : isSink(option) ? { sink: option } : (option as RecordOptions)
  if (typeof o !== 'object' || o === null) throw new TypeError('"options.record" expected a file path, a writable sink or { path | sink, maxBytes?, maxSegments? }')
  for (const key of Object.keys(o)) if (!['path', 'sink', 'maxBytes', 'maxSegments'].includes(key)) throw new RangeError(`"options.record.${key}" is not known (known: path, sink, maxBytes, maxSegments)`)
  if ((o.path === undefined) === (o.sink === undefined)) throw new TypeError('"options.record" expected exactly one of path and sink')
  if (o.path !== undefined && (typeof o.path !== 'string' || o.path.length === 0)) throw new TypeError('"options.record.path" expected a file path string')
  if (o.sink !== undefined && !isSink(o.sink)) throw new TypeError('"options.record.sink" expected an object with a write(chunk) method')
  const maxBytes = o.maxBytes ?? DEFAULT_RECORD_LIMITS.maxBytes
  const maxSegments = o.maxSegments ?? DEFAULT_RECORD_LIMITS.maxSegments
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 4096) throw new RangeError(`"options.record.maxBytes" expected an integer ≥ 4096, got ${maxBytes}`)
  if (!Number.isSafeInteger(maxSegments) || maxSegments < 1) throw new RangeError(`"options.record.maxSegments" expected an integer ≥ 1, got ${maxSegments}`)
  return { ...o, maxBytes, maxSegments }
}

function isSink(value: unknown): value is RecordSink {
  return typeof value === 'object' && value !== null && typeof (value as RecordSink).write === 'function'
}

/** The file of segment `k` of a recording at `path`. */
export function segmentPath(path: string, k: number): string {
  return k === 0 ? path : `${path}.${k}`
}

/** Segmented, bounded, batched output (see the module comment). */
export class SegmentWriter {
  readonly #options: ReturnType<typeof resolveRecordOptions>
  /** Starts each segment (preamble and its header), given the segment number. */
  readonly #opening: (segment: number) => Uint8Array[]
  #fd: number | undefined
  #segment = 0
  #segmentBytes = 0
  #pending: Uint8Array[] = []
  #pendingBytes = 0
  #scheduled = false
  #closed = false
  readonly #onExit = (): void => this.flush()

  constructor(options: ReturnType<typeof resolveRecordOptions>, opening: (segment: number) => Uint8Array[]) {
    this.#options = options
    this.#opening = opening
    this.#open(0)
    process.once?.('exit', this.#onExit)
  }

  /**
   * Append one framed record; false when it does not fit within the bounds (the caller ends
   * the recording with `end`, whose record is always given room).
   */
  write(record: Uint8Array): boolean {
    if (this.#closed) return false
    if (this.#segmentBytes + record.length > this.#options.maxBytes) {
      if (this.#options.sink || this.#segment + 1 >= this.#options.maxSegments) return false
      this.flush()
      closeSync(this.#fd!)
      this.#open(this.#segment + 1)
    }
    this.#push(record)
    return true
  }

  /** Write the last record (whatever the bounds: it is a few bytes), flush and close. */
  end(record: Uint8Array): void {
    if (this.#closed) return
    this.#push(record)
    this.flush()
    this.#closed = true
    process.removeListener?.('exit', this.#onExit)
    if (this.#fd !== undefined) closeSync(this.#fd)
    this.#options.sink?.end?.()
  }

  flush(): void {
    if (this.#pending.length === 0) return
    const chunk = this.#pending.length === 1 ? this.#pending[0] : Buffer.concat(this.#pending)
    this.#pending = []
    this.#pendingBytes = 0
    if (this.#fd !== undefined) {
      for (let at = 0; at < chunk.length;) at += writeSync(this.#fd, chunk, at)
    } else {
      this.#options.sink!.write(chunk)
    }
  }

  #open(segment: number): void {
    this.#segment = segment
    this.#segmentBytes = 0
    if (this.#options.path !== undefined) this.#fd = openSync(segmentPath(this.#options.path, segment), 'w', 0o600)
    for (const chunk of this.#opening(segment)) this.#push(chunk)
  }

  #push(chunk: Uint8Array): void {
    this.#pending.push(chunk)
    this.#pendingBytes += chunk.length
    this.#segmentBytes += chunk.length
    if (this.#pendingBytes >= FLUSH_BYTES) this.flush()
    else if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(() => {
        this.#scheduled = false
        if (!this.#closed) this.flush()
      })
    }
  }
}

/**
 * Readable log lines and tables for the command line: times relative to start, short peer
 * ids (`node2(3fK9…)`), aligned columns, and the JSON form of swarm events.
 * @module
 */
import { base64 } from '@scure/base'

/** A clock that prints the time since it was made: `  +1.234s`. */
export class Stopwatch {
  readonly #start = performance.now()

  /** Milliseconds since start. */
  ms(): number {
    return performance.now() - this.#start
  }

  /** `+S.mmms`, right-aligned to 9 characters (up to an hour stays aligned). */
  stamp(): string {
    return `+${(this.ms() / 1000).toFixed(3)}s`.padStart(9)
  }
}

/** The first characters of a peer id and an ellipsis: `3fK9…`. */
export function shortId(peerId: string, length = 4): string {
  return peerId.length <= length ? peerId : `${peerId.slice(0, length)}…`
}

/** `ws://127.0.0.1:4001/p2p/<id>` → `ws://127.0.0.1:4001` (the transport part only). */
export function withoutPeerId(address: string): string {
  const i = address.indexOf('/p2p/')
  return i < 0 ? address : address.slice(0, i)
}

/** A round-trip time in ms, two decimals: `1.23 ms`. */
export function formatMs(ms: number): string {
  return `${ms.toFixed(2)} ms`
}

export type Align = 'left' | 'right'

/**
 * Format rows as aligned columns (two spaces apart), with a header row. Numbers and other
 * right-aligned columns line up on their last character.
 */
export function table(headers: string[], rows: string[][], align: Align[] = []): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (align[i] === 'right' ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd()
  return [line(headers), ...rows.map(line)]
}

/** Minimum, maximum, mean and count of a series (NaN-free: an empty series gives count 0). */
export class Series {
  count = 0
  sum = 0
  min = Infinity
  max = -Infinity

  add(value: number): void {
    this.count++
    this.sum += value
    if (value < this.min) this.min = value
    if (value > this.max) this.max = value
  }

  get mean(): number {
    return this.count === 0 ? NaN : this.sum / this.count
  }
}

/** `1.23`, or `-` when there is no value. */
export function fixed(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-'
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Bytes as text when they are valid UTF-8, else undefined. */
export function asText(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes)
  } catch {
    return undefined
  }
}

/**
 * One swarm event as one JSON line. Bytes (`pubsub.message` data) are written as base64, and a
 * `text` field is added when they are valid UTF-8.
 */
export function eventToJson(event: { type: string } & Record<string, unknown>): string {
  const extra: Record<string, unknown> = {}
  if (event.data instanceof Uint8Array) {
    const text = asText(event.data)
    if (text !== undefined) extra.text = text
  }
  return JSON.stringify({ ...event, ...extra }, (_key, value) =>
    value instanceof Uint8Array ? base64.encode(value) : typeof value === 'bigint' ? value.toString() : value,
  )
}

/** Keep `node x | head` from crashing on EPIPE: once the reader is gone, drop output. */
export function ignoreBrokenPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error
    })
  }
}

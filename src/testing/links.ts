/**
 * The simulated network's links: latency, loss and partitions between transports, all drawn
 * from the simulation's seed (the `MemoryLinks` seam of src/transport/memory.ts).
 *
 * - Latency: every link (an unordered pair of transports) gets a base one-way delay, uniform
 *   in `latency.min..max` and fixed for the run (drawn from a hash of the seed and the pair, so
 *   adding or removing a node changes no other link); every message adds a jitter drawn from an
 *   exponential distribution of mean `latency.jitter`, capped at 10× that mean. The transport
 *   keeps the items of one connection in order, so jitter reorders messages only between
 *   connections, as TCP does.
 * - Loss: a message is lost with probability `loss`; like a real transport, the connection
 *   then breaks (both ends see `connection-lost`) rather than silently missing a frame.
 * - Partitions: `partition(groupOf)` puts transports in groups; a message across groups is
 *   lost (so the connection breaks) and a dial across them fails with `unreachable`.
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { createRng, nextFloat, type Rng } from '../../machines/lib/rng.js'
import type { MemoryLinks } from '../transport/memory.js'

/** One-way latency of the simulated links (ms). */
export interface LatencyOptions {
  /** Smallest base delay of a link. Default 0. */
  min?: number
  /** Largest base delay of a link. Default 0. */
  max?: number
  /** Mean of the per-message jitter (exponential). Default 0. */
  jitter?: number
}

export interface LinkOptions {
  latency?: LatencyOptions
  /** Probability that a message is lost (and its connection breaks). Default 0. */
  loss?: number
}

export class LinkModel implements MemoryLinks {
  private readonly rng: Rng
  private readonly base = new Map<number, number>()
  private groupOf: ((transport: number) => number) | undefined
  private min = 0
  private max = 0
  private jitter = 0
  private loss = 0

  constructor(readonly seed: number, readonly now: () => number, options: LinkOptions = {}) {
    this.rng = createRng(seedBytes(`links/${seed}`))
    this.configure(options)
  }

  /** Change latency and loss from now on (messages in flight keep their arrival times). */
  configure(options: LinkOptions): void {
    const l = options.latency ?? {}
    this.min = check('latency.min', l.min ?? this.min, 0, 3_600_000)
    this.max = check('latency.max', l.max ?? Math.max(this.max, this.min), this.min, 3_600_000)
    this.jitter = check('latency.jitter', l.jitter ?? this.jitter, 0, 3_600_000)
    this.loss = check('loss', options.loss ?? this.loss, 0, 1)
    this.base.clear()
  }

  transit(from: number, to: number): number | 'lost' {
    if (!this.reachable(from, to)) return 'lost'
    if (this.loss > 0 && nextFloat(this.rng) < this.loss) return 'lost'
    let delay = this.linkBase(from, to)
    if (this.jitter > 0) delay += Math.min(10 * this.jitter, Math.floor(-Math.log(1 - nextFloat(this.rng)) * this.jitter))
    return delay
  }

  reachable(from: number, to: number): boolean {
    return this.groupOf === undefined || this.groupOf(from) === this.groupOf(to)
  }

  /** Split the network: transports in different groups cannot reach each other. */
  partition(groupOf: (transport: number) => number): void {
    this.groupOf = groupOf
  }

  heal(): void {
    this.groupOf = undefined
  }

  private linkBase(a: number, b: number): number {
    if (this.max === 0) return 0
    const key = a < b ? a * 1_000_003 + b : b * 1_000_003 + a
    let delay = this.base.get(key)
    if (delay === undefined) {
      const h = seedBytes(`link/${this.seed}/${key}`)
      const u = new DataView(h.buffer, h.byteOffset).getUint32(0) / 2 ** 32
      delay = this.min + Math.floor(u * (this.max - this.min + 1))
      this.base.set(key, delay)
    }
    return delay
  }
}

function seedBytes(text: string): Uint8Array {
  return sha256(new TextEncoder().encode(text))
}

function check(name: string, value: number, lo: number, hi: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < lo || value > hi) {
    throw new RangeError(`"${name}" expected a number in ${lo}..${hi}, got ${String(value)}`)
  }
  return value
}

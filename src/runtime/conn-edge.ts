/**
 * The per-connection edge: one socket's bytes from arrival to checked input, and frames back out.
 *
 * How a frame travels in:
 * 1. arrival (`data`): counted against the connection's rate limit, then queued as a raw frame
 *    (the socket is paused when the queue, or a still-handshaking connection, is over its bound);
 * 2. taken (`take`, called by the pump in queue order): decrypted with the connection's keys as
 *    they are at that point of the queue, decoded, parsed by its protocol, and handed to the
 *    root as `io.conn.frame`.
 * An offence is an input at its place in the queue: a frame over the rate limit becomes
 * `io.conn.invalid` (nothing more is read after it), and a frame that fails to decrypt, decode
 * or parse becomes `io.conn.invalid` when it is taken. A close (`closed`) is an input too,
 * queued behind the frames that arrived before it; the pump forgets the edge only when it takes
 * that input. So neither an offence nor a close takes back frames that arrived before it: they
 * are delivered first, whenever the user gets to them. Only what is behind an offence is skipped.
 * @module
 */
import type { FrameMetrics } from '../metrics/prometheus.js'
import type { CryptoSuite } from '../../machines/lib/crypto.js'
import type { Limits } from '../../machines/lib/limits.js'
import { decryptWithAd, encryptWithAd, encryptWithAdDetached, type CipherState } from '../../machines/secure/cipher-state.js'
import { HANDSHAKE_PROTOCOL } from '../../machines/handshake.machine.js'
import type { CipherKeys, ConnFrame, Input } from '../../machines/vocab.js'
import { CodecError } from '../errors.js'
import { BATCH_PROTOCOL, BATCH_SEND_BYTES, BATCH_SEND_PARTS, batchParts, encodeBatch } from '../codec/batch.js'
import { tryDecodeFrame, type CodecLimits, type Frame } from '../codec/frame.js'
import type { Conn, ConnHandler } from '../transport/transport.js'
import type { Scheduler, TimerInput } from './clock.js'
import type { QueueLoad, SlowReaders } from './pressure.js'
import { TokenBucket } from './token-bucket.js'

/** Bytes from a socket, checked when taken (the connection's keys are known only then). */
export interface RawFrame { type: 'raw'; connId: number; bytes: Uint8Array }

/** What the queue holds: inputs, timers that fired, and raw frames. */
export type Queued = Input | TimerInput | RawFrame

/** Counters a user can read with `swarm.stats()`. */
export interface DriverStats {
  inputs: number; framesIn: number; framesOut: number; bytesIn: number; bytesOut: number; dropped: number; paused: number
}

/** What an edge shares with the pump (src/runtime/driver.ts). */
export interface EdgeHost {
  readonly limits: Limits
  readonly scheduler: Scheduler
  readonly suite: CryptoSuite
  readonly codec: CodecLimits
  readonly parsers: ReadonlyMap<string, (body: unknown) => unknown>
  /** Protocols' `merge` (ProtocolDefinition.merge), by protocol id. */
  readonly mergers: ReadonlyMap<string, (first: unknown, next: unknown) => unknown>
  readonly stats: DriverStats
  readonly metrics?: FrameMetrics
  readonly load: QueueLoad
  readonly slowReaders: SlowReaders
  enqueue(item: Queued): void
  /** This edge holds frames in its batch: the host flushes it before the event loop turns. */
  holding(edge: ConnEdge): void
}

const EMPTY = new Uint8Array(0)
/**
 * Frames of this many bytes and more go out as ciphertext and tag apart when the suite and the
 * transport can (where the Node suite's AEAD is node:crypto's, whose output is a buffer of its
 * own: joining the tag to it was a copy of the frame). Smaller ones are sealed in one buffer.
 * Received frames are decrypted into a buffer of their own at every size: decrypting a large one
 * over its received bytes (libsodium) saved a buffer but made the light load after a busy phase
 * slower at n = 30, 64 KiB (bench/README.md, "the n = 10, 64 KiB light phase is a phase of full GCs").
 */
const DETACHED_FROM_BYTES = 8192
type DetachingSuite = CryptoSuite & Pick<Required<CryptoSuite>, 'aeadEncryptDetached'>
/** Room in a batch frame for its envelope and the parts' bin headers (17 + 3 + 5 per part). */
const BATCH_SLACK = 20 + 5 * BATCH_SEND_PARTS

export class ConnEdge implements ConnHandler {
  readonly id: number
  readonly conn: Conn
  readonly host: EdgeHost
  sendCipher: CipherState | null = null
  recvCipher: CipherState | null = null
  /** Bytes from the socket are still queued (false after an offence or the close). */
  reading = true
  /** Frames still go out (false once the socket closed, an offence was reached, or the peer reads too slowly). */
  writing = true
  /** The queue reached an offence of this connection: its frames still queued behind it are skipped. */
  failed = false
  paused = false
  /** Raw frames of this connection waiting in the queue. */
  queuedFrames = 0
  private readonly frameBudget: TokenBucket
  private readonly byteBudget: TokenBucket
  /** Frames waiting to leave in one batch (see `write`), and their bytes. */
  private readonly pending: Uint8Array[] = []
  private pendingBytes = 0
  /** Most bytes of frames in one batch: within the frame limit, whatever the parts' headers take. */
  private readonly batchBytes: number

  constructor(host: EdgeHost, id: number, conn: Conn) {
    this.host = host
    this.id = id
    this.conn = conn
    const now = host.scheduler.now()
    this.frameBudget = new TokenBucket(host.limits.maxFramesPerSecond, now)
    this.byteBudget = new TokenBucket(host.limits.maxBytesPerSecond, now)
    this.batchBytes = Math.min(BATCH_SEND_BYTES, host.codec.maxFrameBytes - BATCH_SLACK)
  }

  // -------------------------------------------------------------------------------------------
  // Arrival (transport callbacks): only count and queue.

  data(bytes: Uint8Array): void {
    if (!this.reading) return
    const host = this.host
    host.stats.framesIn++
    host.stats.bytesIn += bytes.length
    const now = host.scheduler.now()
    // Both buckets are charged, so neither is left full by a frame the other refused.
    const withinFrames = this.frameBudget.take(1, now)
    if (!(this.byteBudget.take(bytes.length, now) && withinFrames)) {
      this.reading = false
      host.enqueue({ type: 'io.conn.invalid', connId: this.id, reason: 'rate-limit' })
      return
    }
    host.load.added(bytes.length)
    this.queuedFrames++
    host.enqueue({ type: 'raw', connId: this.id, bytes })
    if (this.paused) return
    if (host.load.over(false)) {
      host.load.pausedByLoad = true
      this.pause()
    } else if (this.overQuota()) {
      this.pause()
    }
  }

  closed(reason: string, byRemote: boolean): void {
    this.reading = false
    this.writing = false
    if (this.paused) {
      this.paused = false
      this.host.stats.paused--
    }
    this.host.enqueue({ type: 'io.conn.closed', connId: this.id, reason: byRemote ? remoteReason(reason) : reason, byRemote })
  }

  // -------------------------------------------------------------------------------------------
  // Taken (by the pump, in queue order).

  /**
   * One of this connection's raw frames, taken: the checked input (several for a batch, in
   * order), or nothing when behind an offence.
   */
  take(bytes: Uint8Array): Input | Input[] | undefined {
    this.queuedFrames--
    if (this.paused && !this.overQuota() && !this.host.load.over(true)) this.resume()
    if (this.failed) return undefined
    let plain: Uint8Array | null = bytes
    if (this.recvCipher) {
      plain = decryptWithAd(this.host.suite, this.recvCipher, EMPTY, bytes)
      if (plain === null) return this.invalid('decrypt-failed')
    }
    const frame = tryDecodeFrame(plain, this.host.codec)
    if (frame instanceof CodecError) return this.invalid(frame.code)
    if (frame.protocol === BATCH_PROTOCOL && this.recvCipher) return this.takeBatch(frame.body)
    return this.checked(frame, plain.length)
  }

  /**
   * The parts of a batch, each checked as a frame and counted against the rate limit, in order;
   * consecutive frames of a protocol that merges its messages become one input (`mergeRun`).
   */
  private takeBatch(body: unknown): Input | Input[] {
    const parts = batchParts(body)
    if (parts instanceof CodecError) return this.invalid(parts.code)
    const inputs: Input[] = []
    const now = this.host.scheduler.now()
    let last: ConnFrame | undefined
    for (let i = 0; i < parts.length; i++) {
      // The batch was counted as one frame when it arrived; every further part counts now.
      const input = i > 0 && !this.frameBudget.take(1, now) ? this.invalid('rate-limit') : this.checkedPart(parts[i])
      if (input.type === 'io.conn.invalid') {
        inputs.push(input)
        break
      }
      if (last !== undefined && input.type === 'io.conn.frame' && this.mergeRun(last, input)) continue
      inputs.push(input)
      last = input.type === 'io.conn.frame' ? input : undefined
    }
    return inputs
  }

  /** Fold `next` into `last` when both are frames of one protocol and its `merge` combines them. */
  private mergeRun(last: ConnFrame, next: ConnFrame): boolean {
    if (next.protocol !== last.protocol) return false
    const merge = this.host.mergers.get(next.protocol)
    if (merge === undefined) return false
    const merged = merge(last.body, next.body)
    if (merged === undefined) return false
    last.body = merged
    return true
  }

  private checkedPart(bytes: Uint8Array): Input {
    const frame = tryDecodeFrame(bytes, this.host.codec)
    return frame instanceof CodecError ? this.invalid(frame.code) : this.checked(frame, bytes.length)
  }

  /** A decoded frame as the root's input: parsed by its protocol, or the offence. */
  private checked(frame: Frame, length: number): Input {
    this.host.metrics?.frame('in', frame.protocol, length)
    if (!this.recvCipher && frame.protocol !== HANDSHAKE_PROTOCOL) return this.invalid('protocol-violation')
    const parse = this.host.parsers.get(frame.protocol)
    if (!parse) return { type: 'io.conn.frame', connId: this.id, protocol: frame.protocol, body: frame.body }
    const body = parse(frame.body)
    if (body === undefined) return this.invalid('invalid-message')
    return { type: 'io.conn.frame', connId: this.id, protocol: frame.protocol, body }
  }

  /** The queue reached an offence of this connection (found here, or queued at arrival). */
  fail(): void {
    this.failed = true
    this.reading = false
    this.writing = false
    // Nothing more is read: let the socket drain so its close can arrive.
    if (this.paused) this.resume()
  }

  private invalid(reason: string): Input {
    this.fail()
    return { type: 'io.conn.invalid', connId: this.id, reason }
  }

  // -------------------------------------------------------------------------------------------
  // Out (effects performed by the pump).

  /** Install the session keys the handshake derived (`effect.secure`). */
  secure(send: CipherKeys, recv: CipherKeys): void {
    this.sendCipher = { k: send.k, n: send.n }
    this.recvCipher = { k: recv.k, n: recv.n }
    this.conn.secured?.()
    if (this.paused && !this.host.load.over(true)) this.resume()
  }

  /**
   * Send one encoded frame. Before the channel is secure it leaves at once; after, it waits in
   * this connection's batch until `flush` (the pump flushes every connection before the event
   * loop turns, see driver.ts), or until the batch is full.
   */
  write(frame: Uint8Array): void {
    if (!this.sendCipher) {
      this.send(frame)
      return
    }
    const cap = this.batchBytes
    if (this.pending.length > 0 && this.pendingBytes + frame.length > cap) this.flush()
    this.pending.push(frame)
    this.pendingBytes += frame.length
    if (this.pending.length === 1) this.host.holding(this)
    if (this.pending.length >= BATCH_SEND_PARTS || this.pendingBytes >= cap) this.flush()
  }

  /** Send the frames waiting in the batch: one alone as it is, several as one batch frame. */
  flush(): void {
    const count = this.pending.length
    if (count === 0) return
    const frame = count === 1 ? this.pending[0] : encodeBatch(this.pending, this.pendingBytes)
    this.pending.length = 0
    this.pendingBytes = 0
    if (!this.writing) {
      this.host.stats.dropped += count
      return
    }
    this.send(frame)
  }

  private send(frame: Uint8Array): void {
    if (frame.length >= DETACHED_FROM_BYTES && this.sendCipher && this.conn.sendParts && this.host.suite.aeadEncryptDetached) {
      return this.sendDetached(frame, this.host.suite as DetachingSuite)
    }
    const bytes = this.sendCipher ? encryptWithAd(this.host.suite, this.sendCipher, EMPTY, frame) : frame
    if (bytes === null) return
    this.conn.send(bytes)
    this.sent(bytes.length)
  }

  /** A large frame encrypted to ciphertext and tag, sent as one message of two parts (never joined). */
  private sendDetached(frame: Uint8Array, suite: DetachingSuite): void {
    const sealed = encryptWithAdDetached(suite, this.sendCipher!, EMPTY, frame)
    if (sealed === null) return
    this.conn.sendParts!(sealed)
    this.sent(sealed[0].length + sealed[1].length)
  }

  /** Count a frame that went out and let the slow-reader check look at this connection. */
  private sent(bytes: number): void {
    this.host.stats.framesOut++
    this.host.stats.bytesOut += bytes
    this.host.slowReaders.sent(this)
  }

  /** Close the socket after the frames still waiting in the batch. */
  close(reason: string): void {
    this.flush()
    this.conn.close(reason)
  }

  /** The peer does not read what is sent to it: stop sending and tell the machine (at the tail). */
  slowReader(): void {
    this.writing = false
    this.host.enqueue({ type: 'io.conn.invalid', connId: this.id, reason: 'slow-reader' })
  }

  // -------------------------------------------------------------------------------------------
  // Backpressure.

  /** A connection still handshaking never needs more than two frames queued: pause it beyond that. */
  overQuota(): boolean {
    return this.recvCipher === null && this.queuedFrames >= 2
  }

  pause(): void {
    this.paused = true
    this.host.stats.paused++
    this.conn.pause()
  }

  resume(): void {
    this.paused = false
    this.host.stats.paused--
    this.conn.resume()
  }
}

/**
 * A close reason a remote sent is its claim, shown to the user: keep it to the vocabulary's
 * shape (lowercase words and dashes) so a peer cannot inject control characters or prose.
 */
function remoteReason(reason: string): string {
  return /^[a-z0-9-]{1,64}$/.test(reason) ? reason : 'closed-by-remote'
}

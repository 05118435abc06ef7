/**
 * Backpressure, both ways.
 *
 * In (`QueueLoad`): the queue is bounded in inputs and in raw bytes. Over either bound, the
 * socket that just delivered is paused (src/runtime/conn-edge.ts); once the queue is back below
 * half of both bounds, every socket paused by load is resumed, so sockets do not flap between
 * paused and resumed. Nothing is dropped: a paused socket's bytes wait in the kernel.
 *
 * Out (`SlowReaders`): after the turn in which frames were sent (when the transport had its
 * chance to write them), a connection whose send backlog is still over `maxQueuedBytes` has a
 * peer that does not read: it is reported (`io.conn.invalid slow-reader`). Judging right after
 * `send` would also catch a fast reader during a burst.
 * @module
 */
import type { ConnEdge } from './conn-edge.js'
import type { Scheduler } from './clock.js'

export class QueueLoad {
  private readonly queue: { readonly length: number; readonly bound: number }
  private readonly maxBytes: number
  /** Bytes of raw frames waiting in the queue. */
  private bytes = 0
  /** Some sockets were paused because the whole queue was over its bounds. */
  pausedByLoad = false

  constructor(queue: { readonly length: number; readonly bound: number }, maxBytes: number) {
    this.queue = queue
    this.maxBytes = maxBytes
  }

  added(bytes: number): void {
    this.bytes += bytes
  }

  removed(bytes: number): void {
    this.bytes -= bytes
  }

  /** Whether the queue is over its bounds; `resuming` asks whether it is still above half of them. */
  over(resuming: boolean): boolean {
    const f = resuming ? 0.5 : 1
    return this.queue.length > this.queue.bound * f || this.bytes > this.maxBytes * f
  }

  /** After each input: resume the sockets paused by load once the queue is low enough. */
  relieve(edges: Iterable<ConnEdge>): void {
    if (!this.pausedByLoad || this.over(true)) return
    this.pausedByLoad = false
    for (const edge of edges) if (edge.paused && !edge.overQuota()) edge.resume()
  }
}

export class SlowReaders {
  private readonly scheduler: Scheduler
  private readonly maxQueuedBytes: number
  /** Connections sent to in this turn. */
  private readonly sentTo = new Set<ConnEdge>()
  private timer: unknown = undefined

  constructor(scheduler: Scheduler, maxQueuedBytes: number) {
    this.scheduler = scheduler
    this.maxQueuedBytes = maxQueuedBytes
  }

  sent(edge: ConnEdge): void {
    this.sentTo.add(edge)
    if (this.timer === undefined) this.timer = this.scheduler.setTimeout(() => this.check(), 0)
  }

  forget(edge: ConnEdge): void {
    this.sentTo.delete(edge)
  }

  stop(): void {
    if (this.timer !== undefined) this.scheduler.clearTimeout(this.timer)
    this.timer = undefined
    this.sentTo.clear()
  }

  private check(): void {
    this.timer = undefined
    for (const edge of this.sentTo) {
      if (edge.writing && edge.conn.bufferedAmount > this.maxQueuedBytes) edge.slowReader()
    }
    this.sentTo.clear()
  }
}

/**
 * Clocks: the seam through which time enters a swarm.
 *
 * A `Scheduler` is the platform's time (real: performance.now + setTimeout; simulated: a
 * virtual clock, see sim.ts). `QueueClock` adapts it to XState's `clock` option: when a timer
 * fires it does not call XState's callback, it appends a timer input to the swarm's queue,
 * and the driver runs the callback when it takes that input, so timers are ordered with
 * every other input. A timer cleared after it fired but before it was taken does nothing.
 * @module
 */

/** Platform time. */
export interface Scheduler {
  /** Milliseconds, monotonic. */
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
  /**
   * Run `fn` once the event loop has turned (after the IO already waiting): the driver sends the
   * frames it batched then. Absent (a simulated clock), batches leave at the end of every settle.
   */
  defer?(fn: () => void): void
}

/** Run `fn` once the event loop has turned: setImmediate in Node, a macrotask (MessageChannel) in a browser. */
export const nextTurn: (fn: () => void) => void = typeof setImmediate === 'function'
  ? (fn) => { setImmediate(fn) }
  : (fn) => {
    const channel = new MessageChannel()
    channel.port1.onmessage = () => (channel.port1.close(), fn())
    channel.port2.postMessage(null)
  }

/**
 * Real time. A delay is cut to whole milliseconds: Node's timers fire a fractional delay when
 * they would fire its whole part (measured in bench/README, "a fourth look"), so nothing fires at
 * another moment, and the first fractional delay in a process (a keep-alive wait counted from a
 * frame's time) no longer turns a field of every Node Timeout from small integer to double,
 * which deoptimizes all code that inlined timers.
 */
export const realScheduler: Scheduler = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.floor(ms)),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  defer: nextTurn,
}

/** A timer input: the driver calls `fire` when it takes it, unless it was cancelled. */
export interface TimerInput {
  type: 'timer'
  fire: () => void
  cancelled: boolean
  handle: unknown
  /** The machines' timers are numbered when recording or replaying (src/record/timers.ts). */
  seq?: number
}

/** XState's `clock` interface, backed by the queue. */
export class QueueClock {
  readonly scheduler: Scheduler
  private readonly enqueue: (timer: TimerInput) => void
  /** Sees every timer as it is set (recording and replay number them). */
  onTimer: ((timer: TimerInput) => void) | undefined = undefined

  constructor(scheduler: Scheduler, enqueue: (timer: TimerInput) => void) {
    this.scheduler = scheduler
    this.enqueue = enqueue
  }

  setTimeout(fn: () => void, ms: number): TimerInput {
    const timer: TimerInput = { type: 'timer', fire: fn, cancelled: false, handle: undefined }
    this.onTimer?.(timer)
    timer.handle = this.scheduler.setTimeout(() => this.enqueue(timer), ms)
    return timer
  }

  clearTimeout(timer: TimerInput | undefined): void {
    if (!timer) return
    timer.cancelled = true
    this.scheduler.clearTimeout(timer.handle)
  }
}

/**
 * The driver, or queue pump: takes one input off the queue, settles it in the root machine,
 * performs the effects that came out, in order, and hands the swarm events to the facade.
 *
 * It is the only place where IO meets the machines, and it decides nothing. How an input
 * travels:
 * - in: sockets (src/runtime/conn-edge.ts), timers (clock.ts), dials (dialer.ts), user
 *   functions (calls.ts) and user commands only append to the queue (queue.ts);
 * - `step()` takes one item: a timer fires its XState callback; a socket's raw frame is checked
 *   by its connection's edge (decrypt, decode, parse) into `io.conn.frame` or
 *   `io.conn.invalid`; everything else is already an input. `root.send` settles the whole tree
 *   before it returns. When a raw frame checks out as frames of a protocol that takes groups
 *   (`ProtocolDefinition.grouped`, e.g. pubsub), the raw frames right behind it are taken in the
 *   same step, and each run of one grouped protocol's frames is settled as one `io.conn.frames`
 *   (`gathered`): a burst from several peers costs the protocol one step and one round of sends;
 * - out: effects are performed as they are emitted (`perform`), so every effect of input N
 *   happens before input N+1 is taken. Their answers (a dial's outcome, a user function's
 *   result, a socket's close) come back only as new inputs at the tail. Frames to a secured
 *   connection wait in its batch (src/codec/batch.ts) until the pump lets the event loop turn
 *   (`Scheduler.defer`), or until the end of the settle with a scheduler that has no `defer`
 *   (a simulation), and then leave as one encrypted frame; a close sends them first.
 * A connection is forgotten only when its `io.conn.closed` input is taken, so the frames queued
 * before the close are still checked and delivered.
 * @module
 */
import type { FrameMetrics } from '../metrics/prometheus.js'
import { createActor, type Actor, type InspectionEvent, type Observer } from 'xstate'
import { bindRuntime } from '../../machines/lib/runtime.js'
import type { ProtocolDefinition } from '../../machines/lib/protocol.js'
import type { Limits } from '../../machines/lib/limits.js'
import type { CryptoSuite } from '../../machines/lib/crypto.js'
import { unseal } from '../../machines/lib/secret.js'
import { swarmMachine, type SwarmInput } from '../../machines/swarm.machine.js'
import type { Effect, Input } from '../../machines/vocab.js'
import type { CodecLimits } from '../codec/frame.js'
import type { Conn, Listener, Transport } from '../transport/transport.js'
import { UserCalls } from './calls.js'
import { QueueClock, type Scheduler, type TimerInput } from './clock.js'
import { ConnEdge, type DriverStats, type EdgeHost, type Queued } from './conn-edge.js'
import { Dialer, transportFor } from './dialer.js'
import { FrameEncoder } from './encoder.js'
import { allGrouped, groupRuns } from './group.js'
import { QueueLoad, SlowReaders } from './pressure.js'
import { InputQueue } from './queue.js'

/** Most raw frames one step takes to group (`Driver.gathered`): bounds the work of a step. */
export const MAX_GATHERED_FRAMES = 32

export interface DriverOptions {
  root: SwarmInput
  transports: Transport[]
  scheduler: Scheduler
  limits: Limits
  codec: CodecLimits
  protocols: readonly ProtocolDefinition[]
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void)
  /** Prometheus counters (`createSwarm({ metrics: true })`): frames per protocol, settle times. */
  metrics?: FrameMetrics
  /** Where swarm events go, in order (the facade's buffer). */
  onEvent: (event: { type: string; [key: string]: unknown }) => void
  /** Called when an input arrives (so a waiting consumer can step again). */
  onInput: () => void
  /** The suite the shell decrypts and encrypts frames with (default: the root's). */
  suite?: CryptoSuite
  /** Recording (src/record): sees every input the root settles. Absent: nothing is recorded. */
  tap?: InputTap
  /** Replay (src/record): inputs come from here instead of the queue, and no effect is performed. */
  replay?: ReplaySource
}

/** What a recording sees (src/record/recorder.ts); times are the inputs' times. */
export interface InputTap {
  /** The root exists and has not started: `emit` puts an event in the swarm's stream. */
  attach(root: Actor<typeof swarmMachine>, clock: QueueClock, emit: (event: { type: string; [key: string]: unknown }) => void): void
  started(time: number): void
  input(time: number, input: Input): void
  timer(time: number, timer: TimerInput): void
  /** An event the shell made itself (not a machine's). */
  event(event: { type: string; [key: string]: unknown }): void
  close(): void
}

/** Where a replay's inputs come from (src/record/replay.ts). */
export interface ReplaySource {
  attach(root: Actor<typeof swarmMachine>, clock: QueueClock): void
  /** The next recorded input (the scheduler's time is its time), or undefined at the end. */
  next(): Queued | undefined
}

export class Driver implements EdgeHost {
  readonly root: Actor<typeof swarmMachine>
  readonly limits: Limits
  readonly scheduler: Scheduler
  readonly suite: CryptoSuite
  readonly codec: CodecLimits
  readonly parsers = new Map<string, (body: unknown) => unknown>()
  readonly mergers = new Map<string, (first: unknown, next: unknown) => unknown>()
  /** Protocols whose machine takes `messages` (ProtocolDefinition.grouped). */
  private readonly groupedProtocols = new Set<string>()
  readonly load: QueueLoad
  readonly slowReaders: SlowReaders
  /** Counters a user can read with `swarm.stats()`. */
  readonly metrics: FrameMetrics | undefined
  readonly stats: DriverStats = { inputs: 0, framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, dropped: 0, paused: 0 }
  private readonly queue: InputQueue<Queued>
  private readonly transports: Transport[]
  private readonly edges = new Map<number, ConnEdge>()
  private readonly peerEdges = new Map<string, ConnEdge>()
  /** Connections with frames waiting in their batch (see ConnEdge.write). */
  private readonly holdingEdges = new Set<ConnEdge>()
  private flushScheduled = false
  private readonly listeners: Listener[] = []
  private readonly dialer: Dialer
  private readonly calls: UserCalls
  private readonly encoder: FrameEncoder
  private readonly onEvent: (event: { type: string; [key: string]: unknown }) => void
  private readonly onInput: () => void
  private readonly tap: InputTap | undefined
  private readonly replay: ReplaySource | undefined
  private connSeq = 0
  private inputTime = 0
  private stopped = false

  constructor(options: DriverOptions) {
    this.metrics = options.metrics
    this.limits = options.limits
    this.suite = options.suite ?? options.root.suite
    this.tap = options.tap
    this.replay = options.replay
    this.scheduler = options.scheduler
    this.transports = options.transports
    this.codec = options.codec
    this.onEvent = options.onEvent
    this.onInput = options.onInput
    this.queue = new InputQueue(options.limits.maxQueuedInputs)
    this.load = new QueueLoad(this.queue, options.limits.maxQueuedInputBytes)
    this.slowReaders = new SlowReaders(options.scheduler, options.limits.maxQueuedBytes)
    this.encoder = new FrameEncoder(options.codec)
    const enqueue = (input: Input): void => this.enqueue(input)
    this.dialer = new Dialer(options.transports, enqueue, (conn) => this.register(conn).id)
    this.calls = new UserCalls(options.protocols, enqueue)
    for (const def of options.protocols) {
      if (def.parse) this.parsers.set(def.id, def.parse)
      if (def.merge) this.mergers.set(def.id, def.merge)
      if (def.grouped === true) this.groupedProtocols.add(def.id)
    }
    const clock = new QueueClock(options.scheduler, (timer) => this.enqueue(timer))
    this.root = createActor(swarmMachine, {
      input: options.root,
      clock,
      systemId: 'swarm',
      ...(options.inspect ? { inspect: options.inspect } : {}),
    })
    this.tap?.attach(this.root, clock, this.onEvent)
    this.replay?.attach(this.root, clock)
    const sink = (event: { type: string }) => this.perform(event)
    bindRuntime(this.root, { sink, now: () => this.inputTime })
    this.root.on('*', sink as never)
    // An action that throws stops the root for good; say so instead of crashing the process.
    this.root.subscribe({
      error: (error) => {
        this.onEvent({ type: 'swarm.error', code: 'internal', message: error instanceof Error ? error.message : String(error) })
        this.onEvent({ type: 'swarm.closed' })
        void this.shutdown()
      },
    })
  }

  /** Start the root machine (protocol actors start with it). */
  start(): void {
    this.inputTime = this.scheduler.now()
    this.tap?.started(this.inputTime)
    this.root.start()
    this.root.send({ type: 'cmd.start' })
    this.flush()
  }

  get queued(): number {
    return this.queue.length
  }

  /** Append an input from the user (always accepted). */
  push(input: Input): void {
    this.enqueue(input)
  }

  /** @internal Append anything the queue holds (edges, timers, dials and calls come here). */
  enqueue(item: Queued): void {
    if (this.stopped || this.replay) return
    this.queue.push(item)
    this.onInput()
  }

  /** Take one input and settle it. False when the queue is empty. */
  step(): boolean {
    const item = this.replay ? this.replay.next() : this.queue.shift()
    if (item === undefined) return false
    this.stats.inputs++
    this.inputTime = this.scheduler.now()
    let started = this.metrics === undefined ? 0 : performance.now()
    let input: Input | Input[] | undefined
    try {
      input = this.checked(item)
      if (item.type === 'raw' && this.groupedProtocols.size > 0) input = this.gathered(input)
      if (Array.isArray(input)) {
        // A batch's parts, each settled on its own, in order (and timed on its own).
        for (const part of input) {
          if (this.root.getSnapshot().status !== 'active') break
          this.settle(part)
          this.encoder.forget()
          if (this.metrics !== undefined) {
            const now = performance.now()
            this.metrics.settled((now - started) / 1000)
            started = now
          }
        }
      } else if (input) this.settle(input)
    } finally {
      this.encoder.forget()
      if (this.metrics !== undefined && !Array.isArray(input)) this.metrics.settled((performance.now() - started) / 1000)
    }
    if (this.scheduler.defer === undefined) this.flush()
    this.load.relieve(this.edges.values())
    return true
  }

  private settle(input: Input): void {
    this.tap?.input(this.inputTime, input)
    this.root.send(input)
  }

  /** @internal An edge holds frames to send: flush it when the event loop turns (or after this settle). */
  holding(edge: ConnEdge): void {
    this.holdingEdges.add(edge)
    if (this.flushScheduled || this.scheduler.defer === undefined) return
    this.flushScheduled = true
    this.scheduler.defer(this.flushNow)
  }

  /** Send what every connection holds in its batch. */
  flush(): void {
    this.flushScheduled = false
    if (this.holdingEdges.size === 0) return
    for (const edge of this.holdingEdges) edge.flush()
    this.holdingEdges.clear()
  }

  private readonly flushNow = (): void => this.flush()

  /** What a queued item means to the root, in queue order (see the module comment). */
  private checked(item: Queued): Input | Input[] | undefined {
    switch (item.type) {
      case 'timer':
        if (item.cancelled) return undefined
        this.tap?.timer(this.inputTime, item)
        item.fire()
        return undefined
      case 'raw':
        this.load.removed(item.bytes.length)
        return this.edges.get(item.connId)?.take(item.bytes)
      case 'io.conn.invalid':
        this.edges.get(item.connId)?.fail()
        return item
      case 'io.conn.closed': {
        const edge = this.edges.get(item.connId)
        if (edge) {
          this.edges.delete(item.connId)
          this.slowReaders.forget(edge)
        }
        return item
      }
      default:
        return item
    }
  }

  /**
   * A raw frame's inputs, and, when they are all frames of grouped protocols, those of the raw
   * frames right behind it in the queue (at most MAX_GATHERED_FRAMES in all, up to the first
   * that checks out as anything else), with each run of one protocol's frames as one
   * `io.conn.frames`. Checking a raw frame before the frames ahead of it are settled is safe
   * only because settling a grouped protocol's frame never changes how a later one is checked:
   * keys change only in a handshake, and an edge fails only at an offence, which is checked
   * (an input of its own) in queue order. So what is settled, and in which order, is the same.
   */
  private gathered(first: Input | Input[] | undefined): Input | Input[] | undefined {
    if (first === undefined || !allGrouped(first, this.groupedProtocols)) return first
    const inputs = Array.isArray(first) ? first : [first]
    for (let taken = 1; taken < MAX_GATHERED_FRAMES; taken++) {
      const next = this.queue.peek()
      if (next === undefined || next.type !== 'raw') break
      this.queue.shift()
      this.stats.inputs++
      const more = this.checked(next)
      if (more === undefined) continue
      if (Array.isArray(more)) inputs.push(...more)
      else inputs.push(more)
      if (!allGrouped(more, this.groupedProtocols)) break
    }
    return inputs.length === 1 ? inputs[0] : groupRuns(inputs, this.groupedProtocols)
  }

  /** Listen on every address; returns the listeners' addresses (without /p2p). */
  async listen(urls: string[]): Promise<string[]> {
    const out: string[] = []
    for (const url of urls) {
      const listener = await transportFor(this.transports, url).listen(url, (conn) => this.accepted(conn))
      this.listeners.push(listener)
      out.push(...listener.addresses)
    }
    return out
  }

  /** Stop everything the driver owns (after the root reached `closed`, or as a last resort). */
  async shutdown(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this.tap?.close()
    this.dialer.stop()
    this.slowReaders.stop()
    await Promise.allSettled(this.listeners.splice(0).map((l) => l.close()))
    for (const edge of this.edges.values()) edge.close('swarm-closed')
    this.edges.clear()
    this.peerEdges.clear()
    if (this.root.getSnapshot().status === 'active') this.root.stop()
    await Promise.allSettled(this.transports.map((t) => t.close()))
  }

  private accepted(conn: Conn): void {
    const edge = this.register(conn)
    this.enqueue({ type: 'io.conn.opened', connId: edge.id, remoteAddr: conn.remoteAddr })
  }

  private register(conn: Conn): ConnEdge {
    const edge = new ConnEdge(this, ++this.connSeq, conn)
    this.edges.set(edge.id, edge)
    conn.attach(edge)
    return edge
  }

  // -------------------------------------------------------------------------------------------
  // Effects out: performed as the machines emit them, in order.

  private perform(event: { type: string }): void {
    if (!event.type.startsWith('effect.')) {
      this.onEvent(event)
      return
    }
    if (this.replay) return
    const effect = event as Effect
    switch (effect.type) {
      case 'effect.send': return this.send(effect.connId !== undefined ? this.edges.get(effect.connId) : this.peerEdges.get(effect.peer!), effect.protocol, effect.body)
      case 'effect.dial': return this.dialer.dial(effect.dialId, effect.url)
      case 'effect.cancelDial': return this.dialer.cancel(effect.dialId)
      case 'effect.secure': {
        const { send, recv } = unseal(effect.keys)
        return this.edges.get(effect.connId)?.secure(send, recv)
      }
      case 'effect.bind': {
        const edge = effect.connId === undefined ? undefined : this.edges.get(effect.connId)
        if (edge) this.peerEdges.set(effect.peer, edge)
        else this.peerEdges.delete(effect.peer)
        return
      }
      case 'effect.close': return this.edges.get(effect.connId)?.close(effect.reason)
      case 'effect.unlisten': {
        void Promise.allSettled(this.listeners.splice(0).map((l) => l.close()))
        return
      }
      case 'effect.call': return this.calls.call(effect.protocol, effect.callId, effect.fn, effect.args)
    }
  }

  private send(edge: ConnEdge | undefined, protocol: string, body: unknown): void {
    if (!edge || !edge.writing) {
      this.stats.dropped++
      return
    }
    let frame: Uint8Array
    try {
      frame = this.encoder.encode(protocol, body)
    } catch (error) {
      const event = { type: 'swarm.error', code: 'encode-failed', message: `${protocol}: ${(error as Error).message}` }
      this.tap?.event(event)
      this.onEvent(event)
      return
    }
    edge.write(frame)
    this.metrics?.frame('out', protocol, frame.length)
  }
}

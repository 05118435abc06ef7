/**
 * The driver: takes one input off the queue, settles it in the root machine, performs the
 * effects that came out, and keeps the swarm events for the user.
 *
 * It is the only place where IO meets the machines, and it decides nothing: sockets, timers
 * and user calls only append to the queue (src/runtime/queue.ts); `step()` takes one input,
 * turns raw socket bytes into a checked input (decrypt, decode, parse: a failure becomes
 * `io.conn.invalid` for the machine to act on), calls `root.send`, and XState settles the
 * whole tree before `send` returns. Effects are performed as they are emitted, in order, so
 * every effect of input N happens before input N+1 is taken. Answers to effects (a dial's
 * outcome, a user function's result) come back only as new inputs at the tail.
 * @module
 */
import { createActor, type Actor, type InspectionEvent, type Observer } from 'xstate'
import { bindRuntime } from '../../machines/lib/runtime.js'
import type { ProtocolDefinition } from '../../machines/lib/protocol.js'
import type { Limits } from '../../machines/lib/limits.js'
import type { CryptoSuite } from '../../machines/lib/crypto.js'
import { decryptWithAd, encryptWithAd, type CipherState } from '../../machines/secure/cipher-state.js'
import { HANDSHAKE_PROTOCOL } from '../../machines/handshake.machine.js'
import { swarmMachine, type SwarmInput } from '../../machines/swarm.machine.js'
import type { Effect, Input } from '../../machines/vocab.js'
import { CodecError } from '../errors.js'
import { encodeFrame, tryDecodeFrame, type CodecLimits } from '../codec/frame.js'
import type { Conn, ConnHandler, Listener, Transport } from '../transport/transport.js'
import { QueueClock, type Scheduler, type TimerInput } from './clock.js'
import { InputQueue } from './queue.js'

/** Bytes from a socket, checked when taken (the connection's keys are known only then). */
interface RawFrame { type: 'raw'; connId: number; bytes: Uint8Array }

type Queued = Input | TimerInput | RawFrame

const EMPTY = new Uint8Array(0)

export interface DriverOptions {
  root: SwarmInput
  transports: Transport[]
  scheduler: Scheduler
  limits: Limits
  codec: CodecLimits
  protocols: readonly ProtocolDefinition[]
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void)
  /** Where swarm events go, in order (the facade's buffer). */
  onEvent: (event: { type: string; [key: string]: unknown }) => void
  /** Called when an input arrives (so a waiting consumer can step again). */
  onInput: () => void
}

/** The shell's view of one connection. */
class ShellConn implements ConnHandler {
  readonly id: number
  readonly conn: Conn
  readonly driver: Driver
  send: CipherState | null = null
  recv: CipherState | null = null
  /** After a decrypt failure nothing more is read from this connection. */
  broken = false
  paused = false
  /** Raw frames of this connection waiting in the queue. */
  queuedFrames = 0
  frameTokens: number
  byteTokens: number
  refilledAt: number

  constructor(driver: Driver, id: number, conn: Conn) {
    this.driver = driver
    this.id = id
    this.conn = conn
    this.frameTokens = driver.limits.maxFramesPerSecond
    this.byteTokens = driver.limits.maxBytesPerSecond
    this.refilledAt = driver.scheduler.now()
  }

  data(bytes: Uint8Array): void {
    this.driver.received(this, bytes)
  }

  closed(reason: string, byRemote: boolean): void {
    this.driver.connClosed(this, reason, byRemote)
  }
}

export class Driver {
  readonly root: Actor<typeof swarmMachine>
  readonly limits: Limits
  readonly scheduler: Scheduler
  private readonly suite: CryptoSuite
  private readonly queue: InputQueue<Queued>
  private readonly transports: Transport[]
  private readonly codec: CodecLimits
  private readonly parsers = new Map<string, (body: unknown) => unknown>()
  private readonly calls = new Map<string, Record<string, (args: any) => unknown>>()
  private readonly conns = new Map<number, ShellConn>()
  private readonly peerConns = new Map<string, ShellConn>()
  private readonly listeners: Listener[] = []
  private readonly dials = new Map<number, AbortController>()
  /** Connections sent to in this turn: their backlog is judged after the turn (see checkBacklog). */
  private readonly sentTo = new Set<ShellConn>()
  private backlogCheck: unknown = undefined
  /** Some sockets were paused because the whole queue was over its bounds. */
  private pausedByLoad = false
  /** Bytes of raw frames waiting in the queue (bounded like the count). */
  private queuedBytes = 0
  private readonly onEvent: (event: { type: string; [key: string]: unknown }) => void
  private readonly onInput: () => void
  private connSeq = 0
  /**
   * The last frame encoded in this settle, by body identity: a protocol that sends the same
   * body object to several peers in one settle (pubsub forwarding a message to its mesh) has it
   * encoded once. Forgotten at every input, so a body mutated between settles is encoded again
   * (an emitted body is data handed over: it is not mutated within the settle that emitted it).
   */
  private lastBody: unknown = undefined
  private lastProtocol = ''
  private lastFrame: Uint8Array | null = null
  private inputTime = 0
  private stopped = false
  /** Counters a user can read with `swarm.stats()`. */
  readonly stats = { inputs: 0, framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, dropped: 0, paused: 0 }

  constructor(options: DriverOptions) {
    this.limits = options.limits
    this.suite = options.root.suite
    this.scheduler = options.scheduler
    this.transports = options.transports
    this.codec = options.codec
    this.onEvent = options.onEvent
    this.onInput = options.onInput
    this.queue = new InputQueue(options.limits.maxQueuedInputs)
    for (const def of options.protocols) {
      if (def.parse) this.parsers.set(def.id, def.parse)
      if (def.calls) this.calls.set(def.id, def.calls)
    }
    const clock = new QueueClock(options.scheduler, (timer) => this.enqueue(timer))
    this.root = createActor(swarmMachine, {
      input: options.root,
      clock,
      systemId: 'swarm',
      ...(options.inspect ? { inspect: options.inspect } : {}),
    })
    const sink = (event: { type: string }) => this.emitted(event)
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
    this.root.start()
    this.root.send({ type: 'cmd.start' })
  }

  get queued(): number {
    return this.queue.length
  }

  /** Append an input from the user (always accepted). */
  push(input: Input): void {
    this.enqueue(input)
  }

  private enqueue(item: Queued): boolean {
    if (this.stopped) return true
    const ok = this.queue.push(item)
    this.onInput()
    return ok
  }

  /** Take one input and settle it. False when the queue is empty. */
  step(): boolean {
    const item = this.queue.shift()
    if (item === undefined) return false
    this.stats.inputs++
    this.inputTime = this.scheduler.now()
    try {
      if (item.type === 'timer') {
        if (!item.cancelled) item.fire()
      } else if (item.type === 'raw') {
        this.queuedBytes -= item.bytes.length
        const sc = this.conns.get(item.connId)
        if (sc) {
          sc.queuedFrames--
          if (sc.paused && !this.overQuota(sc) && !this.overloaded(true)) this.resume(sc)
        }
        const input = this.check(item)
        if (input) this.root.send(input)
      } else {
        this.root.send(item)
      }
    } finally {
      this.lastBody = undefined
      this.lastFrame = null
    }
    if (this.pausedByLoad && !this.overloaded(true)) {
      this.pausedByLoad = false
      for (const conn of this.conns.values()) if (conn.paused && !this.overQuota(conn)) this.resume(conn)
    }
    return true
  }

  /** Listen on every address; returns the listeners' addresses (without /p2p). */
  async listen(urls: string[]): Promise<string[]> {
    const out: string[] = []
    for (const url of urls) {
      const transport = this.transportFor(url)
      const listener = await transport.listen(url, (conn) => this.accepted(conn))
      this.listeners.push(listener)
      out.push(...listener.addresses)
    }
    return out
  }

  /** Stop everything the driver owns (after the root reached `closed`, or as a last resort). */
  async shutdown(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    for (const controller of this.dials.values()) controller.abort()
    this.dials.clear()
    if (this.backlogCheck !== undefined) this.scheduler.clearTimeout(this.backlogCheck)
    await Promise.allSettled(this.listeners.splice(0).map((l) => l.close()))
    for (const sc of this.conns.values()) sc.conn.close('swarm-closed')
    this.conns.clear()
    this.peerConns.clear()
    if (this.root.getSnapshot().status === 'active') this.root.stop()
    await Promise.allSettled(this.transports.map((t) => t.close()))
  }

  // -------------------------------------------------------------------------------------------
  // IO in: every callback only appends to the queue.

  private accepted(conn: Conn): void {
    const sc = this.register(conn)
    this.enqueue({ type: 'io.conn.opened', connId: sc.id, remoteAddr: conn.remoteAddr })
  }

  private register(conn: Conn): ShellConn {
    const sc = new ShellConn(this, ++this.connSeq, conn)
    this.conns.set(sc.id, sc)
    conn.attach(sc)
    return sc
  }

  /** Socket data: rate limits are counted here (before queueing), the rest when taken. */
  received(sc: ShellConn, bytes: Uint8Array): void {
    if (sc.broken) return
    this.stats.framesIn++
    this.stats.bytesIn += bytes.length
    if (!this.withinRate(sc, bytes.length)) {
      sc.broken = true
      this.enqueue({ type: 'io.conn.invalid', connId: sc.id, reason: 'rate-limit' })
      return
    }
    this.queuedBytes += bytes.length
    sc.queuedFrames++
    this.enqueue({ type: 'raw', connId: sc.id, bytes })
    if (sc.paused) return
    if (this.overloaded(false)) {
      this.pausedByLoad = true
      this.pause(sc)
    } else if (this.overQuota(sc)) {
      this.pause(sc)
    }
  }

  private pause(sc: ShellConn): void {
    sc.paused = true
    this.stats.paused++
    sc.conn.pause()
  }

  private resume(sc: ShellConn): void {
    sc.paused = false
    this.stats.paused--
    sc.conn.resume()
  }

  /**
   * Whether the queue is over its bounds (inputs or raw bytes); `resuming` asks whether it is
   * still above half of them, so sockets do not flap between paused and resumed.
   */
  private overloaded(resuming: boolean): boolean {
    const f = resuming ? 0.5 : 1
    return this.queue.length > this.queue.bound * f || this.queuedBytes > this.limits.maxQueuedInputBytes * f
  }

  /** A connection still handshaking never needs more than two frames queued: pause it beyond that. */
  private overQuota(sc: ShellConn): boolean {
    return sc.recv === null && sc.queuedFrames >= 2
  }

  private withinRate(sc: ShellConn, size: number): boolean {
    const now = this.scheduler.now()
    const elapsed = (now - sc.refilledAt) / 1000
    if (elapsed > 0) {
      sc.frameTokens = Math.min(this.limits.maxFramesPerSecond, sc.frameTokens + elapsed * this.limits.maxFramesPerSecond)
      sc.byteTokens = Math.min(this.limits.maxBytesPerSecond, sc.byteTokens + elapsed * this.limits.maxBytesPerSecond)
      sc.refilledAt = now
    }
    sc.frameTokens -= 1
    sc.byteTokens -= size
    return sc.frameTokens >= 0 && sc.byteTokens >= 0
  }

  connClosed(sc: ShellConn, reason: string, byRemote: boolean): void {
    if (this.conns.get(sc.id) !== sc) return
    this.conns.delete(sc.id)
    this.sentTo.delete(sc)
    if (sc.paused) this.stats.paused--
    this.enqueue({ type: 'io.conn.closed', connId: sc.id, reason: byRemote ? remoteReason(reason) : reason, byRemote })
  }


  /** Turn socket bytes into a checked input, or into `io.conn.invalid` with the reason. */
  private check(raw: RawFrame): Input | undefined {
    const sc = this.conns.get(raw.connId)
    if (!sc || sc.broken) return undefined
    let bytes: Uint8Array | null = raw.bytes
    if (sc.recv) {
      bytes = decryptWithAd(this.suite, sc.recv, EMPTY, bytes)
      if (bytes === null) return this.invalid(sc, 'decrypt-failed')
    }
    const frame = tryDecodeFrame(bytes, this.codec)
    if (frame instanceof CodecError) return this.invalid(sc, frame.code)
    if (!sc.recv && frame.protocol !== HANDSHAKE_PROTOCOL) return this.invalid(sc, 'protocol-violation')
    const parse = this.parsers.get(frame.protocol)
    if (parse) {
      const body = parse(frame.body)
      if (body === undefined) return this.invalid(sc, 'invalid-message')
      return { type: 'io.conn.frame', connId: sc.id, protocol: frame.protocol, body }
    }
    return { type: 'io.conn.frame', connId: sc.id, protocol: frame.protocol, body: frame.body }
  }

  private invalid(sc: ShellConn, reason: string): Input {
    sc.broken = true
    return { type: 'io.conn.invalid', connId: sc.id, reason }
  }

  // -------------------------------------------------------------------------------------------
  // Effects out: performed as the machines emit them, in order.

  private emitted(event: { type: string }): void {
    if (!event.type.startsWith('effect.')) {
      this.onEvent(event)
      return
    }
    const effect = event as Effect
    switch (effect.type) {
      case 'effect.send': return this.send(effect.connId !== undefined ? this.conns.get(effect.connId) : this.peerConns.get(effect.peer!), effect.protocol, effect.body)
      case 'effect.dial': return this.dial(effect.dialId, effect.url)
      case 'effect.cancelDial': {
        this.dials.get(effect.dialId)?.abort()
        this.dials.delete(effect.dialId)
        return
      }
      case 'effect.secure': {
        const sc = this.conns.get(effect.connId)
        if (sc) {
          sc.send = { k: effect.send.k, n: effect.send.n }
          sc.recv = { k: effect.recv.k, n: effect.recv.n }
          sc.conn.secured?.()
          if (sc.paused && !this.overloaded(true)) this.resume(sc)
        }
        return
      }
      case 'effect.bind': {
        const sc = effect.connId === undefined ? undefined : this.conns.get(effect.connId)
        if (sc) this.peerConns.set(effect.peer, sc)
        else this.peerConns.delete(effect.peer)
        return
      }
      case 'effect.close': return this.conns.get(effect.connId)?.conn.close(effect.reason)
      case 'effect.unlisten': {
        void Promise.allSettled(this.listeners.splice(0).map((l) => l.close()))
        return
      }
      case 'effect.call': return this.call(effect.protocol, effect.callId, effect.fn, effect.args)
    }
  }

  private send(sc: ShellConn | undefined, protocol: string, body: unknown): void {
    if (!sc || sc.broken) {
      this.stats.dropped++
      return
    }
    let bytes: Uint8Array | null
    if (this.lastFrame !== null && body === this.lastBody && protocol === this.lastProtocol && typeof body === 'object') {
      bytes = this.lastFrame
    } else {
      try {
        bytes = encodeFrame(protocol, body, this.codec)
      } catch (error) {
        this.onEvent({ type: 'swarm.error', code: 'encode-failed', message: `${protocol}: ${(error as Error).message}` } as never)
        return
      }
      this.lastBody = body
      this.lastProtocol = protocol
      this.lastFrame = bytes
    }
    if (sc.send) bytes = encryptWithAd(this.suite, sc.send, EMPTY, bytes)
    if (bytes === null) return
    this.stats.framesOut++
    this.stats.bytesOut += bytes.length
    sc.conn.send(bytes)
    this.sentTo.add(sc)
    if (this.backlogCheck === undefined) this.backlogCheck = this.scheduler.setTimeout(() => this.checkBacklog(), 0)
  }

  /**
   * After the turn in which frames were sent (when the transport had its chance to write
   * them), a connection whose backlog is still over `maxQueuedBytes` has a peer that does not
   * read: report it. Judging right after `send` would also catch a fast reader during a burst.
   */
  private checkBacklog(): void {
    this.backlogCheck = undefined
    for (const sc of this.sentTo) {
      if (sc.broken || sc.conn.bufferedAmount <= this.limits.maxQueuedBytes) continue
      sc.broken = true
      this.enqueue({ type: 'io.conn.invalid', connId: sc.id, reason: 'slow-reader' })
    }
    this.sentTo.clear()
  }

  private dial(dialId: number, url: string): void {
    let transport: Transport
    try {
      transport = this.transportFor(url)
    } catch {
      this.enqueue({ type: 'io.dial.failed', dialId, reason: 'unsupported-address' })
      return
    }
    const controller = new AbortController()
    this.dials.set(dialId, controller)
    transport.dial(url, { signal: controller.signal }).then(
      (conn) => {
        this.dials.delete(dialId)
        if (this.stopped) return conn.close('swarm-closed')
        const sc = this.register(conn)
        this.enqueue({ type: 'io.conn.opened', connId: sc.id, dialId, remoteAddr: conn.remoteAddr })
      },
      (error: unknown) => {
        this.dials.delete(dialId)
        const reason = error instanceof Error ? error.message : String(error)
        this.enqueue({ type: 'io.dial.failed', dialId, reason: reason || 'dial-failed' })
      },
    )
  }

  /** Run a protocol's user function; its answer (sync or async) comes back through the queue. */
  private call(protocol: string, callId: number, fn: string, args: unknown): void {
    const done = (value?: unknown, error?: string): void => {
      this.enqueue({ type: 'io.call.done', protocol, callId, ...(error === undefined ? { value } : { error }) })
    }
    const f = this.calls.get(protocol)?.[fn]
    if (!f) return done(undefined, `no function "${fn}" for ${protocol}`)
    try {
      const result = f(args)
      if (result && typeof (result as Promise<unknown>).then === 'function') {
        ;(result as Promise<unknown>).then((value) => done(value), (error) => done(undefined, String((error as Error)?.message ?? error)))
      } else {
        done(result)
      }
    } catch (error) {
      done(undefined, String((error as Error)?.message ?? error))
    }
  }

  private transportFor(url: string): Transport {
    const transport = this.transports.find((t) => t.handles(url))
    if (!transport) throw new Error(`no transport for ${url}`)
    return transport
  }
}

/**
 * A close reason a remote sent is its claim, shown to the user: keep it to the vocabulary's
 * shape (lowercase words and dashes) so a peer cannot inject control characters or prose.
 */
function remoteReason(reason: string): string {
  return /^[a-z0-9-]{1,64}$/.test(reason) ? reason : 'closed-by-remote'
}

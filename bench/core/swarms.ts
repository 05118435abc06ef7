/**
 * Swarm fixtures for the benchmarks: swarms driven in the background like a user drives them
 * (`for await`), waiting for events with a deadline, connecting pairs over the in-memory or the
 * WebSocket transport, and reaching the driver of a connection for the pure-queue figures.
 *
 * Limits: the benchmarks raise the per-connection rate limits (`maxFramesPerSecond`, default
 * 5,000; `maxBytesPerSecond`, default 64 MiB) so that they measure the runtime, not the
 * token bucket. Every other limit is the default unless a benchmark says otherwise.
 * @module
 */
import type { Limits } from '../../machines/lib/limits.js'
import type { ConnEdge } from '../../src/runtime/conn-edge.js'
import { createSwarm, type SwarmOptions } from '../../src/create-swarm.js'
import type { Driver } from '../../src/runtime/driver.js'
import type { AnySwarmEvent as SwarmEvent, Swarm } from '../../src/swarm.js'
import { createMemoryNetwork, type MemoryNetwork } from '../../src/transport/memory.js'
import type { Conn, ConnHandler, Transport } from '../../src/transport/transport.js'
import { createWsTransport } from '../../src/transport/ws.js'
import { bounded } from './util.js'

export type TransportKind = 'memory' | 'ws'

/** Limits the benchmarks run with: the rate limits out of the way. */
export const BENCH_LIMITS: Partial<Limits> = { maxFramesPerSecond: 1e12, maxBytesPerSecond: 1e15 }

/** A swarm driven in the background, with event waiters. */
export class Driven {
  private readonly waiters: { test: (e: SwarmEvent) => boolean; resolve: (e: SwarmEvent) => void }[] = []
  private readonly listeners = new Set<(e: SwarmEvent) => void>()
  readonly done: Promise<void>

  constructor(readonly swarm: Swarm) {
    this.done = (async () => {
      for await (const event of swarm) {
        for (const listener of this.listeners) listener(event)
        for (let i = 0; i < this.waiters.length; i++) {
          const waiter = this.waiters[i]
          if (!waiter.test(event)) continue
          this.waiters.splice(i--, 1)
          waiter.resolve(event)
        }
      }
    })()
  }

  get peerId(): string {
    return this.swarm.peerId
  }

  get address(): string {
    return this.swarm.addresses[0]
  }

  on(listener: (e: SwarmEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** The next event for which `test` holds (registered now), within `ms`. */
  next(what: string, test: (e: SwarmEvent) => boolean, ms = 10_000): Promise<SwarmEvent> {
    return bounded(what, ms, new Promise<SwarmEvent>((resolve) => this.waiters.push({ test, resolve })))
  }

  async close(): Promise<void> {
    await bounded('swarm.close', 15_000, this.swarm.close())
    await bounded('swarm drive loop', 5_000, this.done)
  }
}

export const isConnected = (peer: string) => (e: SwarmEvent): boolean => e.type === 'peer.connected' && (e as { peer: string }).peer === peer
export const isDisconnected = (peer: string) => (e: SwarmEvent): boolean => e.type === 'peer.disconnected' && (e as { peer: string }).peer === peer

/**
 * Deliveries of the in-memory network run in FIFO batches, one batch per event-loop turn
 * (setImmediate). The default (`queueMicrotask`) lets two swarms that talk continuously run on
 * microtasks forever: timers and sockets starve (see bench/README.md, "Findings").
 */
export function batchedSchedule(): (task: () => void) => void {
  let tasks: (() => void)[] = []
  let armed = false
  const run = (): void => {
    armed = false
    const batch = tasks
    tasks = []
    for (const task of batch) task()
  }
  return (task) => {
    tasks.push(task)
    if (!armed) {
      armed = true
      setImmediate(run)
    }
  }
}

/** Transports for one benchmark: a memory network shared by its swarms, or ws on 127.0.0.1. */
export class Net {
  readonly network: MemoryNetwork | null
  constructor(readonly kind: TransportKind) {
    this.network = kind === 'memory' ? createMemoryNetwork({ schedule: batchedSchedule() }) : null
  }

  transport(): Transport {
    return this.network ? this.network.transport() : createWsTransport({ maxMessageBytes: 1024 * 1024 })
  }

  get listen(): string {
    return this.kind === 'memory' ? 'memory://0' : 'ws://127.0.0.1:0'
  }
}

/** A started, driven swarm on `net`, listening unless `listen: false`. */
export async function startSwarm(net: Net, options: SwarmOptions & { listens?: boolean } = {}): Promise<Driven> {
  const { listens = true, ...rest } = options
  const swarm = await createSwarm({
    ping: false,
    discovery: false,
    transports: [net.transport()],
    ...(listens ? { listen: [net.listen] } : {}),
    ...rest,
    limits: { ...BENCH_LIMITS, ...rest.limits },
  })
  const driven = new Driven(swarm)
  if (listens) await driven.next('swarm.listening', (e) => e.type === 'swarm.listening')
  return driven
}

/** Dial `to` from `from` and wait until both sides have handed out `peer.connected`. */
export async function connect(from: Driven, to: Driven, ms = 10_000): Promise<void> {
  const a = from.next('dialer peer.connected', isConnected(to.peerId), ms)
  const b = to.next('listener peer.connected', isConnected(from.peerId), ms)
  from.swarm.dial(to.address)
  await Promise.all([a, b])
}

/** Hang up and wait until both sides have handed out `peer.disconnected`. */
export async function disconnect(from: Driven, to: Driven, ms = 10_000): Promise<void> {
  const a = from.next('dialer peer.disconnected', isDisconnected(to.peerId), ms)
  const b = to.next('listener peer.disconnected', isDisconnected(from.peerId), ms)
  from.swarm.hangUp(to.peerId)
  await Promise.all([a, b])
}

/** What the driver attaches to a connection: its edge (src/runtime/conn-edge.ts), whose host is the driver. */
export type ShellConnView = ConnEdge & { readonly host: Driver }

/**
 * Wrap a transport to record the handler the driver attaches to each connection, so a
 * benchmark can reach the driver and feed a connection's input path directly.
 */
export function capturing(inner: Transport): { transport: Transport; handlers: ShellConnView[] } {
  const handlers: ShellConnView[] = []
  const wrap = (conn: Conn): Conn => {
    const attach = conn.attach.bind(conn)
    conn.attach = (handler: ConnHandler) => {
      handlers.push(handler as ShellConnView)
      attach(handler)
    }
    return conn
  }
  const transport: Transport = {
    name: inner.name,
    handles: (address) => inner.handles(address),
    listen: (address, accept) => inner.listen(address, (conn) => accept(wrap(conn))),
    dial: async (address, options) => wrap(await inner.dial(address, options)),
    close: () => inner.close(),
  }
  return { transport, handlers }
}

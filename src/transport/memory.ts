/**
 * In-memory transport: the `Transport` interface inside one process, for tests and simulation.
 *
 * Why: a network of swarms must be runnable deterministically. Every delivery (a connection
 * opening, a message, a close) is one task handed to the network's `schedule` (default
 * `queueMicrotask`), so a simulator that runs tasks in FIFO order replays the same network
 * byte for byte. Each end of a connection has an inbox delivered in order; pause() really holds
 * it. Names are deterministic (`memory://1`, `memory://2`... in listen order). Faults are part
 * of the network: `disconnect(name)` and `kill(transport)` end connections as a crash would.
 *
 * Close protocol (mirrors WebSocket): `close(reason)` queues a close item behind the data
 * already sent; the remote reports `closed(reason, true)` and queues an ack; the closer reports
 * `closed(reason, false)` on the ack, so messages the remote sent before it saw the close still
 * arrive. Two simultaneous closes each report their own reason.
 * @module
 */
import { truncateReason, type Conn, type ConnHandler, type Listener, type Transport } from './transport.js'

/** Options of `createMemoryNetwork`. */
export interface MemoryNetworkOptions {
  /**
   * Runs one delivery task, after `delayMs` (only ever > 0 with `links`); a simulator queues
   * them and runs them in (time, FIFO) order. Default queueMicrotask.
   */
  schedule?: (task: () => void, delayMs: number) => void
  /** Largest message a receiving end accepts, in bytes. Default 1 MiB. */
  maxMessageBytes?: number
  /** A simulated link model (latency, loss, partitions); default: every item arrives at once. */
  links?: MemoryLinks
}

/**
 * How the links between transports behave (the simulator's faults). Transports are named by
 * `network.idOf(transport)`. Items of one connection always arrive in the order sent.
 */
export interface MemoryLinks {
  /** The current time (ms) of the scheduler `schedule` delays against. */
  now(): number
  /** Milliseconds until a message sent now from `from` to `to` arrives, or 'lost': the connection breaks, as a real one does. */
  transit(from: number, to: number): number | 'lost'
  /** Whether `from` can reach `to` now: a dial across a partition fails with `unreachable`. */
  reachable(from: number, to: number): boolean
}

/** A simulated network: transports share its names, scheduler and faults. */
export interface MemoryNetwork {
  /** A new transport on this network (one per swarm). */
  transport(options?: { maxMessageBytes?: number }): Transport
  /** Abruptly end every connection accepted by listener `name` (`memory://x` or `x`): both ends see `connection-lost`. */
  disconnect(name: string): void
  /** Crash `transport`: its listeners vanish, every connection ends with `connection-lost`, later calls fail. */
  kill(transport: Transport): void
  /** Abruptly end every connection between transports `a` and `b` for which `cut(a, b)` holds (both ends see `connection-lost`); returns how many. */
  reset(cut: (a: number, b: number) => boolean): number
  /** The id `links` names `transport` by (1, 2, ... in creation order). */
  idOf(transport: Transport): number
}

type Item = (
  | { kind: 'data'; bytes: Uint8Array }
  /** graceful: the remote closes; ack: the remote saw our close; abort: ended without a handshake. */
  | { kind: 'close'; how: 'graceful' | 'ack' | 'abort'; reason: string }
) & { at?: number }

const PREFIX = 'memory://'

/** One end of an in-memory connection. */
class End implements Conn {
  peer!: End
  handler: ConnHandler | null = null
  state: 'open' | 'closing' | 'closed' = 'open'
  /** This end crashed: it reports `connection-lost` whatever it was doing. */
  dead = false
  myReason = ''
  paused = false
  /** Items waiting for delivery to this end, in order. */
  readonly inbox: Item[] = []
  /** Delivery tasks scheduled and not yet run. */
  pending = 0
  /** Bytes this end sent that the peer has not been handed yet. */
  outstanding = 0
  /** When the last item pushed to this end arrives (with links: later items never overtake it). */
  lastArrival = 0

  constructor(readonly owner: MemoryTransport, readonly remoteAddr: string, readonly listenerName: string | null) {
    owner.conns.add(this)
  }

  get bufferedAmount(): number {
    return this.outstanding
  }

  attach(handler: ConnHandler): void {
    this.handler = handler
    this.topUp()
  }

  send(bytes: Uint8Array): void {
    if (this.state !== 'open') return
    this.outstanding += bytes.byteLength
    this.peer.push({ kind: 'data', bytes: bytes.slice() }) // the receiver owns its copy
  }

  sendParts(parts: readonly Uint8Array[]): void {
    if (this.state !== 'open') return
    let length = 0
    for (const part of parts) length += part.byteLength
    const bytes = new Uint8Array(length) // the receiver's copy, joined
    length = 0
    for (const part of parts) {
      bytes.set(part, length)
      length += part.byteLength
    }
    this.outstanding += bytes.byteLength
    this.peer.push({ kind: 'data', bytes })
  }

  close(reason: string): void {
    if (this.state !== 'open') return
    this.state = 'closing'
    this.myReason = truncateReason(reason)
    this.peer.push({ kind: 'close', how: 'graceful', reason: this.myReason })
  }

  pause(): void {
    this.paused = true
  }

  resume(): void {
    this.paused = false
    this.topUp()
  }

  /** End abruptly from this side: both ends report `connection-lost`. */
  crash(): void {
    if (this.state === 'closed' || this.dead) return
    this.dead = true
    this.state = 'closing'
    this.dropInbox()
    this.push({ kind: 'close', how: 'abort', reason: 'connection-lost' }, false)
    this.peer.push({ kind: 'close', how: 'abort', reason: 'connection-lost' })
  }

  /** Queue an item sent by the peer (`overLink`) or by this end itself (a crash noticed locally). */
  push(item: Item, overLink = true): void {
    if (this.state === 'closed') {
      if (item.kind === 'data') this.peer.outstanding -= item.bytes.byteLength
      return
    }
    const links = this.owner.network.links
    let delay = 0
    if (links && overLink) {
      const transit = links.transit(this.peer.owner.id, this.owner.id)
      if (transit === 'lost' && item.kind === 'data') {
        this.peer.outstanding -= item.bytes.byteLength
        this.peer.crash()
        return
      }
      const now = links.now()
      item.at = Math.max(now + (transit === 'lost' ? 0 : transit), this.lastArrival)
      this.lastArrival = item.at
      delay = item.at - now
    }
    this.inbox.push(item)
    this.pending++
    this.owner.network.schedule(() => this.deliverNext(), delay)
  }

  /** Schedule enough tasks for everything waiting (after a pause or before `attach`). */
  topUp(): void {
    while (this.pending < this.inbox.length) {
      this.pending++
      this.owner.network.schedule(() => this.deliverNext(), 0)
    }
  }

  /** One task: deliver the head of the inbox unless it must wait. */
  deliverNext(): void {
    this.pending--
    const head = this.inbox[0]
    if (this.state === 'closed' || this.handler === null || head === undefined) return
    if (head.kind === 'data' && this.paused) return
    const now = this.owner.network.links?.now() ?? 0
    if (head.at !== undefined && head.at > now) {
      // Woken early (a resume or attach): wait for the head's arrival.
      this.pending++
      this.owner.network.schedule(() => this.deliverNext(), head.at - now)
      return
    }
    this.inbox.shift()
    if (head.kind === 'data') {
      this.peer.outstanding -= head.bytes.byteLength
      if (head.bytes.byteLength > this.owner.maxMessageBytes) {
        this.peer.push({ kind: 'close', how: 'abort', reason: 'frame-too-large' })
        this.report('frame-too-large', false)
      } else {
        this.handler.data(head.bytes)
      }
    } else if (this.dead) {
      this.report('connection-lost', true)
    } else if (head.how === 'graceful' && this.state === 'open') {
      this.peer.push({ kind: 'close', how: 'ack', reason: head.reason })
      this.report(head.reason || 'closed-by-remote', true)
    } else if (this.state === 'closing') {
      this.report(this.myReason, false) // ack, simultaneous close, or the remote vanished
    } else {
      this.report(head.reason, true)
    }
  }

  report(reason: string, byRemote: boolean): void {
    this.state = 'closed'
    this.dropInbox()
    this.owner.conns.delete(this)
    this.handler?.closed(reason, byRemote)
  }

  dropInbox(): void {
    for (const item of this.inbox) if (item.kind === 'data') this.peer.outstanding -= item.bytes.byteLength
    this.inbox.length = 0
  }
}

class MemoryListener implements Listener {
  readonly addresses: string[]
  constructor(readonly name: string, readonly owner: MemoryTransport, readonly accept: (conn: Conn) => void) {
    this.addresses = [PREFIX + name]
  }

  close(): Promise<void> {
    if (this.owner.network.listeners.get(this.name) === this) this.owner.network.listeners.delete(this.name)
    this.owner.listeners.delete(this)
    return Promise.resolve()
  }
}

class MemoryTransport implements Transport {
  readonly name = 'memory'
  readonly conns = new Set<End>()
  readonly listeners = new Set<MemoryListener>()
  closed = false
  private connSeq = 0

  constructor(readonly network: Network, readonly id: number, readonly maxMessageBytes: number) {}

  handles(address: string): boolean {
    return address.startsWith(PREFIX)
  }

  listen(address: string, accept: (conn: Conn) => void): Promise<Listener> {
    if (this.closed) return Promise.reject(new Error('transport-closed'))
    if (!this.handles(address)) return Promise.reject(new Error('invalid-address'))
    let name = address.slice(PREFIX.length)
    if (name === '' || name === '0') name = this.network.freshName()
    if (this.network.listeners.has(name)) return Promise.reject(new Error('address-in-use'))
    const listener = new MemoryListener(name, this, accept)
    this.network.listeners.set(name, listener)
    this.listeners.add(listener)
    return Promise.resolve(listener)
  }

  dial(address: string, options?: { signal?: AbortSignal }): Promise<Conn> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('transport-closed'))
      if (!this.handles(address)) return reject(new Error('invalid-address'))
      const name = address.slice(PREFIX.length)
      const links = this.network.links
      const target = this.network.listeners.get(name)?.owner.id
      const transit = links && target !== undefined ? links.transit(this.id, target) : 0
      this.network.schedule(() => {
        const listener = this.network.listeners.get(name)
        if (options?.signal?.aborted) return reject(new Error('aborted'))
        if (this.closed) return reject(new Error('transport-closed'))
        if (listener === undefined) return reject(new Error('connection-refused'))
        if (links && !links.reachable(this.id, listener.owner.id)) return reject(new Error('unreachable'))
        const client = new End(this, PREFIX + name, null)
        const server = new End(listener.owner, `${PREFIX}t${this.id}-${++this.connSeq}`, name)
        client.peer = server
        server.peer = client
        listener.accept(server)
        resolve(client)
      }, transit === 'lost' ? 0 : transit)
    })
  }

  /** Starts a graceful close of every connection; the closes complete as the network runs. */
  async close(): Promise<void> {
    this.closed = true
    for (const listener of [...this.listeners]) await listener.close()
    for (const conn of this.conns) conn.close('transport-closed')
  }
}

class Network implements MemoryNetwork {
  readonly listeners = new Map<string, MemoryListener>()
  readonly transports = new Set<MemoryTransport>()
  readonly schedule: (task: () => void, delayMs: number) => void
  readonly links: MemoryLinks | undefined
  private readonly maxMessageBytes: number
  private nameSeq = 0

  constructor(options: MemoryNetworkOptions) {
    this.schedule = options.schedule ?? queueMicrotask
    this.links = options.links
    this.maxMessageBytes = options.maxMessageBytes ?? 1024 * 1024
  }

  freshName(): string {
    let name: string
    do name = String(++this.nameSeq)
    while (this.listeners.has(name))
    return name
  }

  transport(options?: { maxMessageBytes?: number }): Transport {
    const transport = new MemoryTransport(this, this.transports.size + 1, options?.maxMessageBytes ?? this.maxMessageBytes)
    this.transports.add(transport)
    return transport
  }

  disconnect(name: string): void {
    const bare = name.startsWith(PREFIX) ? name.slice(PREFIX.length) : name
    for (const transport of this.transports)
      for (const conn of [...transport.conns]) if (conn.listenerName === bare) conn.crash()
  }

  reset(cut: (a: number, b: number) => boolean): number {
    let n = 0
    for (const transport of this.transports) {
      for (const conn of [...transport.conns]) {
        if (conn.state === 'closed' || conn.dead || !cut(transport.id, conn.peer.owner.id)) continue
        conn.crash()
        n++
      }
    }
    return n
  }

  idOf(transport: Transport): number {
    return this.own(transport, 'idOf').id
  }

  private own(transport: Transport, what: string): MemoryTransport {
    if (!(transport instanceof MemoryTransport) || transport.network !== this) throw new TypeError(`${what}: not a transport of this network`)
    return transport
  }

  kill(t: Transport): void {
    const transport = this.own(t, 'kill')
    transport.closed = true
    for (const listener of [...transport.listeners]) void listener.close()
    for (const conn of [...transport.conns]) conn.crash()
  }
}

/** A new in-memory network; `network.transport()` gives each swarm its transport. */
export function createMemoryNetwork(options: MemoryNetworkOptions = {}): MemoryNetwork {
  return new Network(options)
}

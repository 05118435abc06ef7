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
  /** Runs one delivery task; a simulator queues them and runs them in FIFO order. Default queueMicrotask. */
  schedule?: (task: () => void) => void
  /** Largest message a receiving end accepts, in bytes. Default 1 MiB. */
  maxMessageBytes?: number
}

/** A simulated network: transports share its names, scheduler and faults. */
export interface MemoryNetwork {
  /** A new transport on this network (one per swarm). */
  transport(options?: { maxMessageBytes?: number }): Transport
  /** Abruptly end every connection accepted by listener `name` (`memory://x` or `x`): both ends see `connection-lost`. */
  disconnect(name: string): void
  /** Crash `transport`: its listeners vanish, every connection ends with `connection-lost`, later calls fail. */
  kill(transport: Transport): void
}

type Item =
  | { kind: 'data'; bytes: Uint8Array }
  /** graceful: the remote closes; ack: the remote saw our close; abort: ended without a handshake. */
  | { kind: 'close'; how: 'graceful' | 'ack' | 'abort'; reason: string }

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
    this.push({ kind: 'close', how: 'abort', reason: 'connection-lost' })
    this.peer.push({ kind: 'close', how: 'abort', reason: 'connection-lost' })
  }

  push(item: Item): void {
    if (this.state === 'closed') {
      if (item.kind === 'data') this.peer.outstanding -= item.bytes.byteLength
      return
    }
    this.inbox.push(item)
    this.pending++
    this.owner.network.schedule(() => this.deliverNext())
  }

  /** Schedule enough tasks for everything waiting (after a pause or before `attach`). */
  topUp(): void {
    while (this.pending < this.inbox.length) {
      this.pending++
      this.owner.network.schedule(() => this.deliverNext())
    }
  }

  /** One task: deliver the head of the inbox unless it must wait. */
  deliverNext(): void {
    this.pending--
    const head = this.inbox[0]
    if (this.state === 'closed' || this.handler === null || head === undefined) return
    if (head.kind === 'data' && this.paused) return
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
      this.network.schedule(() => {
        const listener = this.network.listeners.get(name)
        if (options?.signal?.aborted) return reject(new Error('aborted'))
        if (this.closed) return reject(new Error('transport-closed'))
        if (listener === undefined) return reject(new Error('connection-refused'))
        const client = new End(this, PREFIX + name, null)
        const server = new End(listener.owner, `${PREFIX}t${this.id}-${++this.connSeq}`, name)
        client.peer = server
        server.peer = client
        listener.accept(server)
        resolve(client)
      })
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
  readonly schedule: (task: () => void) => void
  private readonly maxMessageBytes: number
  private nameSeq = 0

  constructor(options: MemoryNetworkOptions) {
    this.schedule = options.schedule ?? queueMicrotask
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

  kill(transport: Transport): void {
    if (!(transport instanceof MemoryTransport) || transport.network !== this) throw new TypeError('kill: not a transport of this network')
    transport.closed = true
    for (const listener of [...transport.listeners]) void listener.close()
    for (const conn of [...transport.conns]) conn.crash()
  }
}

/** A new in-memory network; `network.transport()` gives each swarm its transport. */
export function createMemoryNetwork(options: MemoryNetworkOptions = {}): MemoryNetwork {
  return new Network(options)
}

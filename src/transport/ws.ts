/**
 * WebSocket transport: the `Transport` interface over the `ws` package, one message per frame.
 *
 * It is the only place xswarm touches real sockets, so it stays small and does four things
 * carefully. (1) Limits before buffering: `maxPayload` is our frame limit, so ws refuses an
 * oversized frame from its header (close 1009, reason `frame-too-large`). (2) No crash path:
 * every socket and the server carry an `'error'` listener from the first moment, as module-level
 * named functions that reach their state through Symbol keys (ws's own style: no closure per
 * socket). (3) Batching: the first send in a turn corks the net.Socket and `process.nextTick`
 * uncorks it, so the frames of one turn leave in one write (about 4x the messages/s at 128 B).
 * (4) Exact reporting: `closed` is called once, after every message received before the close.
 * Deflate is off on both sides (CPU cost, and a compression oracle next to encrypted frames).
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { rootCertificates } from 'node:tls'
import { WebSocket, WebSocketServer } from 'ws'
import { deliverHeld, truncateReason, type Conn, type ConnHandler, type Listener, type Transport } from './transport.js'
import { DEFAULT_WIRE_LIMITS, guard, lift, receiverReason, unauthenticatedOptions, type WireLimits } from './ws-guard.js'
import { frameHeader, senderIdle } from './ws-frame.js'
import { listenShared, sharedServerUrl, type SharedServer } from './ws-shared.js'
import { UnfinishedBudget } from './ws-unfinished.js'

/** Options of `createWsTransport`; every field has a default (the wire bounds: see ws-guard.ts). */
export interface WsTransportOptions extends Partial<WireLimits> {
  /** Largest message accepted once the secure channel is up, in bytes (ws `maxPayload`). Default 1 MiB. */
  maxMessageBytes?: number
  /** Dial: opening handshake deadline; listen: HTTP request head deadline. Default 10 s. */
  handshakeTimeoutMs?: number
  /** After `close()` (or a protocol error), terminate if the remote has not completed the close. Default 2 s. */
  closeTimeoutMs?: number
  /** Cork the socket during a turn so its frames leave in one write. Default true (false: for benchmarks). */
  batch?: boolean
  /**
   * Web servers of the service to share (`{ server, path }` listen entries): listening on the
   * url of one of them (`sharedServerUrl`) takes its upgrades on that path instead of opening a port.
   */
  servers?: SharedServer[]
  /** Certificates (PEM) to trust for `wss://` dials, in addition to Node's default root CAs. */
  ca?: string | Uint8Array | Array<string | Uint8Array>
}

const kConn = Symbol('xswarm.ws.conn')
const kListen = Symbol('xswarm.ws.listen')
const BINARY = { binary: true } as const
/** Reasons for close codes a remote sent without a reason text. */
const CODE_REASONS: Record<number, string> = {
  1002: 'protocol-error', 1003: 'unsupported-data', 1007: 'invalid-payload',
  1008: 'policy-violation', 1009: 'frame-too-large', 1011: 'internal-error',
}
const SYSTEM_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection-refused', ETIMEDOUT: 'timeout', EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable', ECONNRESET: 'connection-lost', EPIPE: 'connection-lost',
}

type Tagged<K extends symbol, V> = { [P in K]?: V }
type TaggedWs = WebSocket & Tagged<typeof kConn, WsConn>
/** What one listener (own port or shared server) needs to turn an upgrade request into a Conn. */
interface ListenState { owner: WsTransport; wss: WebSocketServer; accept: (conn: Conn) => void }
type TaggedRequest = IncomingMessage & Tagged<typeof kListen, ListenState>

/** TLS verification failures of a wss dial (node:tls codes): the server's certificate is not trusted. */
const UNTRUSTED_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID',
])

/** Turn an error from ws or the socket into a short reason. */
function reasonOf(err: Error & { code?: string }): string {
  const code = err.code ?? ''
  if (UNTRUSTED_CODES.has(code)) return 'tls-untrusted'
  const wire = receiverReason(err)
  if (wire !== null) return wire
  if (code !== '') return SYSTEM_REASONS[code] ?? code.toLowerCase()
  if (err.message.includes('handshake has timed out')) return 'timeout'
  return err.message.startsWith('Unexpected server response') ? 'unexpected-response' : 'handshake-failed'
}

/** `ws://host:port` from a socket address; IPv6 in brackets. */
const formatAddr = (host = 'unknown', port = 0): string => (host.includes(':') ? `ws://[${host}]:${port}` : `ws://${host}:${port}`)

/** A dial in progress: settled by the conn's 'open', 'error' or 'close'. */
interface Dialing { resolve: (conn: Conn) => void; reject: (err: Error) => void; signal?: AbortSignal; aborted: boolean }

/** One WebSocket as a `Conn` (handed out once open). The ws listeners below reach it through `ws[kConn]`. */
class WsConn implements Conn {
  handler: ConnHandler | null = null
  dialing: Dialing | null = null
  closeCalled = false
  /** Our reason once `close()` started the close handshake (reported as ours), else null. */
  closeReason: string | null = null
  /** Reason from a ws 'error' (frame-too-large, protocol-error...), else null. */
  errorReason: string | null = null
  closeTimer: NodeJS.Timeout | null = null
  corked = false
  paused = false
  /** Messages received while paused or before `attach`, in order. */
  held: Uint8Array[] = []
  /** How the socket ended, once it has; reported after `held` drains. */
  ended: { reason: string; byRemote: boolean } | null = null
  reported = false
  socket!: Socket

  /** We dialed it: our frames are masked (RFC 6455 5.3). */
  readonly dialed: boolean

  constructor(readonly ws: TaggedWs, readonly remoteAddr: string, readonly owner: WsTransport, dialing?: Dialing) {
    this.dialed = dialing !== undefined
    ws.binaryType = 'nodebuffer'
    ws[kConn] = this
    ws.on('error', wsOnError)
    ws.on('message', wsOnMessage)
    ws.on('close', wsOnClose)
    if (dialing === undefined) {
      wsOnOpen.call(ws)
      return
    }
    this.dialing = dialing
    ws.on('open', wsOnOpen)
    dialing.signal?.addEventListener('abort', this)
    owner.dials.add(this)
  }

  /** The dial's AbortSignal fired. */
  handleEvent(): void {
    if (this.dialing) this.dialing.aborted = true
    this.ws.terminate()
  }

  /** Settle the dial, if one is pending, with `err` (or this conn). */
  settleDial(err?: Error): void {
    const dialing = this.dialing
    if (dialing === null) return
    this.dialing = null
    dialing.signal?.removeEventListener('abort', this)
    this.owner.dials.delete(this)
    this.reported = err !== undefined // a failed dial never reports `closed`
    if (err) dialing.reject(dialing.aborted ? new Error('aborted') : this.owner.closing ? new Error('transport-closed') : err)
    else dialing.resolve(this)
  }

  /** The secure channel is up: lift the bounds of an unauthenticated connection (ws-guard.ts). */
  secured(): void {
    lift(this.ws, this.owner.options)
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount // includes bytes held by our cork (socket writableLength)
  }

  attach(handler: ConnHandler): void {
    this.handler = handler
    if (this.held.length > 0 || this.ended) process.nextTick(drainHeld, this)
  }

  send(bytes: Uint8Array): void {
    if (this.closeCalled || this.ws.readyState !== WebSocket.OPEN) return
    this.cork()
    this.ws.send(bytes, BINARY)
  }

  /**
   * One binary frame of `parts`: its header, then the parts as they are (ws's `send` takes one
   * buffer: joining them would copy the message). See ws-frame.ts for why the order holds.
   */
  sendParts(parts: readonly Uint8Array[]): void {
    if (this.closeCalled || this.ws.readyState !== WebSocket.OPEN) return
    if (!senderIdle(this.ws)) return this.send(Buffer.concat(parts))
    this.cork()
    let length = 0
    for (const part of parts) length += part.length
    const socket = this.socket
    socket.cork() // one write even when the turn is not batched
    socket.write(frameHeader(length, this.dialed))
    for (const part of parts) socket.write(part)
    socket.uncork()
  }

  /** The first write in a turn corks the socket; the frames of the turn leave in one write. */
  private cork(): void {
    if (this.corked || !this.owner.options.batch) return
    this.corked = true
    this.socket.cork()
    process.nextTick(uncork, this)
  }

  close(reason: string): void {
    if (this.closeCalled) return
    this.closeCalled = true
    if (this.ws.readyState !== WebSocket.OPEN) return // the remote or an error is closing it already
    this.closeReason = truncateReason(reason)
    this.ws.close(1000, this.closeReason)
    this.armCloseTimer()
  }

  /** End abruptly, without a close handshake: the remote sees `connection-lost`. */
  terminate(): void {
    this.closeCalled = true
    if (this.ws.readyState === WebSocket.OPEN) this.closeReason = 'terminated'
    this.ws.terminate()
  }

  pause(): void {
    this.paused = true
    this.ws.pause()
  }

  resume(): void {
    if (!this.paused) return
    this.paused = false
    this.ws.resume()
    if (this.held.length > 0 || this.ended) process.nextTick(drainHeld, this)
  }

  armCloseTimer(): void {
    this.closeTimer ??= setTimeout(terminateStalled, this.owner.options.closeTimeoutMs, this)
  }
}

function uncork(conn: WsConn): void {
  conn.corked = false
  conn.socket.uncork()
}

function terminateStalled(conn: WsConn): void {
  conn.ws.terminate()
}

const drainHeld = deliverHeld

function wsOnOpen(this: TaggedWs): void {
  const conn = this[kConn] as WsConn
  conn.socket = (this as unknown as { _socket: Socket })._socket
  guard(this, conn.owner.options, (reason) => conn.close(reason))
  conn.owner.unfinished.watch(this, conn.socket, () => conn.close('too-much-unfinished'))
  conn.owner.conns.add(conn)
  conn.settleDial()
}

function wsOnMessage(this: TaggedWs, data: Buffer): void {
  const conn = this[kConn] as WsConn
  if (conn.handler === null || conn.paused || conn.held.length > 0) conn.held.push(data)
  else conn.handler.data(data)
}

function wsOnError(this: TaggedWs, err: Error): void {
  const conn = this[kConn] as WsConn
  if (conn.dialing) return conn.settleDial(new Error(reasonOf(err)))
  if (conn.reported || conn.ended) return
  conn.errorReason ??= reasonOf(err)
  conn.armCloseTimer() // ws sent a close frame: do not wait for a silent remote forever
}

function wsOnClose(this: TaggedWs, code: number, reason: Buffer): void {
  const conn = this[kConn] as WsConn
  if (conn.dialing) return conn.settleDial(new Error('connection-lost'))
  if (conn.closeTimer !== null) clearTimeout(conn.closeTimer)
  conn.ended =
    conn.closeReason !== null ? { reason: conn.closeReason, byRemote: false }
    : conn.errorReason !== null ? { reason: conn.errorReason, byRemote: conn.errorReason === 'connection-lost' }
    : code === 1006 ? { reason: 'connection-lost', byRemote: true }
    : { reason: reason.toString() || CODE_REASONS[code] || 'closed-by-remote', byRemote: true }
  conn.owner.forget(conn)
  drainHeld(conn)
}

function ignore(): void {}

function serverOnUpgrade(this: Server & Tagged<typeof kListen, ListenState>, req: TaggedRequest, socket: Socket, head: Buffer): void {
  upgradeToSwarm(this[kListen] as ListenState, req, socket, head)
}

/** Hand one upgrade request to the swarm: the one path for own listeners and shared servers alike. */
export function upgradeToSwarm(state: ListenState, req: IncomingMessage, socket: Socket, head: Buffer): void {
  ;(req as TaggedRequest)[kListen] = state
  state.wss.handleUpgrade(req, socket, head, acceptUpgraded) // adds its socket 'error' listener first
}

function acceptUpgraded(ws: WebSocket, req: TaggedRequest): void {
  const state = req[kListen] as ListenState
  state.accept(new WsConn(ws, formatAddr(req.socket.remoteAddress, req.socket.remotePort), state.owner))
}

/** Plain HTTP requests get 426: this server only speaks WebSocket. */
function respondUpgradeRequired(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(426, { connection: 'close', upgrade: 'websocket' }).end()
}

class WsTransport implements Transport {
  readonly name = 'ws'
  readonly conns = new Set<WsConn>()
  /** Unfinished message bytes over all sockets, bounded by `maxUnfinishedBytes`. */
  readonly unfinished: UnfinishedBudget
  readonly dials = new Set<WsConn>()
  readonly listeners = new Set<Listener>()
  closing = false
  private whenEmpty: (() => void) | null = null

  /** Root CAs plus the configured ones, for wss dials; undefined: Node's defaults. */
  private readonly trust: Array<string | Buffer> | undefined

  constructor(readonly options: Required<Omit<WsTransportOptions, 'ca'>> & Pick<WsTransportOptions, 'ca'>) {
    const ca = options.ca
    const extra = ca === undefined ? [] : (Array.isArray(ca) ? ca : [ca]).map((c) => (typeof c === 'string' ? c : Buffer.from(c)))
    this.trust = ca === undefined ? undefined : [...rootCertificates, ...extra]
    this.unfinished = new UnfinishedBudget(options.maxUnfinishedBytes)
  }

  handles(address: string): boolean {
    return address.startsWith('ws://') || address.startsWith('wss://')
  }

  /** A listener's upgrade state: a ws server (no port of its own) with our limits. */
  listenState(accept: (conn: Conn) => void): ListenState {
    const wss = new WebSocketServer({ noServer: true, clientTracking: false, ...unauthenticatedOptions(this.options) })
    wss.on('error', ignore)
    return { owner: this, wss, accept }
  }

  forget(conn: WsConn): void {
    this.conns.delete(conn)
    if (this.conns.size === 0) this.whenEmpty?.()
  }

  async listen(address: string, accept: (conn: Conn) => void): Promise<Listener> {
    if (this.closing) throw new Error('transport-closed')
    const shared = this.options.servers.find((entry) => sharedServerUrl(entry) === address)
    if (shared !== undefined) {
      const state = this.listenState(accept)
      return listenShared(shared, (req, socket, head) => upgradeToSwarm(state, req, socket, head), this.listeners)
    }
    let url: URL
    try {
      url = new URL(address)
    } catch {
      throw new Error('invalid-address')
    }
    const ms = this.options.handshakeTimeoutMs
    // Node checks headersTimeout/requestTimeout only when it sweeps connections (every 30 s by
    // default): sweep at a quarter of the timeout so a half-sent upgrade is dropped in time.
    const server = createServer(
      { headersTimeout: ms, requestTimeout: ms, connectionsCheckingInterval: Math.max(100, Math.floor(ms / 4)) },
      respondUpgradeRequired,
    )
    Object.assign(server, { [kListen]: this.listenState(accept) })
    server.on('upgrade', serverOnUpgrade)
    server.on('error', ignore) // after listening, errors belong to sockets (each has its own listener)
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: Error) => reject(new Error(reasonOf(err))))
      server.listen(url.port === '' ? 80 : Number(url.port), url.hostname.replace(/^\[(.*)\]$/, '$1'), resolve)
    })
    const info = server.address() as AddressInfo
    const listeners = this.listeners
    const listener: Listener = {
      addresses: [formatAddr(info.address, info.port)],
      close: () => {
        if (!listeners.delete(listener)) return Promise.resolve()
        server.close() // stops accepting now; upgraded sockets are not touched
        server.closeIdleConnections()
        return new Promise((resolve) => setImmediate(resolve))
      },
    }
    listeners.add(listener)
    return listener
  }

  dial(address: string, options?: { signal?: AbortSignal }): Promise<Conn> {
    return new Promise((resolve, reject) => {
      if (this.closing) return reject(new Error('transport-closed'))
      if (options?.signal?.aborted) return reject(new Error('aborted'))
      let ws: WebSocket
      try {
        ws = new WebSocket(address, {
          ...unauthenticatedOptions(this.options),
          handshakeTimeout: this.options.handshakeTimeoutMs, followRedirects: false,
          generateMask: zeroMask, ...(this.trust ? { ca: this.trust } : {}),
        })
      } catch {
        return reject(new Error('invalid-address'))
      }
      new WsConn(ws, address, this, { resolve, reject, signal: options?.signal, aborted: false })
    })
  }

  /** Closes listeners, aborts dials, closes every connection; resolves when all sockets are gone. */
  async close(): Promise<void> {
    this.closing = true
    await Promise.all([...this.listeners].map((l) => l.close()))
    for (const dial of this.dials) dial.ws.terminate()
    if (this.conns.size === 0) return
    const empty = new Promise<void>((resolve) => (this.whenEmpty = resolve))
    for (const conn of this.conns) {
      conn.close('transport-closed')
      conn.armCloseTimer() // also bounds closes the remote started
    }
    await empty
  }
}

/**
 * A WebSocket transport: listens on `ws://host:port` (IPv6 as `ws://[::1]:port`) or on shared
 * web servers, and dials `ws://` and `wss://` addresses, with or without a path.
 */
export function createWsTransport(options: WsTransportOptions = {}): Transport {
  return new WsTransport({
    ...DEFAULT_WIRE_LIMITS,
    ...definedOnly(options),
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
    closeTimeoutMs: options.closeTimeoutMs ?? 2_000,
    batch: options.batch ?? true,
    servers: options.servers ?? [],
    ca: options.ca,
  })
}

/** `options` without its undefined fields (so they do not hide a default). */
function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>
}

/**
 * Client frames carry an all-zero mask, so neither end spends time XOR-ing payloads in
 * JavaScript (about 2× throughput without the optional `bufferutil` addon). RFC 6455 asks for
 * unpredictable masks to protect intermediaries from scripts in browsers; between xswarm
 * nodes every frame after the handshake is ciphertext, and no browser builds our frames.
 */
function zeroMask(mask: Buffer): void {
  mask.fill(0)
}

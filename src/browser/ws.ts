/**
 * The WebSocket transport of the browser build (package.json `browser` maps transport/ws.js
 * here): the browser's own `WebSocket`, dial-only. Same `Transport`/`Conn` contract as the Node
 * transport: one message per frame, `closed` once and after every message received, messages
 * held in order while paused. A browser socket cannot stop reading, so `pause` holds messages in
 * memory instead of applying TCP backpressure; the swarm's rate limits still bound a peer.
 * Browsers report no cause for a failed dial (a refused port, a TLS error and a 404 look alike),
 * so every one is `connection-failed`.
 * @module
 */
import { deliverHeld, truncateReason, type Conn, type ConnHandler, type Listener, type Transport } from '../transport/transport.js'

/** Options of `createWsTransport` in a browser (the Node-only ones are accepted and ignored). */
export interface WsTransportOptions {
  /** Largest message accepted, in bytes: a larger one closes the connection (`frame-too-large`). Default 1 MiB. */
  maxMessageBytes?: number
  /** Opening handshake deadline. Default 10 s. */
  handshakeTimeoutMs?: number
  [nodeOnly: string]: unknown
}

class BrowserConn implements Conn {
  handler: ConnHandler | null = null
  paused = false
  held: Uint8Array[] = []
  ended: { reason: string; byRemote: boolean } | null = null
  reported = false
  closeReason: string | null = null

  constructor(readonly ws: WebSocket, readonly remoteAddr: string, readonly maxBytes: number, onEnd: (conn: BrowserConn) => void) {
    ws.onmessage = (ev: MessageEvent<ArrayBuffer>) => {
      if (ev.data.byteLength > this.maxBytes) return this.close('frame-too-large')
      const bytes = new Uint8Array(ev.data)
      if (this.handler === null || this.paused || this.held.length > 0) this.held.push(bytes)
      else this.handler.data(bytes)
    }
    ws.onclose = (ev: CloseEvent) => {
      this.ended = this.closeReason !== null ? { reason: this.closeReason, byRemote: false }
        : ev.code === 1006 ? { reason: 'connection-lost', byRemote: true }
        : { reason: ev.reason || 'closed-by-remote', byRemote: true }
      onEnd(this)
      this.drain()
    }
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount
  }

  attach(handler: ConnHandler): void {
    this.handler = handler
    if (this.held.length > 0 || this.ended) queueMicrotask(() => this.drain())
  }

  send(bytes: Uint8Array): void {
    if (this.closeReason === null && this.ws.readyState === WebSocket.OPEN) this.ws.send(bytes as Uint8Array<ArrayBuffer>)
  }

  close(reason: string): void {
    if (this.closeReason !== null || this.ws.readyState !== WebSocket.OPEN) return
    this.closeReason = truncateReason(reason)
    this.ws.close(1000, this.closeReason)
  }

  pause(): void {
    this.paused = true
  }

  resume(): void {
    if (!this.paused) return
    this.paused = false
    queueMicrotask(() => this.drain())
  }

  drain(): void {
    deliverHeld(this)
  }
}

class BrowserWsTransport implements Transport {
  readonly name = 'ws'
  readonly conns = new Set<BrowserConn>()
  closing = false

  constructor(readonly maxBytes: number, readonly handshakeTimeoutMs: number) {}

  handles(address: string): boolean {
    return address.startsWith('ws://') || address.startsWith('wss://')
  }

  listen(): Promise<Listener> {
    return Promise.reject(new Error('a browser cannot listen: the browser build is dial-only'))
  }

  dial(address: string, options?: { signal?: AbortSignal }): Promise<Conn> {
    return new Promise((resolve, reject) => {
      if (this.closing) return reject(new Error('transport-closed'))
      if (options?.signal?.aborted) return reject(new Error('aborted'))
      let ws: WebSocket
      try {
        ws = new WebSocket(address)
      } catch {
        return reject(new Error('invalid-address'))
      }
      ws.binaryType = 'arraybuffer'
      const fail = (reason: string) => {
        clearTimeout(timer)
        options?.signal?.removeEventListener('abort', onAbort)
        ws.onopen = ws.onerror = ws.onclose = null
        if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) ws.close()
        reject(new Error(reason))
      }
      const onAbort = () => fail('aborted')
      const timer = setTimeout(() => fail('timeout'), this.handshakeTimeoutMs)
      options?.signal?.addEventListener('abort', onAbort)
      ws.onerror = () => fail('connection-failed')
      ws.onclose = () => fail('connection-failed')
      ws.onopen = () => {
        clearTimeout(timer)
        options?.signal?.removeEventListener('abort', onAbort)
        ws.onerror = null
        const conn = new BrowserConn(ws, address, this.maxBytes, (c) => this.conns.delete(c))
        this.conns.add(conn)
        resolve(conn)
      }
    })
  }

  async close(): Promise<void> {
    this.closing = true
    for (const conn of this.conns) conn.close('transport-closed')
  }
}

/** The browser's WebSocket transport: dials `ws://` and `wss://` addresses; cannot listen. */
export function createWsTransport(options: WsTransportOptions = {}): Transport {
  return new BrowserWsTransport(options.maxMessageBytes ?? 1024 * 1024, options.handshakeTimeoutMs ?? 10_000)
}

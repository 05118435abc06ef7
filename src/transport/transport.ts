/**
 * Transport: the smallest interface a byte pipe must offer the swarm.
 *
 * A transport moves whole messages (one frame each) and reports what happened through the
 * handler the swarm attaches. Handlers only push inputs onto the swarm's queue; a transport
 * never decides anything. Implementations: `ws.ts` (WebSockets) and `memory.ts` (in-process,
 * deterministic under a simulated scheduler). `test/helpers/transport-suite.ts` is the
 * compliance suite both must pass.
 * @module
 */

/** What a connection reports. Called only after `attach`; never re-entrantly from `send`/`close`. */
export interface ConnHandler {
  /** One whole message arrived (the bytes are owned by the receiver from now on). */
  data(bytes: Uint8Array): void
  /** The connection is gone, for `reason` (the remote's close reason when `byRemote`). Called once. */
  closed(reason: string, byRemote: boolean): void
}

/** One open connection. */
export interface Conn {
  /** The remote address as the transport sees it (ws://host:port). */
  readonly remoteAddr: string
  /** Attach the handler; must be called synchronously when the connection is handed out. */
  attach(handler: ConnHandler): void
  /**
   * Queue one message. Never throws; sending on a closed connection is a no-op.
   * Do not modify `bytes` afterwards: a transport may hold them until they are written.
   */
  send(bytes: Uint8Array): void
  /**
   * Optional: queue one message made of `parts` in order, as `send` would their concatenation,
   * without joining them (a large encrypted frame: ciphertext, then tag). Same rules as `send`.
   */
  sendParts?(parts: readonly Uint8Array[]): void
  /** Bytes accepted by `send` but not yet written to the network. */
  readonly bufferedAmount: number
  /** Close gracefully with a reason the remote can read (≤ 120 bytes UTF-8); `closed` follows once. */
  close(reason: string): void
  /**
   * Stop reading from the network (backpressure); `resume` starts again. Idempotent.
   * While paused no `data` is delivered; messages wait in order. `closed` always comes after
   * the last message, so a paused connection with messages held reports `closed` after `resume`.
   */
  pause(): void
  resume(): void
  /**
   * The secure channel is up (optional): a transport that keeps tighter bounds on a connection
   * nobody has authenticated yet (ws: one handshake frame per message) lifts them now.
   */
  secured?(): void
}

/** A running listener. */
export interface Listener {
  /** Where it listens, as `ws://host:port` (no /p2p part: the swarm appends it). */
  readonly addresses: string[]
  /** Stop accepting; open connections are not touched. */
  close(): Promise<void>
}

/** Limits a transport enforces itself, before a message reaches the swarm. */
export interface TransportLimits {
  /** Largest message accepted, in bytes; a larger one closes the connection with `frame-too-large`. */
  maxMessageBytes: number
}

export interface Transport {
  /** Short name used in logs and errors (`ws`, `memory`). */
  readonly name: string
  /** Whether `dial`/`listen` accept this address (already parsed to `ws://host:port` or `memory://name`). */
  handles(address: string): boolean
  /** Listen; `accept` is called once per inbound connection, synchronously attach a handler there. */
  listen(address: string, accept: (conn: Conn) => void): Promise<Listener>
  /** Dial; resolves with an open connection or rejects with an Error whose message is the reason. */
  dial(address: string, options?: { signal?: AbortSignal }): Promise<Conn>
  /** Close all listeners and connections this transport made (used by swarm.close as a last resort). */
  close(): Promise<void>
}

/** A connection's inbound state while its handler may not take messages yet (paused, or not attached). */
export interface HeldMessages {
  handler: ConnHandler | null
  paused: boolean
  /** Messages received while paused or before `attach`, in order. */
  held: Uint8Array[]
  /** How the socket ended, once it has; reported after `held` drains. */
  ended: { reason: string; byRemote: boolean } | null
  /** `closed` was reported (or the conn never opened). */
  reported: boolean
}

/** Deliver held messages (unless paused again), then `closed` once the socket has ended: the order the Conn contract promises. */
export function deliverHeld(conn: HeldMessages): void {
  const handler = conn.handler
  if (handler === null || conn.reported) return
  while (!conn.paused && conn.held.length > 0) handler.data(conn.held.shift() as Uint8Array)
  if (conn.held.length === 0 && conn.ended) {
    conn.reported = true
    handler.closed(conn.ended.reason, conn.ended.byRemote)
  }
}

/** Longest close reason in bytes of UTF-8 (a WebSocket close frame holds 123 after its code). */
export const MAX_REASON_BYTES = 120

/** Cut `reason` to at most `maxBytes` bytes of UTF-8 without splitting a character. */
export function truncateReason(reason: string, maxBytes = MAX_REASON_BYTES): string {
  let bytes = 0
  let end = 0
  for (const ch of reason) {
    const cp = ch.codePointAt(0) as number
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4
    if (bytes > maxBytes) return reason.slice(0, end)
    end += ch.length
  }
  return reason
}

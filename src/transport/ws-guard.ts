/**
 * What one WebSocket may hold and do below the message layer: unfinished messages and
 * control frames. The ws transport (ws.ts) applies it to every socket it accepts or dials.
 *
 * Why a separate guard: `ws` bounds a whole message (`maxPayload`) but by default lets one
 * unfinished message hold 16,384 fragments and 262,144 buffered socket chunks, each a Buffer of
 * ~100 bytes of overhead however small its payload, and nothing counts them until the message
 * completes (which an attacker never lets happen): 16,000 one-byte fragments pinned ~1.8 MB per
 * connection. And `ws` answers every ping by itself and, past 60 pongs waiting to be written,
 * cuts the socket without a close frame, which both ends then read as `connection-lost`.
 *
 * So: (1) every socket starts with the bounds of an unauthenticated connection, where a
 * message is at most one handshake frame (`maxUnauthenticatedMessageBytes`, 64 KiB + 256) in at
 * most `maxFragments` fragments and 64 chunks; `lift` raises them to the full message size once
 * the secure channel is up (the driver says so through `Conn.secured`). (2) A limit the
 * receiver hits closes with a reason of ours in the close frame (`frame-too-large`,
 * `too-many-fragments`), not only a bare close code. (3) Pings and pongs draw from a token bucket
 * per connection (`maxControlFramesPerSecond`, burst = 4 s worth); we answer pings ourselves
 * while there are tokens and close with `rate-limit` when there are none. xswarm nodes never
 * send WebSocket pings (their keep-alive is a protocol), so the bucket only meets proxies.
 *
 * `ws` offers these bounds per server, not per connection, so raising them after the handshake
 * writes the receiver's own limit fields (`_maxPayload`, `_maxBufferedChunks`): `lift` checks
 * that they exist and throws otherwise, so a `ws` upgrade that renames them fails loudly
 * (test/unit/transport-ws.test.ts covers it), never silently keeps the tight bounds.
 * @module
 */
import type { WebSocket } from 'ws'

/** The guard's bounds (a part of `WsTransportOptions`; defaults in `DEFAULT_WIRE_LIMITS`). */
export interface WireLimits {
  /** Largest message after the handshake (ws `maxPayload`). */
  maxMessageBytes: number
  /** Largest message before the handshake: one handshake frame. */
  maxUnauthenticatedMessageBytes: number
  /** Fragments one message may arrive in (our peers never fragment). */
  maxFragments: number
  /** Socket chunks buffered while one frame is incomplete, after the handshake (before it: 64). */
  maxBufferedChunks: number
  /** WebSocket pings and pongs per second from the remote (token bucket, burst = 4 s worth). */
  maxControlFramesPerSecond: number
  /** Bytes of unfinished messages summed over the transport's sockets (ws-unfinished.ts). */
  maxUnfinishedBytes: number
}

/** A Noise message is at most 65,535 bytes; its frame adds a flags byte, the protocol id and msgpack headers. */
export const DEFAULT_WIRE_LIMITS: Readonly<WireLimits> = Object.freeze({
  maxMessageBytes: 1024 * 1024,
  maxUnauthenticatedMessageBytes: 65_536 + 256,
  maxFragments: 16,
  maxBufferedChunks: 4096,
  maxControlFramesPerSecond: 4,
  maxUnfinishedBytes: 64 * 1024 * 1024,
})

/** Buffered chunks allowed before the handshake: a handshake frame arrives in one or two reads. */
const UNAUTHENTICATED_CHUNKS = 64
/** Close codes for the receiver's errors, with our reason text next to them. */
const STATUS_OF: Record<string, number> = {
  'frame-too-large': 1009, 'too-many-fragments': 1008, 'invalid-payload': 1007, 'protocol-error': 1002,
}

/** The `ws` options (server or client) that start a socket with the unauthenticated bounds. */
export function unauthenticatedOptions(limits: WireLimits): {
  maxPayload: number; maxFragments: number; maxBufferedChunks: number; autoPong: false; perMessageDeflate: false
} {
  return {
    maxPayload: Math.min(limits.maxMessageBytes, limits.maxUnauthenticatedMessageBytes),
    maxFragments: limits.maxFragments,
    maxBufferedChunks: Math.min(limits.maxBufferedChunks, UNAUTHENTICATED_CHUNKS),
    autoPong: false,
    perMessageDeflate: false,
  }
}

/** The receiver fields `lift` writes (ws/lib/receiver.js). */
interface ReceiverLimits { _maxPayload: number; _maxBufferedChunks: number }
interface Internals { _receiver?: ReceiverLimits & { prependListener(event: 'error', fn: (err: Error & { code?: string }) => void): void } }

/** The secure channel is up: a message may now be as large as `maxMessageBytes`. */
export function lift(ws: WebSocket, limits: WireLimits): void {
  const receiver = (ws as unknown as Internals)._receiver
  if (receiver === undefined) return // closed before it was set up
  if (typeof receiver._maxPayload !== 'number' || typeof receiver._maxBufferedChunks !== 'number') {
    throw new Error('ws receiver has no _maxPayload/_maxBufferedChunks: this ws version is not supported by ws-guard.ts')
  }
  receiver._maxPayload = limits.maxMessageBytes
  receiver._maxBufferedChunks = limits.maxBufferedChunks
}

const kBucket = Symbol('xswarm.ws.controlBucket')
interface Bucket { tokens: number; at: number; rate: number; onExceeded: (reason: string) => void }
type Guarded = WebSocket & { [kBucket]?: Bucket }

/**
 * Guard an open socket: bounded pings/pongs (answered by us), and the receiver's limit errors
 * closing with our reason. `onExceeded('rate-limit')` is called once the bucket is empty (the
 * transport closes the connection with that reason, so both ends read it).
 */
export function guard(ws: WebSocket, limits: WireLimits, onExceeded: (reason: string) => void): void {
  const g = ws as Guarded
  const rate = limits.maxControlFramesPerSecond
  g[kBucket] = { tokens: rate * 4, at: performance.now(), rate, onExceeded }
  ws.on('ping', wsOnPing)
  ws.on('pong', wsOnPong)
  // Runs before ws's own listener (which would close with a bare code): ours puts the reason in.
  ;(ws as unknown as Internals)._receiver?.prependListener('error', function receiverOnLimit(err) {
    const reason = receiverReason(err)
    if (reason !== null && ws.readyState === 1) ws.close(STATUS_OF[reason], reason)
  })
}

/** Our reason for a receiver error code, or null for codes the transport reports as they are. */
export function receiverReason(err: { code?: string }): string | null {
  switch (err.code) {
    case 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH': return 'frame-too-large'
    case 'WS_ERR_TOO_MANY_BUFFERED_PARTS': return 'too-many-fragments'
    case 'WS_ERR_INVALID_UTF8': return 'invalid-payload'
    default: return err.code?.startsWith('WS_ERR_') ? 'protocol-error' : null
  }
}

/** Take one token; false (and the connection reported) once there is none. */
function spend(ws: Guarded): boolean {
  const bucket = ws[kBucket]
  if (bucket === undefined) return false
  const now = performance.now()
  bucket.tokens = Math.min(bucket.rate * 4, bucket.tokens + ((now - bucket.at) / 1000) * bucket.rate)
  bucket.at = now
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1
    return true
  }
  if (bucket.tokens > -1) {
    bucket.tokens = -1 // report once
    bucket.onExceeded('rate-limit')
  }
  return false
}

function wsOnPing(this: Guarded, data: Buffer): void {
  if (spend(this) && this.readyState === 1) this.pong(data)
}

function wsOnPong(this: Guarded): void {
  spend(this)
}

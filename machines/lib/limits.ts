/**
 * Every bound on what a peer controls, and every timeout, with its documented default.
 *
 * One place so README.md and SECURITY.md can table them, and so `createSwarm({ limits })`
 * can override any of them. The codec and the transports enforce the byte limits before
 * anything is decoded; the root machine enforces the connection counts.
 * @module
 */

export interface Limits {
  /** Largest frame (one WebSocket message), checked before decoding. Default 1 MiB. */
  maxFrameBytes: number
  /** Open connections in all states. Default 1024. */
  maxConnections: number
  /** Connections not yet authenticated (handshaking). Default 128. */
  maxPendingConnections: number
  /**
   * Simultaneous connections to one peer, those closing included (duplicates are resolved to
   * one; this bounds the race). The survivor is never refused: at the bound it takes the place
   * of the oldest closing one. Default 4.
   */
  maxConnectionsPerPeer: number
  /** Dials in flight. Default 64. */
  maxPendingDials: number
  /** Inbound frames per second per connection (token bucket, burst = one second). Default 5,000. */
  maxFramesPerSecond: number
  /** Inbound bytes per second per connection (token bucket, burst = one second). Default 64 MiB. */
  maxBytesPerSecond: number
  /** Outbound bytes queued on one connection before the peer counts as not reading. Default 16 MiB. */
  maxQueuedBytes: number
  /** Inputs waiting in the swarm's queue before sockets are paused. Default 4096. */
  maxQueuedInputs: number
  /** Bytes of received frames waiting in the swarm's queue before sockets are paused. Default 64 MiB. */
  maxQueuedInputBytes: number
  /** Inbound connections, in all states, from one source (an IPv4 address, an IPv6 /64). Default 8. */
  maxConnectionsPerIp: number
  /** Inbound connections not yet authenticated from one source. Default 4. */
  maxPendingPerIp: number
  /** New inbound connections per second from one source (token bucket). Default 0.2. */
  connectionsPerIpPerSecond: number
  /** Burst of that bucket: connections one source may open at once. Default 16. */
  connectionBurstPerIp: number
  /** Connection slots only dials and allowlisted sources may use (at most a quarter of maxConnections). Default 16. */
  reservedConnections: number
}

export interface Timeouts {
  /** A dial must open within this. Default 10 s. */
  dial: number
  /** A handshake must finish within this. Default 10 s. */
  handshake: number
  /**
   * How long an open connection may receive nothing before it pings: any frame received is proof
   * of life, so a connection with traffic is never pinged. The first wait after opening is shorter
   * by a seeded jitter in [0, keepAlive/4) (connection.machine.ts), so connections opened together
   * do not ping together; and the dialer's wait counted from a ping or pong is keepAlive/8 shorter,
   * so on a quiet connection only the dialer pings (one exchange per period, not one from each end).
   * Neither shortening lengthens a wait: the bound of pingTimeout holds. Default 15 s.
   */
  keepAlive: number
  /** A ping must be answered within this; a silent remote is closed at the latest keepAlive + pingTimeout after its last frame. Default 20 s. */
  pingTimeout: number
  /**
   * When a peer's new connection would lose to its existing one, the existing one is probed
   * with a ping that must be answered within this, or the new one replaces it (a restarted
   * peer whose old connection is half-open). Keep it below `handshake`. Default 2 s.
   */
  probe: number
  /** A graceful close may take this long. Default 2 s. */
  close: number
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxFrameBytes: 1024 * 1024,
  maxConnections: 1024,
  maxPendingConnections: 128,
  maxConnectionsPerPeer: 4,
  maxPendingDials: 64,
  maxFramesPerSecond: 5000,
  maxBytesPerSecond: 64 * 1024 * 1024,
  maxQueuedBytes: 16 * 1024 * 1024,
  maxQueuedInputs: 4096,
  maxQueuedInputBytes: 64 * 1024 * 1024,
  maxConnectionsPerIp: 8,
  maxPendingPerIp: 4,
  connectionsPerIpPerSecond: 0.2,
  connectionBurstPerIp: 16,
  reservedConnections: 16,
})

export const DEFAULT_TIMEOUTS: Readonly<Timeouts> = Object.freeze({
  dial: 10_000,
  handshake: 10_000,
  keepAlive: 15_000,
  pingTimeout: 20_000,
  probe: 2_000,
  close: 2_000,
})

/** Merge user overrides into the defaults, checking each value (RangeError names the field). */
export function resolveBounds<T extends object>(defaults: Readonly<T>, overrides: Partial<T> | undefined, what: string): T {
  const out = { ...defaults }
  if (overrides === undefined) return out
  if (typeof overrides !== 'object' || overrides === null) throw new TypeError(`"${what}" expected an object`)
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in defaults)) throw new RangeError(`"${what}.${key}" is not a known setting (known: ${Object.keys(defaults).join(', ')})`)
    if (typeof value !== 'number') throw new TypeError(`"${what}.${key}" expected a number, got ${typeof value}`)
    if (!Number.isFinite(value) || value <= 0) {
      throw new RangeError(`"${what}.${key}" expected a positive number, got ${String(value)}`)
    }
    ;(out as Record<string, number>)[key] = value
  }
  return out
}

/**
 * Dials: opens the connections the machines ask for (`effect.dial`) and cancels them
 * (`effect.cancelDial`). The outcome comes back only as an input at the tail of the queue:
 * `io.conn.opened{dialId}` (the new connection is registered by the pump) or
 * `io.dial.failed{dialId, reason}`.
 * @module
 */
import type { Input } from '../../machines/vocab.js'
import type { Conn, Transport } from '../transport/transport.js'

/** The transport that handles `url`; throws when none does. */
export function transportFor(transports: readonly Transport[], url: string): Transport {
  const transport = transports.find((t) => t.handles(url))
  if (!transport) throw new Error(`no transport for ${url}`)
  return transport
}

export class Dialer {
  private readonly transports: readonly Transport[]
  private readonly dials = new Map<number, AbortController>()
  private readonly enqueue: (input: Input) => void
  /** Registers a dialed connection with the pump; returns its connId. */
  private readonly register: (conn: Conn) => number
  private stopped = false

  constructor(transports: readonly Transport[], enqueue: (input: Input) => void, register: (conn: Conn) => number) {
    this.transports = transports
    this.enqueue = enqueue
    this.register = register
  }

  dial(dialId: number, url: string): void {
    let transport: Transport
    try {
      transport = transportFor(this.transports, url)
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
        const connId = this.register(conn)
        this.enqueue({ type: 'io.conn.opened', connId, dialId, remoteAddr: conn.remoteAddr })
      },
      (error: unknown) => {
        this.dials.delete(dialId)
        const reason = error instanceof Error ? error.message : String(error)
        this.enqueue({ type: 'io.dial.failed', dialId, reason: reason || 'dial-failed' })
      },
    )
  }

  cancel(dialId: number): void {
    this.dials.get(dialId)?.abort()
    this.dials.delete(dialId)
  }

  /** Abort every dial in flight; a dial that still completes is closed at once. */
  stop(): void {
    this.stopped = true
    for (const controller of this.dials.values()) controller.abort()
    this.dials.clear()
  }
}

/**
 * The bytes the sockets of one transport hold in unfinished WebSocket messages, and a budget on
 * their sum.
 *
 * ws-guard.ts bounds one connection: it holds at most one unfinished message, of at most
 * `maxMessageBytes`. Nothing there bounds the sum: peers that each keep a message of almost
 * 1 MiB open (never sending its last frame) held +42.6 MiB for 40 connections, about 1 GiB for
 * 1,024 (test/adversarial/ws-wire.test.ts). So after every read of a socket its unfinished bytes
 * are measured, and while the sum is above `maxUnfinishedBytes` the socket whose unfinished
 * message is the oldest is closed with `too-much-unfinished`: an honest message completes soon
 * after its first byte arrives, one held open on purpose grows old.
 *
 * What a socket holds is read from the `ws` receiver: `_messageLength` (the payload of the
 * message's frames already complete) plus `_bufferedBytes` (the bytes of the frame still
 * arriving). `watch` checks the fields exist and throws otherwise, so a `ws` upgrade that renames
 * them fails loudly (like ws-guard.ts `lift`).
 * @module
 */
import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'

interface ReceiverState { _messageLength: number; _bufferedBytes: number }
interface Holder { receiver: ReceiverState; bytes: number; since: number; shed: () => void }

export class UnfinishedBudget {
  /** Unfinished bytes over all watched sockets. */
  total = 0
  private readonly holders = new Map<WebSocket, Holder>()

  constructor(readonly max: number) {}

  /** Measure `ws` after every read of `socket`; `shed` closes it when it must go. */
  watch(ws: WebSocket, socket: Socket, shed: () => void): void {
    const receiver = (ws as unknown as { _receiver?: Partial<ReceiverState> })._receiver
    if (receiver === undefined) return // closed before it was set up
    if (typeof receiver._messageLength !== 'number' || typeof receiver._bufferedBytes !== 'number') {
      throw new Error('ws receiver has no _messageLength/_bufferedBytes: this ws version is not supported by ws-unfinished.ts')
    }
    const holder: Holder = { receiver: receiver as ReceiverState, bytes: 0, since: 0, shed }
    this.holders.set(ws, holder)
    // Added after ws's own listener: runs once the receiver has taken the read.
    socket.on('data', () => this.measure(holder))
    ws.once('close', () => this.forget(ws))
  }

  /** What one socket holds now; shed the oldest holders while the sum is over the budget. */
  measure(holder: Holder): void {
    const bytes = holder.receiver._messageLength + holder.receiver._bufferedBytes
    if (bytes > 0 && holder.bytes === 0) holder.since = performance.now()
    this.total += bytes - holder.bytes
    holder.bytes = bytes
    while (this.total > this.max) {
      const oldest = this.oldest()
      if (oldest === undefined) break
      this.forget(oldest[0])
      oldest[1].shed()
    }
  }

  forget(ws: WebSocket): void {
    const holder = this.holders.get(ws)
    if (holder === undefined) return
    this.total -= holder.bytes
    this.holders.delete(ws)
  }

  private oldest(): [WebSocket, Holder] | undefined {
    let found: [WebSocket, Holder] | undefined
    for (const entry of this.holders) if (entry[1].bytes > 0 && (found === undefined || entry[1].since < found[1].since)) found = entry
    return found
  }
}

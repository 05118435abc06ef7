/**
 * `/bench/blast/1`: a user protocol that sends data frames to one peer as fast as the receiver
 * acknowledges them, with a window, written with the public protocol API (like ping).
 *
 * Sender: `blast.start {peer, size, count, window}` sends up to `window` unacknowledged frames
 * (each body one shared `size`-byte Uint8Array) and tops the window up on every ack;
 * `blast.stop` stops sending. Receiver: counts data frames, acks every `ackEvery`
 * (`[1, received]`, cumulative; 0: never) and outputs `blast.progress {received}` every
 * `progressEvery` frames (0: never). `blast.count` outputs `blast.count {received}` at once.
 * Used for the queue figures (small frames) and the throughput figures (64 KiB frames).
 * @module
 */
import { enqueueActions, setup } from 'xstate'
import { defineProtocol, toPeer, type FromSwarm, type ProtocolDefinition, type ProtocolInput } from '../../machines/lib/protocol.js'

export const BLAST_ID = '/bench/blast/1'

export interface BlastOptions {
  /** Receiver: ack every this many data frames (0: never ack). */
  ackEvery: number
  /** Receiver: output `blast.progress` every this many data frames (0: never). */
  progressEvery: number
}

/** A data frame is a Uint8Array; an ack is `[1, receivedSoFar]`. */
export type BlastMessage = Uint8Array | [1, number]

export type BlastCommand =
  | { type: 'blast.start'; peer: string; size: number; count: number; window: number }
  | { type: 'blast.stop' }
  | { type: 'blast.count' }

interface BlastContext {
  options: BlastOptions
  peer: string | null
  body: Uint8Array
  window: number
  count: number
  sent: number
  acked: number
  received: number
}

function parseBlast(body: unknown): BlastMessage | undefined {
  if (body instanceof Uint8Array) return body
  if (Array.isArray(body) && body.length === 2 && body[0] === 1 && Number.isSafeInteger(body[1])) return body as [1, number]
  return undefined
}

const blastMachine = setup({
  types: {
    context: {} as BlastContext,
    events: {} as FromSwarm<BlastMessage, BlastCommand>,
    input: {} as ProtocolInput<BlastOptions>,
  },
  actions: {
    start: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<BlastCommand, { type: 'blast.start' }>
      context.peer = e.peer
      context.body = new Uint8Array(e.size).fill(0xab)
      context.window = e.window
      context.count = e.count
      context.sent = 0
      context.acked = 0
      while (context.sent < context.count && context.sent - context.acked < context.window) {
        context.sent++
        enqueue.emit(toPeer(BLAST_ID, e.peer, context.body) as never)
      }
    }),
    stop: ({ context }) => {
      context.count = context.sent
    },
    receive: enqueueActions(({ context, event, enqueue }) => {
      const { peer, body } = event as { peer: string; body: BlastMessage }
      if (body instanceof Uint8Array) {
        const received = ++context.received
        const { ackEvery, progressEvery } = context.options
        if (ackEvery > 0 && received % ackEvery === 0) enqueue.emit(toPeer(BLAST_ID, peer, [1, received]) as never)
        if (progressEvery > 0 && received % progressEvery === 0) enqueue.emit({ type: 'blast.progress', received } as never)
        return
      }
      context.acked = Math.max(context.acked, body[1])
      if (context.peer === null) return
      while (context.sent < context.count && context.sent - context.acked < context.window) {
        context.sent++
        enqueue.emit(toPeer(BLAST_ID, context.peer, context.body) as never)
      }
    }),
    report: enqueueActions(({ context, enqueue }) => {
      enqueue.emit({ type: 'blast.count', received: context.received } as never)
    }),
  },
}).createMachine({
  id: 'blast',
  context: ({ input }) => ({
    options: input.options,
    peer: null,
    body: new Uint8Array(0),
    window: 0,
    count: 0,
    sent: 0,
    acked: 0,
    received: 0,
  }),
  on: {
    message: { actions: 'receive' },
    'blast.start': { actions: 'start' },
    'blast.stop': { actions: 'stop' },
    'blast.count': { actions: 'report' },
  },
})

export function blastProtocol(options: Partial<BlastOptions> = {}): ProtocolDefinition<BlastMessage> {
  return defineProtocol<BlastMessage>({
    id: BLAST_ID,
    machine: blastMachine,
    parse: parseBlast,
    options: { ackEvery: options.ackEvery ?? 64, progressEvery: options.progressEvery ?? 0 },
  })
}

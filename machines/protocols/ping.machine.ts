/**
 * The ping protocol `/xswarm/ping/1`: round-trip times to every connected peer, as events.
 *
 * Written with the same protocol API a user has (see lib/protocol.ts). Every `interval` it
 * pings each connected peer once; a peer answers a ping with a pong carrying the same
 * sequence number, and the round trip (input time of the pong minus input time of the ping)
 * is output as `ping.rtt`. A new peer is pinged at once. The command `ping.send {peer}` pings
 * one peer on demand. At most one ping per peer is outstanding; one unanswered for
 * `LOST_AFTER` intervals counts as lost and the peer is pinged again (a frame can be lost
 * when the peer moves to a new connection, e.g. a restarted peer replacing its half-open old
 * one). Liveness itself is the connection's keep-alive, not this protocol's job.
 * @module
 */
import { emit, enqueueActions, setup } from 'xstate'
import { defineProtocol, toPeer, type FromSwarm, type ProtocolDefinition, type ProtocolInput } from '../lib/protocol.js'
import { inputTime } from '../lib/runtime.js'
import type { SendEffect } from '../vocab.js'

export const PING_ID = '/xswarm/ping/1'

export interface PingOptions {
  /** Time between pings to each peer, in ms. Default 10 s. */
  interval: number
}

/** Wire: `[0, seq]` is a ping, `[1, seq]` its pong. */
export type PingMessage = [0 | 1, number]

/** Accept exactly `[0|1, safe integer]`. */
export function parsePing(body: unknown): PingMessage | undefined {
  return Array.isArray(body) && body.length === 2 && (body[0] === 0 || body[0] === 1) && Number.isSafeInteger(body[1])
    ? (body as PingMessage)
    : undefined
}

/** Output: the round trip to `peer` took `rtt` ms. */
export interface PingRtt { type: 'ping.rtt'; peer: string; rtt: number }

export type PingCommand = { type: 'ping.send'; peer: string }
export type PingEvent = FromSwarm<PingMessage, PingCommand>

export interface Outstanding { seq: number; sentAt: number }

/** Intervals after which an unanswered ping counts as lost. */
const LOST_AFTER = 3

export interface PingContext {
  interval: number
  seq: number
  /** Connected peers and their outstanding ping, if any. */
  peers: Map<string, Outstanding | null>
}

export const pingMachine = setup({
  types: {
    context: {} as PingContext,
    events: {} as PingEvent,
    input: {} as ProtocolInput<Partial<PingOptions> | undefined>,
    emitted: {} as SendEffect | PingRtt,
  },
  delays: { interval: ({ context }) => context.interval },
  actions: {
    addPeer: ({ context, event }) => { context.peers.set((event as { peer: string }).peer, null) },
    removePeer: ({ context, event }) => { context.peers.delete((event as { peer: string }).peer) },
    /** Ping the event's peer (if connected and not already waiting for its pong). */
    pingOne: enqueueActions(({ context, event, enqueue, self }) => {
      const peer = (event as { peer: string }).peer
      if (!context.peers.has(peer) || context.peers.get(peer)) return
      const seq = ++context.seq
      context.peers.set(peer, { seq, sentAt: inputTime(self) })
      enqueue.emit(toPeer(PING_ID, peer, [0, seq]))
    }),
    pingAll: enqueueActions(({ context, enqueue, self }) => {
      const now = inputTime(self)
      for (const [peer, outstanding] of context.peers) {
        if (outstanding && now - outstanding.sentAt < LOST_AFTER * context.interval) continue
        const seq = ++context.seq
        context.peers.set(peer, { seq, sentAt: now })
        enqueue.emit(toPeer(PING_ID, peer, [0, seq]))
      }
    }),
    /** Answer pings; turn a matching pong into `ping.rtt`. */
    receive: enqueueActions(({ context, event, enqueue, self }) => {
      const { peer, body } = event as { peer: string; body: PingMessage }
      if (body[0] === 0) {
        enqueue.emit(toPeer(PING_ID, peer, [1, body[1]]))
        return
      }
      const outstanding = context.peers.get(peer)
      if (!outstanding || outstanding.seq !== body[1]) return
      context.peers.set(peer, null)
      enqueue.emit({ type: 'ping.rtt', peer, rtt: inputTime(self) - outstanding.sentAt })
    }),
  },
}).createMachine({
  id: 'ping',
  context: ({ input }) => ({
    interval: input.options?.interval ?? 10_000,
    seq: 0,
    peers: new Map(),
  }),
  initial: 'active',
  states: {
    active: {
      after: { interval: { target: 'active', reenter: true, actions: 'pingAll' } },
      on: {
        'peer.connected': { actions: ['addPeer', 'pingOne'] },
        'peer.disconnected': { actions: 'removePeer' },
        message: { actions: 'receive' },
        'ping.send': { actions: 'pingOne' },
        'swarm.closing': { target: 'stopped' },
      },
    },
    /** The swarm is closing: no more pings (not final, so late facts are simply ignored). */
    stopped: {},
  },
})

/** The ping protocol, ready for `createSwarm({ protocols: [pingProtocol()] })`. */
export function pingProtocol(options: Partial<PingOptions> = {}): ProtocolDefinition<PingMessage, typeof PING_ID, PingRtt, PingCommand> {
  if (options.interval !== undefined && (!Number.isFinite(options.interval) || options.interval <= 0)) {
    throw new RangeError(`"ping.interval" expected a positive number of ms, got ${options.interval}`)
  }
  return defineProtocol({ id: PING_ID, machine: pingMachine, parse: parsePing, options })
}

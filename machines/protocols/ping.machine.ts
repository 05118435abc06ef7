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
 *
 * Chart and data: the behaviour's chart is `pingMachine` (active ⇄ interval, stopped). What
 * happens with one peer is the protocol's `handler`, `pingPeerMachine` (ready / awaitingPong, the
 * lost ping an `after` delay), a peer chart the behaviour steps purely (lib/peer-chart.ts): no
 * actor per peer; each peer's entry (its state, pending delay, last sequence number and send
 * time) is data in the `peers` Map, readable in the inspector.
 * @module
 */
import { setup } from 'xstate'
import { enqueueActions } from '../lib/enqueue.js'
import { peerChart, tickPeerChart, type PeerChartEntry } from '../lib/peer-chart.js'
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

/** Intervals after which an unanswered ping counts as lost. */
const LOST_AFTER = 3

/** What the behaviour tells one peer's chart. */
export type PingPeerEvent =
  /** Time to ping this peer (it connected, the interval passed, or the user asked); `lostAfter` ms until an unanswered ping counts as lost. */
  | { type: 'ping.due'; lostAfter: number }
  /** A pong came from the peer; `matches` when it carries the sequence number of our outstanding ping. */
  | { type: 'ping.pong'; matches: boolean }

/**
 * One peer, as the ping behaviour sees it (the protocol's `handler`, a peer chart stepped
 * purely, lib/peer-chart.ts):
 *
 *   ready ──ping.due / sendPing──▶ awaitingPong ──ping.pong [isAnswer] / reportRtt──▶ ready
 *                                  awaitingPong ──after(pongTimeout)──▶ ready (lost: pinged again when due)
 */
export const pingPeerMachine = setup({
  types: { events: {} as PingPeerEvent },
  guards: {
    /** The pong answers our outstanding ping (same sequence number). */
    isAnswer: ({ event }) => event.type === 'ping.pong' && event.matches,
  },
  actions: {
    /** Send `[0, seq]` with a new sequence number; remember it and the input time. */
    sendPing: () => {},
    /** Output `ping.rtt`: the input time of the pong minus that of the ping. */
    reportRtt: () => {},
  },
  delays: {
    /** LOST_AFTER intervals, from the `ping.due` that sent the ping. */
    pongTimeout: ({ event }) => (event as { lostAfter?: number }).lostAfter ?? 0,
  },
}).createMachine({
  id: 'pingPeer',
  initial: 'ready',
  states: {
    /** No ping outstanding: the next `ping.due` pings. */
    ready: { on: { 'ping.due': { target: 'awaitingPong', actions: 'sendPing' } } },
    /** A ping is outstanding: further `ping.due`s wait; a wrong pong is ignored. */
    awaitingPong: {
      after: { pongTimeout: { target: 'ready' } },
      on: { 'ping.pong': { guard: 'isAnswer', target: 'ready', actions: 'reportRtt' } },
    },
  },
})

/** A connected peer: its chart entry plus the outstanding ping's sequence number and input time. */
export interface PingPeer extends PeerChartEntry { seq: number; sentAt: number }

export interface PingContext {
  interval: number
  seq: number
  /** Connected peers: each one's chart state (ready / awaitingPong) and last ping. */
  peers: Map<string, PingPeer>
}

/** What the peer chart's actions act on. */
interface PeerArg { context: PingContext; peer: string; entry: PingPeer; now: number; emit: (event: SendEffect | PingRtt) => void }

/** The ping handler: the per-peer chart with its actions' implementations. */
export const pingPeerChart = peerChart(pingPeerMachine, {
  sendPing: ({ context, peer, entry, now, emit }: PeerArg) => {
    entry.seq = ++context.seq
    entry.sentAt = now
    emit(toPeer(PING_ID, peer, [0, entry.seq]))
  },
  reportRtt: ({ peer, entry, now, emit }: PeerArg) => emit({ type: 'ping.rtt', peer, rtt: now - entry.sentAt }),
})

/** Step `peer`'s chart with `event` (a lost ping's timeout delivered first), if it is connected. */
function stepPeer(context: PingContext, peer: string, event: PingPeerEvent, now: number, emit: PeerArg['emit']): void {
  const entry = context.peers.get(peer)
  if (!entry) return
  const arg: PeerArg = { context, peer, entry, now, emit }
  tickPeerChart(pingPeerChart, entry, now, arg)
  pingPeerChart.send(entry, event, now, arg)
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
    addPeer: ({ context, event, self }) => {
      const peer = (event as { peer: string }).peer
      if (!context.peers.has(peer)) context.peers.set(peer, { ...pingPeerChart.start(inputTime(self), undefined as never), seq: 0, sentAt: 0 })
    },
    removePeer: ({ context, event }) => { context.peers.delete((event as { peer: string }).peer) },
    /** Ping the event's peer (its chart ignores it while a pong is awaited). */
    pingOne: enqueueActions(({ context, event, enqueue, self }) => {
      stepPeer(context, (event as { peer: string }).peer, { type: 'ping.due', lostAfter: LOST_AFTER * context.interval }, inputTime(self), enqueue.emit)
    }),
    pingAll: enqueueActions(({ context, enqueue, self }) => {
      const now = inputTime(self)
      for (const peer of context.peers.keys()) stepPeer(context, peer, { type: 'ping.due', lostAfter: LOST_AFTER * context.interval }, now, enqueue.emit)
    }),
    /** Answer pings; hand a pong to the peer's chart. */
    receive: enqueueActions(({ context, event, enqueue, self }) => {
      const { peer, body } = event as { peer: string; body: PingMessage }
      if (body[0] === 0) {
        enqueue.emit(toPeer(PING_ID, peer, [1, body[1]]))
        return
      }
      const matches = context.peers.get(peer)?.seq === body[1]
      stepPeer(context, peer, { type: 'ping.pong', matches }, inputTime(self), enqueue.emit)
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
  return defineProtocol({ id: PING_ID, machine: pingMachine, handler: pingPeerChart, parse: parsePing, options })
}

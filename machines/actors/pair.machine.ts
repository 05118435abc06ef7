/**
 * The at-least-once delivery states of one (sender actor, receiver actor) pair, on the sending
 * node: the chart the README draws (`docs/charts/pair.svg`).
 *
 *   idle (fresh → marked by a sweep) ──pair.pending──▶ unacked (inFlight ⇄ waitingForPeer)
 *     ▲                                                   │ pair.settled / pair.refused
 *     └───────────────────────────────────────────────────┘
 *   a second sweep while idle, a refusal that says the receiver is gone, or eviction ─▶ forgotten
 *
 * Chart and data: this chart holds the state of a pair; the events themselves (sequence
 * numbers, the unacknowledged envelopes, the last look of the resend timer) are data in the
 * pair (`OutPair` in context.ts). It is a peer chart (lib/peer-chart.ts): no actor per pair,
 * pairs.ts steps it purely, the pair is its entry (`state`), and its `resendPeriod` timer is a
 * delayed event of the actors protocol (exact, one per pair). The events entering `inFlight`
 * carry the resend period (`resendMs`, the protocol's `timeouts.redialMin`): a peer chart keeps
 * no context. The events are facts about the pair's data, told by outbound.ts:
 * `pair.pending` when its first unacknowledged event is sent, `pair.settled` when its last one
 * is acknowledged, `pair.refused` when a refusal left nothing unacknowledged.
 * @module
 */
import { setup } from 'xstate'
import { ActorCodes } from './wire.js'

/** What a pair's chart hears. */
export type PairEvent =
  /** The pair has an unacknowledged event now (it had none): sent if the peer is `connected`. */
  | { type: 'pair.pending'; connected: boolean; resendMs: number }
  /** Its last unacknowledged event was acknowledged. */
  | { type: 'pair.settled' }
  /** The receiving node refused an event and nothing else waits: `code` says why. */
  | { type: 'pair.refused'; code: string }
  /** The connection to the receiver's node is gone / is back. */
  | { type: 'peer.lost' }
  | { type: 'peer.connected'; resendMs: number }
  /** The periodic sweep of idle pairs (`timeouts.pairIdle`). */
  | { type: 'pair.swept' }
  /** `maxPairs` reached: an idle pair makes room for a new one. */
  | { type: 'pair.evicted' }

/** The delayed event of the resend period (it carries `resendMs` too: the period starts again). */
export const RESEND_DUE = 'xstate.after.resendPeriod.pair.unacked.inFlight'

export const pairMachine = setup({
  types: { events: {} as PairEvent },
  guards: {
    peerConnected: ({ event }) => event.type === 'pair.pending' && event.connected,
    /** The receiver does not exist (any more): nothing sent to it will ever be acknowledged. */
    receiverGone: ({ event }) => event.type === 'pair.refused' && (event.code === ActorCodes.noSuchActor || event.code === ActorCodes.actorStopped),
  },
  delays: {
    /** How long an event may stay unacknowledged on a live connection before it is sent again (the event's `resendMs`). */
    resendPeriod: ({ event }) => (event as { resendMs?: number }).resendMs ?? 0,
  },
  actions: {
    // Performed by pairs.ts (the chart is stepped purely; these name what the step asks for).
    /** Send again, in order, what was sent before the timer's last look and is still unacknowledged. */
    resendOverdue: () => {},
    /** Send every unacknowledged event again, in order (the connection is new). */
    resendAll: () => {},
  },
}).createMachine({
  id: 'pair',
  initial: 'idle',
  states: {
    /** Nothing waits for an acknowledgement. */
    idle: {
      initial: 'fresh',
      states: {
        fresh: { on: { 'pair.swept': 'marked' } },
        /** A sweep found it idle: the next one forgets it, unless it is used meanwhile. */
        marked: { on: { 'pair.swept': '#pair.forgotten' } },
      },
      on: {
        'pair.pending': [{ guard: 'peerConnected', target: 'unacked.inFlight' }, { target: 'unacked.waitingForPeer' }],
        'pair.refused': { guard: 'receiverGone', target: 'forgotten' },
        'pair.evicted': 'forgotten',
      },
    },
    /** Some events wait for an acknowledgement. */
    unacked: {
      initial: 'inFlight',
      states: {
        /** Sent on a live connection: what stays unacknowledged for a resend period goes again. */
        inFlight: {
          after: { resendPeriod: { target: 'inFlight', reenter: true, actions: 'resendOverdue' } },
          on: { 'peer.lost': 'waitingForPeer' },
        },
        /** The receiver's node is not connected: its link redials it with backoff (outbound.ts). */
        waitingForPeer: {
          on: { 'peer.connected': { target: 'inFlight', actions: 'resendAll' } },
        },
      },
      on: {
        'pair.settled': 'idle',
        'pair.refused': [{ guard: 'receiverGone', target: 'forgotten' }, { target: 'idle' }],
      },
    },
    /** The sender forgets the pair; used again, it starts afresh under a new pair epoch. */
    forgotten: { type: 'final' },
  },
})

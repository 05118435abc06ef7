/**
 * One peer's membership in the mesh of one topic, as this node sees it (gossipsub v1.1 GRAFT,
 * PRUNE and backoff):
 *
 *   outside ──member.graft (we chose it) / recordGraft, sendGraft──▶ grafted
 *   outside ──member.graftReceived [isNegativeScore | isNotSubscribed | isMeshFullForInbound]
 *                                  / refuseGraft──▶ backoff
 *   outside ──member.graftReceived / recordGraft──▶ grafted
 *   grafted ──member.prune / recordPrune, sendPrune──▶ backoff
 *   grafted ──member.pruneReceived / recordPrune──▶ backoff
 *   grafted ──member.left (unsubscribed, disconnected) / recordPrune──▶ outside
 *   outside ──member.pruneReceived──▶ backoff
 *   backoff ──member.graftReceived / penalize, refuseGraft──▶ backoff (again)
 *   backoff ──member.pruneReceived──▶ backoff (again)
 *   backoff ──after(backoff)──▶ outside
 *
 * Chart and data: this is a peer chart (lib/peer-chart.ts): no actor per (peer, topic); the
 * router steps it purely on GRAFT, PRUNE, a peer leaving and at the heartbeat (due backoffs), and
 * keeps each pair's entry (`{ state, timers }`) in the topic's `members` Map (mesh.ts). A pair
 * with no entry is `outside`. The topic's `mesh` Set is an index of the `grafted` entries, read on
 * the message path (O(1), unchanged). Which peers to graft or prune (random, by score, D_lo/D_hi,
 * outbound quotas) is the router's choice at the heartbeat (heartbeat.ts); what happens to one
 * pair is this chart. Guards read only the event (the router puts the facts on it), and the
 * backoff delay is the event's `backoff` (ms, the longer of the new one and what was left), so
 * `xstate/graph` walks it exhaustively.
 * @module
 */
import { setup } from 'xstate'

/** What the router tells a (peer, topic) pair. */
export type MembershipEvent =
  /** We put the peer into our mesh (heartbeat, join, a new subscriber while the mesh is low). */
  | { type: 'member.graft' }
  /**
   * The peer sent GRAFT. The facts the guards judge, and the backoff (ms) a refusal sets.
   * `meshFull`: our mesh is at D_hi and the peer connected inbound.
   */
  | { type: 'member.graftReceived'; negativeScore: boolean; subscribed: boolean; meshFull: boolean; backoff: number }
  /** We take the peer out of our mesh (score below 0, mesh over D_hi, we unsubscribe), with a backoff (ms). */
  | { type: 'member.prune'; backoff: number }
  /** The peer sent PRUNE with a backoff (ms). */
  | { type: 'member.pruneReceived'; backoff: number }
  /** The peer unsubscribed from the topic or disconnected (a backoff stays). */
  | { type: 'member.left' }

/** The states of a pair, as stored in `TopicState.members` (absent = 'outside'). */
export type MembershipState = 'outside' | 'grafted' | 'backoff'

export const membershipMachine = setup({
  types: { events: {} as MembershipEvent },
  guards: {
    /** The peer's score is below zero: no GRAFT accepted. */
    isNegativeScore: ({ event }) => event.type === 'member.graftReceived' && event.negativeScore,
    /** The peer never told us it subscribed to the topic. */
    isNotSubscribed: ({ event }) => event.type === 'member.graftReceived' && !event.subscribed,
    /** Our mesh is at D_hi and the peer is inbound (outbound peers are taken over D_hi). */
    isMeshFullForInbound: ({ event }) => event.type === 'member.graftReceived' && event.meshFull,
  },
  actions: {
    /** Score: the peer's time in mesh starts (P1, P3 activation). */
    recordGraft: () => {},
    /** Score: the peer's time in mesh ends (P3b mesh failure penalty). */
    recordPrune: () => {},
    /** GRAFT to the peer. */
    sendGraft: () => {},
    /** PRUNE to the peer with the event's backoff. */
    sendPrune: () => {},
    /** PRUNE back to the peer's GRAFT, with the event's backoff. */
    refuseGraft: () => {},
    /** Score: a GRAFT during backoff is a behaviour penalty (P7). */
    penalize: () => {},
  },
  delays: {
    /** The backoff of the PRUNE (sent, received or refused) that entered `backoff`. */
    backoff: ({ event }) => (event as { backoff?: number }).backoff ?? 0,
  },
}).createMachine({
  id: 'pubsubMembership',
  initial: 'outside',
  states: {
    /** Not in our mesh, and no backoff: we may GRAFT it or accept its GRAFT. */
    outside: {
      on: {
        'member.graft': { target: 'grafted', actions: ['recordGraft', 'sendGraft'] },
        'member.graftReceived': [
          { guard: 'isNegativeScore', target: 'backoff', actions: 'refuseGraft' },
          { guard: 'isNotSubscribed', target: 'backoff', actions: 'refuseGraft' },
          { guard: 'isMeshFullForInbound', target: 'backoff', actions: 'refuseGraft' },
          { target: 'grafted', actions: 'recordGraft' },
        ],
        'member.pruneReceived': { target: 'backoff' },
      },
    },
    /** In our mesh: we forward the topic's messages to it (the `mesh` Set). */
    grafted: {
      on: {
        'member.prune': { target: 'backoff', actions: ['recordPrune', 'sendPrune'] },
        'member.pruneReceived': { target: 'backoff', actions: 'recordPrune' },
        'member.left': { target: 'outside', actions: 'recordPrune' },
      },
    },
    /** Pruned: neither side grafts until the backoff is over. */
    backoff: {
      after: { backoff: { target: 'outside' } },
      on: {
        'member.graftReceived': { target: 'backoff', reenter: true, actions: ['penalize', 'refuseGraft'] },
        'member.pruneReceived': { target: 'backoff', reenter: true },
      },
    },
  },
})

/**
 * One topic as this node sees it: a small actor the pubsub router spawns per topic it
 * subscribes or publishes to (id `topic:<name>`, below the pubsub actor, visible in the
 * inspector), and stops when the topic is idle with no backoff left.
 *
 *   idle ──subscribe──▶ joining ──heartbeat──▶ subscribed.meshHealthy ⇄ subscribed.meshLow
 *    │ ▲                  ▲                          │ unsubscribe
 *    │ └─heartbeat─ leaving ◀────────────────────────┘ (PRUNEs sent, backoff running)
 *    └─publish──▶ fanout ──heartbeat [fanoutExpired]──▶ idle ; fanout ──subscribe──▶ joining
 *
 * Chart and data: the phase above is the chart, and the router reads it (`topicPhase`) to
 * decide (mesh or fanout, deliver or ignore, announce or not). Each peer's membership in the
 * mesh (outside, grafted, backoff) is a chart too, membership.machine.ts, but stepped purely by
 * the router rather than run as an actor per (peer, topic): its entries are the `members` Map in
 * this actor's context. The mesh (an index of the grafted members, read on the message path) and
 * the fanout are Sets; the router shares and mutates all three in place. Guards read only the
 * event, so `xstate/graph` walks the machine exhaustively, and what is walked is what runs.
 * @module
 */
import { setup, not, type SnapshotFrom } from 'xstate'
import type { PeerChartEntry } from '../lib/peer-chart.js'

/** Events the router sends to a topic's actor. */
export type TopicEvent =
  /** The user subscribed (GRAFTs were sent to up to D peers). */
  | { type: 'topic.subscribe' }
  /** The user unsubscribed (PRUNEs were sent to the mesh). */
  | { type: 'topic.unsubscribe' }
  /** The user published while not subscribed (fanout). */
  | { type: 'topic.publish' }
  /** A heartbeat ran: the mesh size after maintenance, and whether the fanout TTL passed. */
  | { type: 'topic.heartbeat'; meshSize: number; dLo: number; fanoutExpired: boolean }

/** The topic's data, owned by the router (shared objects, mutated in place). */
export interface TopicData {
  topic: string
  /** Peers in our mesh of this topic (we forward its messages to them). */
  mesh: Set<string>
  /** Peers we publish to while not subscribed. */
  fanout: Set<string>
  /** Peer → its membership chart's entry (membership.machine.ts): mesh members and backoffs only. */
  members: Map<string, PeerChartEntry>
}

export const topicMachine = setup({
  types: { events: {} as TopicEvent, context: {} as TopicData, input: {} as TopicData },
  guards: {
    meshBelowDlo: ({ event }) => event.type === 'topic.heartbeat' && event.meshSize < event.dLo,
    fanoutExpired: ({ event }) => event.type === 'topic.heartbeat' && event.fanoutExpired,
  },
}).createMachine({
  id: 'pubsubTopic',
  context: ({ input }) => input,
  initial: 'idle',
  states: {
    /** Neither subscribed nor published to recently (only a prune backoff may remain). */
    idle: {
      on: {
        'topic.subscribe': { target: 'joining' },
        'topic.publish': { target: 'fanout' },
      },
    },
    /** Published to without a subscription: fanout peers, forgotten after fanoutTtl. */
    fanout: {
      on: {
        'topic.subscribe': { target: 'joining' },
        'topic.heartbeat': { guard: 'fanoutExpired', target: 'idle' },
      },
    },
    /** Subscribed, GRAFTs sent; the next heartbeat judges the mesh. */
    joining: {
      on: {
        'topic.heartbeat': [
          { guard: 'meshBelowDlo', target: 'subscribed.meshLow' },
          { target: 'subscribed.meshHealthy' },
        ],
        'topic.unsubscribe': { target: 'leaving' },
      },
    },
    subscribed: {
      initial: 'meshHealthy',
      on: { 'topic.unsubscribe': { target: 'leaving' } },
      states: {
        /** Mesh degree at least D_lo. */
        meshHealthy: {
          on: { 'topic.heartbeat': { guard: 'meshBelowDlo', target: 'meshLow' } },
        },
        /** Fewer than D_lo mesh peers even after grafting: not enough subscribed peers known. */
        meshLow: {
          on: { 'topic.heartbeat': { guard: not('meshBelowDlo'), target: 'meshHealthy' } },
        },
      },
    },
    /** Unsubscribed; PRUNEs went out. The next heartbeat makes it idle; resubscribing rejoins. */
    leaving: {
      on: {
        'topic.subscribe': { target: 'joining' },
        'topic.publish': { target: 'fanout' },
        'topic.heartbeat': { target: 'idle' },
      },
    },
  },
})

export type TopicSnapshot = SnapshotFrom<typeof topicMachine>

/** The phase names the router reads. */
export type TopicPhase = 'idle' | 'fanout' | 'joining' | 'meshHealthy' | 'meshLow' | 'leaving'

export function topicPhase(snapshot: TopicSnapshot): TopicPhase {
  const value = snapshot.value
  return (typeof value === 'string' ? value : value.subscribed) as TopicPhase
}

/** Subscribed in the sense of the router: joining or subscribed (mesh kept, messages delivered). */
export function isSubscribedPhase(phase: TopicPhase): boolean {
  return phase === 'joining' || phase === 'meshHealthy' || phase === 'meshLow'
}

/**
 * The lifecycle of one topic as this node sees it: a small statechart the pubsub router
 * follows for every topic it subscribes or publishes to.
 *
 *   idle ──subscribe──▶ joining ──heartbeat──▶ subscribed.meshHealthy ⇄ subscribed.meshLow
 *    │ ▲                  ▲                          │ unsubscribe
 *    │ └─heartbeat─ leaving ◀────────────────────────┘ (PRUNEs sent, backoff running)
 *    └─publish──▶ fanout ──heartbeat [fanoutExpired]──▶ idle ; fanout ──subscribe──▶ joining
 *
 * The router does not spawn an actor per topic: it keeps each topic's snapshot in its own
 * context and advances it with XState's pure `transition()`, reading `snapshot.value` to
 * decide (mesh or fanout, announce or not). Guards read only the event, so the machine is
 * walked exhaustively by `xstate/graph` in the tests, and what is walked is what runs.
 * @module
 */
import { setup, not, transition, initialTransition, type SnapshotFrom } from 'xstate'

/** Events the router sends to a topic's lifecycle. */
export type TopicEvent =
  /** The user subscribed (GRAFTs were sent to up to D peers). */
  | { type: 'topic.subscribe' }
  /** The user unsubscribed (PRUNEs were sent to the mesh). */
  | { type: 'topic.unsubscribe' }
  /** The user published while not subscribed (fanout). */
  | { type: 'topic.publish' }
  /** A heartbeat ran: the mesh size after maintenance, and whether the fanout TTL passed. */
  | { type: 'topic.heartbeat'; meshSize: number; dLo: number; fanoutExpired: boolean }

export const topicMachine = setup({
  types: { events: {} as TopicEvent },
  guards: {
    meshBelowDlo: ({ event }) => event.type === 'topic.heartbeat' && event.meshSize < event.dLo,
    fanoutExpired: ({ event }) => event.type === 'topic.heartbeat' && event.fanoutExpired,
  },
}).createMachine({
  id: 'pubsubTopic',
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

export function initialTopic(): TopicSnapshot {
  return initialTransition(topicMachine)[0]
}

export function stepTopic(snapshot: TopicSnapshot, event: TopicEvent): TopicSnapshot {
  return transition(topicMachine, snapshot, event)[0]
}

export function topicPhase(snapshot: TopicSnapshot): TopicPhase {
  const value = snapshot.value
  return (typeof value === 'string' ? value : value.subscribed) as TopicPhase
}

/** Subscribed in the sense of the router: joining or subscribed (mesh kept, messages delivered). */
export function isSubscribedPhase(phase: TopicPhase): boolean {
  return phase === 'joining' || phase === 'meshHealthy' || phase === 'meshLow'
}

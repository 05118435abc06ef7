/**
 * The pubsub protocol `/xswarm/pubsub/1`: gossipsub v1.1 (scoring, flood publishing, backoff,
 * outbound quotas; no peer exchange, discovery does that) plus v1.2's IDONTWANT — the Behaviour
 * of the swarm's pubsub.
 *
 *   running ──after(heartbeat): decayPeers, expireCaches, maintainTopics, shiftMessageCache,
 *     │                         hangUpLowScorers, flush, protectMesh ──▶ running (again)
 *     │  (the first heartbeat at a seeded point of the first interval, then every heartbeatInterval)
 *     │  pubsub.subscribe:   [isInvalidTopic] refuse · [isSubscribedTopic] confirm ·
 *     │                      [isAtTopicLimit] refuse · joinTopic
 *     │  pubsub.unsubscribe: [isSubscribedTopic] leaveTopic · confirm
 *     │  pubsub.publish:     [isInvalidTopic | isInvalidData | isTooLarge] refuse · publishMessage
 *     │  peer.connected [isNewPeer] addPeer · peer.disconnected [isKnownPeer] removePeer
 *     │  message: [isGraylisted] ignored · receiveRpc      call.done: applyVerdict
 *     │  messages (frames from several peers queued together): receiveRpcs, each RPC as
 *     │    `message` would take it ([isGraylisted] ignored · receiveRpc), one flush for all
 *     └─swarm.closing──▶ closed (publishes fail with 'closed'; topic actors stopped)
 *
 * Chart and data: the chart is this actor's states and guarded transitions, plus one child actor
 * per topic (topic.machine.ts: idle/fanout/joining/subscribed/leaving, id `topic:<name>`), plus
 * one peer chart per (peer, topic) in a mesh (membership.machine.ts: outside/grafted/backoff,
 * stepped purely by the router, its entries kept in the topic's `members` Map). The rest is data
 * in one router object (`context.s`, state.ts), mutated in place by the named actions: per-peer
 * state and scores in Maps (no actor per peer, so churn and the message path stay O(1)), each
 * topic's mesh/fanout/members (shared with its actor), the seen and message
 * caches, and the per-settle outbox that `flush` emits in order: user events and `effect.call`s,
 * then one `effect.send` frame per peer (parts to the same peer batched), then hang-up requests
 * to the swarm (`proto.hangUp`). What happens to each message a peer sends is a chart too
 * (receive.machine.ts: arrived → dropped / duplicate / ignored / invalid / delivered / throttled /
 * validating, and the validator's verdict), stepped purely per message by `receiveRpc` and
 * `applyVerdict` (receive.ts; no actor per message, 1-3 µs a step). The heartbeat is an `after` delay, so
 * the shell's clock drives it; timestamps come from `inputTime(self)`.
 *
 * User commands (delivered as the inner event of `cmd.protocol`):
 *   pubsub.subscribe {topic} · pubsub.unsubscribe {topic} · pubsub.publish {topic, data, publishId?}
 * User events emitted:
 *   pubsub.subscribed {topic} · pubsub.unsubscribed {topic} · pubsub.subscribe.failed {topic, reason}
 *   pubsub.message {topic, data, from, id} · pubsub.published {topic, id, peers, publishId?}
 *   pubsub.publish.failed {topic, id?, reason, publishId?} (reason: no-peers | too-large |
 *     invalid-topic | invalid-data | duplicate | closed)
 *   pubsub.peer.subscribed {peer, topic} · pubsub.peer.unsubscribed {peer, topic}
 * @module
 */
import { setup, type AnyActorRef } from 'xstate'
import { enqueueActions } from '../lib/enqueue.js'
import { defineProtocol, hangUpRequest, protocolSystemId, toPeer, type FromSwarm, type ProtocolDefinition, type ProtocolInput } from '../lib/protocol.js'
import { inputTime, stopTracked } from '../lib/runtime.js'
import { decayPeers, expireCaches, hangUpLowScorers, heartbeatDelay, maintainTopics, shiftMessageCache } from './heartbeat.js'
import { atTopicLimit, joinTopic, leaveTopic, peerConnected, peerDisconnected, publish, publishFailed, subscribedTo, validTopic } from './local.js'
import { membership } from './members.js'
import { emitEvent, isGraylistedPeer } from './mesh.js'
import { resolveParams, type PubsubOptions } from './params.js'
import { handleRpc, validationDone, type Verdict } from './receive.js'
import { buildFrames, createRouterState, samePending, type PendingRpc, type PublishFailure, type PubsubContext, type PubsubMachineOptions, type PubsubUserEvent } from './state.js'
import { PUBSUB_ID, mergeRpcs, parseRpc, type Rpc } from './wire.js'

export { PUBSUB_ID }

/** User commands of the pubsub protocol. */
export type PubsubCommand =
  /** Subscribe to a topic (answered by pubsub.subscribed or pubsub.subscribe.failed). */
  | { type: 'pubsub.subscribe'; topic: string }
  /** Unsubscribe from a topic (answered by pubsub.unsubscribed). */
  | { type: 'pubsub.unsubscribe'; topic: string }
  /** Publish data (answered by pubsub.published or pubsub.publish.failed, echoing publishId). */
  | { type: 'pubsub.publish'; topic: string; data: Uint8Array; publishId?: number }

export type PubsubEvent = FromSwarm<Rpc, PubsubCommand>

/** Everything the actor emits: effects and user events. */
export type PubsubEmitted = { type: string }

/** The input time, remembered for the graylist guard. */
function now(context: PubsubContext, self: AnyActorRef): number {
  const t = inputTime(self)
  context.s.lastTime = t
  return t
}

/** The topic of a subscribe, unsubscribe or publish command. */
function topicOf(event: PubsubEvent): string {
  return (event as { topic: string }).topic
}

/** Whether the peers last protected are exactly the peers in some mesh now (`protectMesh` has nothing to do). */
function meshIsProtected(context: PubsubContext): boolean {
  const topics = context.s.topics
  for (const topic of topics.values()) for (const peer of topic.mesh) if (!context.protectedPeers.has(peer)) return false
  for (const peer of context.protectedPeers) if (!inSomeMesh(topics.values(), peer)) return false
  return true
}

function inSomeMesh(topics: Iterable<{ mesh: Set<string> }>, peer: string): boolean {
  for (const topic of topics) if (topic.mesh.has(peer)) return true
  return false
}

export const pubsubMachine = setup({
  types: {
    context: {} as PubsubContext,
    events: {} as PubsubEvent,
    input: {} as ProtocolInput<PubsubMachineOptions | undefined>,
    emitted: {} as PubsubEmitted,
  },
  actions: {
    /** Track a new peer and announce our subscriptions to it. */
    addPeer: ({ context, event, self }) => {
      if (event.type === 'peer.connected') peerConnected(context.s, event.peer, event.direction === 'outbound', now(context, self))
    },
    /** Forget a peer (its score is retained for a while), drop it from every mesh. */
    removePeer: ({ context, event, self }) => {
      if (event.type === 'peer.disconnected') peerDisconnected(context.s, event.peer, now(context, self))
    },
    /** Subscriptions, then messages, then control parts of a peer's RPC (receive.ts). */
    receiveRpc: ({ context, event, self }) => {
      if (event.type === 'message') handleRpc(context.s, event.peer, event.body, now(context, self))
    },
    /**
     * RPCs from several peers that were queued together, in order, each as `message` takes it
     * (the graylist guard's question, then receiveRpc); the one `flush` after them sends what
     * they all produced, one frame per peer.
     */
    receiveRpcs: ({ context, event, self }) => {
      if (event.type !== 'messages') return
      const s = context.s
      for (const { peer, body } of event.items) {
        if (!isGraylistedPeer(s, peer, s.lastTime)) handleRpc(s, peer, body, now(context, self))
      }
    },
    confirmSubscribed: ({ context, event }) => emitEvent(context.s, { type: 'pubsub.subscribed', topic: topicOf(event) }),
    refuseSubscription: ({ context, event }, params: { reason: 'invalid-topic' | 'too-many-topics' }) =>
      emitEvent(context.s, { type: 'pubsub.subscribe.failed', topic: topicOf(event), reason: params.reason }),
    // Actions that spawn, message or stop topic actors run while the transition is resolved
    // (an `enqueueActions` callback), not as custom actions: a child started inside a custom
    // action would run its own built-in actions (its context `assign`) under XState's flag.
    joinTopic: enqueueActions(({ context, event, self }) => joinTopic(context.s, topicOf(event), now(context, self))),
    leaveTopic: enqueueActions(({ context, event, self }) => leaveTopic(context.s, topicOf(event), now(context, self))),
    confirmUnsubscribed: ({ context, event }) => emitEvent(context.s, { type: 'pubsub.unsubscribed', topic: topicOf(event) }),
    publishMessage: enqueueActions(({ context, event, self }) => {
      if (event.type === 'pubsub.publish') publish(context.s, event.topic, event.data, event.publishId, now(context, self))
    }),
    refusePublish: ({ context, event }, params: { reason: PublishFailure }) => {
      if (event.type === 'pubsub.publish') publishFailed(context.s, event.topic, params.reason, event.publishId)
    },
    /** The application validator answered: deliver and forward, penalize, or drop (receive.ts). */
    applyVerdict: ({ context, event, self }) => {
      if (event.type === 'call.done') validationDone(context.s, event.callId, event.value, event.error, now(context, self))
    },
    decayPeers: ({ context, self }) => decayPeers(context.s, now(context, self)),
    expireCaches: ({ context, self }) => expireCaches(context.s, now(context, self)),
    maintainTopics: enqueueActions(({ context, self }) => maintainTopics(context.s, now(context, self))),
    shiftMessageCache: ({ context }) => shiftMessageCache(context.s),
    hangUpLowScorers: ({ context, self }) => hangUpLowScorers(context.s, now(context, self)),
    stopTopics: enqueueActions(({ context }) => {
      for (const t of context.s.topics.values()) stopTracked(t.ref)
    }),
    /**
     * Keep the connection manager (discovery `/xswarm/discovery/1`, when it runs) from trimming mesh peers: once per
     * heartbeat, protect peers that entered a mesh and unprotect those that left every mesh.
     */
    protectMesh: enqueueActions(({ context, enqueue, system }) => {
      if (meshIsProtected(context)) return // the usual heartbeat: nothing to tell, nothing allocated
      const discovery = system.get(protocolSystemId('/xswarm/discovery/1'))
      if (!discovery) return
      const inMesh = new Set<string>()
      for (const topic of context.s.topics.values()) for (const peer of topic.mesh) inMesh.add(peer)
      const protectedPeers = context.protectedPeers
      for (const peer of inMesh) {
        if (!protectedPeers.has(peer)) enqueue.sendTo(discovery, { type: 'discovery.protect', peer, tag: 'pubsub' } as never)
      }
      for (const peer of protectedPeers) {
        if (!inMesh.has(peer)) enqueue.sendTo(discovery, { type: 'discovery.unprotect', peer, tag: 'pubsub' } as never)
      }
      context.protectedPeers = inMesh
    }),
    /** Emit what this settle produced: events and calls, one frame per peer, hang-up requests. */
    flush: enqueueActions(({ context, enqueue, system }) => {
      const s = context.s
      if (s.events.length === 0 && s.out.size === 0 && s.hangUps.length === 0) return // nothing (a duplicate, say)
      for (const event of s.events) enqueue.emit(event)
      s.events.length = 0
      // Consecutive peers with the same parts (a message forwarded to the mesh) share the frame
      // objects, so the shell encodes them once (it reuses the bytes of a body it just encoded).
      let group: string[] = []
      let groupParts: PendingRpc | undefined
      const emitGroup = (): void => {
        if (groupParts === undefined) return
        const frames = buildFrames(s.params, groupParts)
        for (const peer of group) for (const frame of frames) enqueue.emit(toPeer(PUBSUB_ID, peer, frame))
      }
      for (const [peer, parts] of s.out) {
        if (groupParts !== undefined && samePending(groupParts, parts)) {
          group.push(peer)
          continue
        }
        emitGroup()
        group = [peer]
        groupParts = parts
      }
      emitGroup()
      s.out.clear()
      if (s.hangUps.length === 0) return
      const swarm = system.get('swarm')
      if (swarm) for (const { peer, reason } of s.hangUps) enqueue.sendTo(swarm, hangUpRequest(peer, reason))
      s.hangUps.length = 0
    }),
  },
  guards: {
    /** A peer we do not track yet (and not ourselves). */
    isNewPeer: ({ context, event }) =>
      event.type === 'peer.connected' && !context.s.peers.has(event.peer) && event.peer !== context.s.self,
    isKnownPeer: ({ context, event }) => event.type === 'peer.disconnected' && context.s.peers.has(event.peer),
    /** The sender's score is below the graylist threshold: ignore the whole RPC. */
    // Guards get no `self`, so the score is taken at the previous input's time (P1/P3 only move with time).
    isGraylisted: ({ context, event }) =>
      event.type === 'message' && isGraylistedPeer(context.s, event.peer, context.s.lastTime),
    isInvalidTopic: ({ context, event }) => !validTopic(context.s, topicOf(event)),
    isSubscribedTopic: ({ context, event }) => subscribedTo(context.s, topicOf(event)),
    isAtTopicLimit: ({ context }) => atTopicLimit(context.s),
    isInvalidData: ({ event }) => !((event as { data?: unknown }).data instanceof Uint8Array),
    isTooLarge: ({ context, event }) => (event as { data: Uint8Array }).data.length > context.s.params.maxMessageSize,
  },
  delays: {
    /** The first one within the first interval (a seeded draw, so nodes started together spread), then every interval. */
    heartbeat: ({ context }) => heartbeatDelay(context.s),
  },
}).createMachine({
  id: 'pubsub',
  context: ({ input, self }) => ({ s: createRouterState(input, self), protectedPeers: new Set<string>() }),
  initial: 'running',
  states: {
    running: {
      after: {
        heartbeat: {
          target: 'running',
          reenter: true,
          actions: ['decayPeers', 'expireCaches', 'maintainTopics', 'shiftMessageCache', 'hangUpLowScorers', 'flush', 'protectMesh'],
        },
      },
      on: {
        'peer.connected': { guard: 'isNewPeer', actions: ['addPeer', 'flush'] },
        'peer.disconnected': { guard: 'isKnownPeer', actions: ['removePeer', 'flush'] },
        message: [
          { guard: 'isGraylisted' },
          { actions: ['receiveRpc', 'flush'] },
        ],
        messages: { actions: ['receiveRpcs', 'flush'] },
        'pubsub.subscribe': [
          { guard: 'isInvalidTopic', actions: [{ type: 'refuseSubscription', params: { reason: 'invalid-topic' } }, 'flush'] },
          { guard: 'isSubscribedTopic', actions: ['confirmSubscribed', 'flush'] },
          { guard: 'isAtTopicLimit', actions: [{ type: 'refuseSubscription', params: { reason: 'too-many-topics' } }, 'flush'] },
          { actions: ['joinTopic', 'flush'] },
        ],
        'pubsub.unsubscribe': [
          { guard: 'isSubscribedTopic', actions: ['leaveTopic', 'confirmUnsubscribed', 'flush'] },
          { actions: ['confirmUnsubscribed', 'flush'] },
        ],
        'pubsub.publish': [
          { guard: 'isInvalidTopic', actions: [{ type: 'refusePublish', params: { reason: 'invalid-topic' } }, 'flush'] },
          { guard: 'isInvalidData', actions: [{ type: 'refusePublish', params: { reason: 'invalid-data' } }, 'flush'] },
          { guard: 'isTooLarge', actions: [{ type: 'refusePublish', params: { reason: 'too-large' } }, 'flush'] },
          { actions: ['publishMessage', 'flush'] },
        ],
        'call.done': { actions: ['applyVerdict', 'flush'] },
        'swarm.closing': { target: 'closed' },
      },
    },
    /** The swarm is closing: no heartbeat, no traffic; publishes fail with 'closed'. */
    closed: {
      entry: 'stopTopics',
      on: { 'pubsub.publish': { actions: [{ type: 'refusePublish', params: { reason: 'closed' } }, 'flush'] } },
    },
  },
})

/** `pubsubProtocol` options: any parameter (see params.ts) and the application validator. */
export interface PubsubProtocolOptions extends PubsubOptions {
  /**
   * Decide on every new message before it is delivered or forwarded: 'accept', 'reject' (the
   * sender is penalized) or 'ignore' (dropped quietly); sync or async. Absent: accept all.
   */
  validate?: (args: { topic: string; data: Uint8Array; from: string }) => Verdict | Promise<Verdict>
}

/** The pubsub protocol definition for the swarm (options are checked here, RangeError if unusable). */
export function pubsubProtocol(options: PubsubProtocolOptions = {}): ProtocolDefinition<Rpc, typeof PUBSUB_ID, PubsubUserEvent, PubsubCommand> {
  const { validate, ...rest } = options
  if (validate !== undefined && typeof validate !== 'function') throw new TypeError('"validate" expected a function')
  const params = resolveParams(rest)
  const machineOptions: PubsubMachineOptions = { params: rest, validator: validate !== undefined }
  return defineProtocol<Rpc, typeof PUBSUB_ID>({
    id: PUBSUB_ID,
    machine: pubsubMachine,
    handler: membership, // per (peer, topic) in a mesh: membership.machine.ts
    parse: (body) => parseRpc(body, params),
    merge: (first, next) => mergeRpcs(first, next, params), // a batch of RPCs from one peer, one step (wire.ts)
    grouped: true, // frames from several peers queued together: one `messages` step, one flush
    options: machineOptions,
    calls: validate ? { validate } : undefined,
  }) as ProtocolDefinition<Rpc, typeof PUBSUB_ID, PubsubUserEvent, PubsubCommand> // its machine's `emitted` is loose; these are what it hands out
}

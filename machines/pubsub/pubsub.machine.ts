/**
 * The pubsub protocol `/xswarm/pubsub/1`: gossipsub v1.1 (scoring, flood publishing, backoff,
 * outbound quotas; no peer exchange, discovery does that) plus v1.2's IDONTWANT, as one
 * statechart — the Behaviour of the swarm's pubsub.
 *
 * One actor holds the whole router: per-peer and per-topic state in context Maps (no actor per
 * peer), each topic's lifecycle as a snapshot of `topicMachine` advanced with `transition()`.
 * Every input runs one named action (a pure helper over the router state) followed by `flush`,
 * which emits what the settle produced, in order: user events and `effect.call`s, then one
 * `effect.send` frame per peer (parts to the same peer batched), then hang-up requests to the
 * swarm (`proto.hangUp`, to the actor with systemId `swarm`). The heartbeat is an `after` delay,
 * so the shell's clock (or a SimulatedClock) drives it; timestamps come from `inputTime(self)`.
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
import { enqueueActions, setup, type AnyActorRef } from 'xstate'
import { defineProtocol, hangUpRequest, protocolSystemId, toPeer, type FromSwarm, type ProtocolDefinition, type ProtocolInput } from '../lib/protocol.js'
import { inputTime } from '../lib/runtime.js'
import { heartbeat } from './heartbeat.js'
import { peerConnected, peerDisconnected, publish, subscribe, unsubscribe } from './local.js'
import { scoreOf } from './mesh.js'
import { resolveParams, type PubsubOptions } from './params.js'
import { handleRpc, validationDone, type Verdict } from './receive.js'
import { buildFrames, createRouterState, samePending, type PendingRpc, type PubsubContext, type PubsubMachineOptions } from './state.js'
import { PUBSUB_ID, parseRpc, type Rpc } from './wire.js'

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

export const pubsubMachine = setup({
  types: {
    context: {} as PubsubContext,
    events: {} as PubsubEvent,
    input: {} as ProtocolInput<PubsubMachineOptions | undefined>,
    emitted: {} as PubsubEmitted,
  },
  actions: {
    addPeer: ({ context, event, self }) => {
      if (event.type === 'peer.connected') peerConnected(context.s, event.peer, event.direction === 'outbound', now(context, self))
    },
    removePeer: ({ context, event, self }) => {
      if (event.type === 'peer.disconnected') peerDisconnected(context.s, event.peer, now(context, self))
    },
    receiveRpc: ({ context, event, self }) => {
      if (event.type === 'message') handleRpc(context.s, event.peer, event.body, now(context, self))
    },
    subscribe: ({ context, event, self }) => {
      if (event.type === 'pubsub.subscribe') subscribe(context.s, event.topic, now(context, self))
    },
    unsubscribe: ({ context, event, self }) => {
      if (event.type === 'pubsub.unsubscribe') unsubscribe(context.s, event.topic, now(context, self))
    },
    publish: ({ context, event, self }) => {
      if (event.type === 'pubsub.publish') publish(context.s, event.topic, event.data, event.publishId, now(context, self))
    },
    refusePublish: ({ context, event }) => {
      if (event.type !== 'pubsub.publish') return
      const tag = event.publishId === undefined ? {} : { publishId: event.publishId }
      context.s.events.push({ type: 'pubsub.publish.failed', topic: event.topic, reason: 'closed', ...tag })
    },
    validated: ({ context, event, self }) => {
      if (event.type === 'call.done') validationDone(context.s, event.callId, event.value, event.error, now(context, self))
    },
    heartbeat: ({ context, self }) => {
      heartbeat(context.s, now(context, self))
    },
    /**
     * Keep the connection manager (discovery `/xswarm/discovery/1`, when it runs) from trimming mesh peers: once per
     * heartbeat, protect peers that entered a mesh and unprotect those that left every mesh.
     */
    protectMesh: enqueueActions(({ context, enqueue, system }) => {
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
    /** The sender's score is below the graylist threshold: ignore the whole RPC. */
    // Guards get no `self`, so the score is taken at the previous input's time (P1/P3 only move with time).
    isGraylisted: ({ context, event }) =>
      event.type === 'message' && scoreOf(context.s, event.peer, context.s.lastTime) < context.s.params.score.graylistThreshold,
  },
  delays: {
    heartbeat: ({ context }) => context.s.params.heartbeatInterval,
  },
}).createMachine({
  id: 'pubsub',
  context: ({ input }) => ({ s: createRouterState(input), protectedPeers: new Set<string>() }),
  initial: 'running',
  states: {
    running: {
      after: { heartbeat: { target: 'running', reenter: true, actions: ['heartbeat', 'flush', 'protectMesh'] } },
      on: {
        'peer.connected': { actions: ['addPeer', 'flush'] },
        'peer.disconnected': { actions: ['removePeer', 'flush'] },
        message: [
          { guard: 'isGraylisted' },
          { actions: ['receiveRpc', 'flush'] },
        ],
        'pubsub.subscribe': { actions: ['subscribe', 'flush'] },
        'pubsub.unsubscribe': { actions: ['unsubscribe', 'flush'] },
        'pubsub.publish': { actions: ['publish', 'flush'] },
        'call.done': { actions: ['validated', 'flush'] },
        'swarm.closing': { target: 'closed' },
      },
    },
    /** The swarm is closing: no heartbeat, no traffic; publishes fail with 'closed'. */
    closed: {
      on: { 'pubsub.publish': { actions: ['refusePublish', 'flush'] } },
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
export function pubsubProtocol(options: PubsubProtocolOptions = {}): ProtocolDefinition<Rpc> {
  const { validate, ...rest } = options
  if (validate !== undefined && typeof validate !== 'function') throw new TypeError('"validate" expected a function')
  const params = resolveParams(rest)
  const machineOptions: PubsubMachineOptions = { params: rest, validator: validate !== undefined }
  return defineProtocol<Rpc>({
    id: PUBSUB_ID,
    machine: pubsubMachine,
    parse: (body) => parseRpc(body, params),
    options: machineOptions,
    calls: validate ? { validate } : undefined,
  })
}

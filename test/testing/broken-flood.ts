/**
 * A deliberately broken protocol, for the seed runner's own test: a flooding pubsub under the
 * built-in pubsub's id (so `swarm.subscribe`/`publish` and the pubsub scenario drive it) with a
 * catch-up history (a peer that connects is sent the last messages, and drops the ones it has
 * seen). The bug: a node whose last peer disconnects forgets every message id it has seen, so
 * the catch-up after it reconnects delivers old messages a second time. Without faults it does
 * not show; with resets, crashes, losses and partitions the runner finds seeds that break
 * `pubsub-exactly-once`.
 */
import { enqueueActions, setup } from 'xstate'
import { defineProtocol, toPeer, type FromSwarm, type ProtocolInput } from '../../src/index.js'
import { pubsubScenario } from '../../src/testing/scenarios.js'
import type { Scenario } from '../../src/testing/scenario.js'

const ID = '/xswarm/pubsub/1'
const HISTORY = 8
type Wire = ['m', string, string, Uint8Array, string] // kind, id, topic, data, author
type Command =
  | { type: 'pubsub.subscribe'; topic: string }
  | { type: 'pubsub.unsubscribe'; topic: string }
  | { type: 'pubsub.publish'; topic: string; data: Uint8Array; publishId?: number }

const parse = (b: unknown): Wire | undefined =>
  Array.isArray(b) && b.length === 5 && b[0] === 'm' && typeof b[1] === 'string' && typeof b[2] === 'string' &&
  b[3] instanceof Uint8Array && typeof b[4] === 'string' ? (b as Wire) : undefined

interface Context { self: string; peers: string[]; topics: string[]; seen: string[]; history: Wire[]; seq: number }

const floodMachine = setup({
  types: { context: {} as Context, events: {} as FromSwarm<Wire, Command>, input: {} as ProtocolInput },
  actions: {
    subscribe: enqueueActions(({ context, event, enqueue }) => {
      const { topic } = event as { topic: string }
      enqueue.assign({ topics: [...context.topics.filter((t) => t !== topic), topic] })
      enqueue.emit({ type: 'pubsub.subscribed', topic } as never)
    }),
    unsubscribe: enqueueActions(({ context, event, enqueue }) => {
      enqueue.assign({ topics: context.topics.filter((t) => t !== (event as { topic: string }).topic) })
    }),
    publish: enqueueActions(({ context, event, enqueue }) => {
      const { topic, data, publishId } = event as Command & { type: 'pubsub.publish' }
      const id = `${context.self}/${context.seq}`
      const m: Wire = ['m', id, topic, data, context.self]
      enqueue.assign({ seq: context.seq + 1, seen: [...context.seen, id], history: [...context.history, m].slice(-HISTORY) })
      for (const peer of context.peers) enqueue.emit(toPeer(ID, peer, m) as never)
      enqueue.emit({ type: 'pubsub.published', topic, id, peers: context.peers.length, ...(publishId === undefined ? {} : { publishId }) } as never)
    }),
    receive: enqueueActions(({ context, event, enqueue }) => {
      const { peer, body } = event as { peer: string; body: Wire }
      const [, id, topic, data, from] = body
      if (context.seen.includes(id)) return
      enqueue.assign({ seen: [...context.seen, id].slice(-1_000), history: [...context.history, body].slice(-HISTORY) })
      if (context.topics.includes(topic)) enqueue.emit({ type: 'pubsub.message', topic, data, from, id } as never)
      for (const p of context.peers) if (p !== peer) enqueue.emit(toPeer(ID, p, body) as never)
    }),
    connected: enqueueActions(({ context, event, enqueue }) => {
      const { peer } = event as { peer: string }
      enqueue.assign({ peers: [...context.peers, peer] })
      for (const m of context.history) enqueue.emit(toPeer(ID, peer, m) as never) // catch-up
    }),
    disconnected: enqueueActions(({ context, event, enqueue }) => {
      const peers = context.peers.filter((p) => p !== (event as { peer: string }).peer)
      // BUG (deliberate): a node left without peers "starts afresh" and forgets every id it has seen.
      enqueue.assign({ peers, seen: peers.length === 0 ? [] : context.seen })
    }),
  },
}).createMachine({
  context: ({ input }) => ({ self: input.peerId, peers: [], topics: [], seen: [], history: [], seq: 0 }),
  initial: 'open',
  states: {
    open: {
      on: {
        'pubsub.subscribe': { actions: 'subscribe' },
        'pubsub.unsubscribe': { actions: 'unsubscribe' },
        'pubsub.publish': { actions: 'publish' },
        message: { actions: 'receive' },
        'peer.connected': { actions: 'connected' },
        'peer.disconnected': { actions: 'disconnected' },
        'swarm.closing': 'closed',
      },
    },
    closed: { type: 'final' },
  },
})

export const brokenFlood = defineProtocol<Wire>({ id: ID, machine: floodMachine, parse })

/** The pubsub scenario with the broken flood in place of the built-in pubsub. */
export const brokenFloodScenario: Scenario = {
  ...pubsubScenario,
  name: 'broken-flood',
  node: (i, before, world) => ({ ...pubsubScenario.node(i, before, world), pubsub: false, protocols: [brokenFlood] }),
}

/**
 * The actors scenario of `xswarm sim` and the seed runner: every node hosts an actor `log`
 * (accept any); each step one node sends another node's `log` a burst of one to four events of
 * an at-least-once stream (one stream per sender incarnation and receiver), and one step in
 * three it also asks that `log` how many events it got. Its invariants are the actor layer's
 * guarantees (README "Actors"):
 * - every ask ends: it resolves with the reply or rejects with an XswarmError of a documented
 *   code before the run ends (the asks of a node that crashed died with it);
 * - at-least-once sends arrive exactly once and in order: each receiver incarnation sees a
 *   stream's numbers one after the other, never twice, never back; once the network has
 *   settled, the receiver's node has had every number its sender sent (unless the sender was
 *   told `actor.undelivered`, or crashed: across a restart unacknowledged events are lost);
 * - no actor stops with an error the scenario did not cause: no protocol actor fails, no
 *   hosted actor is restarted or left in error.
 * @module
 */
import { assign, sendTo, setup, type AnyActorRef } from 'xstate'
import { XswarmError } from '../errors.js'
import type { InvariantFactory } from './invariants.js'
import type { SimNode } from './node.js'
import type { Scenario, World } from './scenario.js'

/** What an ask may end with besides its reply (README "Actors", Failures). */
const ASK_CODES = new Set(['unreachable', 'no-such-actor', 'rejected', 'overloaded', 'actor-stopped', 'peer-disconnected', 'timeout'])
const ASK_TIMEOUT = 5_000

type Append = { type: 'append'; stream: string; n: number }
type Get = { type: 'get'; replyTo: AnyActorRef }

interface Ask { node: SimNode; incarnation: number; settled: boolean }
/** One at-least-once stream, from a sender incarnation to a receiver node. */
interface Stream { from: SimNode; fromIncarnation: number; to: SimNode; sent: number; undelivered: boolean; highest: number }
/** What one receiver incarnation got of one stream. */
interface Received { first: number; last: number; count: number }

interface ActorsData {
  asks: Ask[]
  streams: Map<string, Stream>
  /** `<receiver index>/<incarnation> <stream>` → what that incarnation got. */
  received: Map<string, Received>
  hosted: Array<{ node: SimNode; incarnation: number; ref: AnyActorRef }>
  /** Broken guarantees found as events arrive, by invariant name. */
  broken: Map<string, string>
  counts: { asks: number; replies: number; askErrors: number; sends: number; delivered: number }
}

const dataOf = (world: World): ActorsData => world.data as unknown as ActorsData
const keyOf = (node: SimNode): string => `${node.index}/${node.incarnation}`
const ASKS = 'actor-asks-end'
const STREAMS = 'actor-at-least-once'
const ERRORS = 'actor-no-unexpected-error'

function breaks(world: World, invariant: string, message: string): void {
  const broken = dataOf(world).broken
  if (!broken.has(invariant)) broken.set(invariant, message)
}

/** The hosted actor: tells the world what it receives, answers `get` with how many it got. */
function logMachine(world: World, receiver: string) {
  return setup({
    types: { context: {} as { count: number }, events: {} as Append | Get },
    actions: {
      note: ({ event }) => received(world, receiver, event as Append),
      count: assign({ count: ({ context }) => context.count + 1 }),
      reply: sendTo(({ event }) => (event as Get).replyTo, ({ context }) => ({ type: 'count', count: context.count })),
    },
  }).createMachine({
    id: 'log',
    context: { count: 0 },
    on: { append: { actions: ['note', 'count'] }, get: { actions: 'reply' } },
  })
}

function received(world: World, receiver: string, event: Append): void {
  const d = dataOf(world)
  d.counts.delivered++
  const stream = d.streams.get(event.stream)
  if (stream) stream.highest = Math.max(stream.highest, event.n)
  const key = `${receiver} ${event.stream}`
  const got = d.received.get(key)
  if (!got) return void d.received.set(key, { first: event.n, last: event.n, count: 1 })
  if (event.n <= got.last) breaks(world, STREAMS, `n${receiver} got event ${event.n} of stream ${event.stream} after ${got.last} (${event.n === got.last ? 'twice' : 'out of order'})`)
  got.last = Math.max(got.last, event.n)
  got.count++
}

/** Every ask ends, with its reply or a documented XswarmError. */
const asksEnd: InvariantFactory = () => ({
  name: ASKS,
  afterStep: (world) => dataOf(world).broken.get(ASKS),
  check(world) {
    const d = dataOf(world)
    if (d.broken.has(ASKS)) return d.broken.get(ASKS)
    const open = d.asks.filter((a) => !a.settled && a.node.alive && a.node.incarnation === a.incarnation)
    return open.length > 0 ? `${open.length} of ${d.asks.length} asks never ended (the first from n${open[0].node.index})` : undefined
  },
})

/** At-least-once sends arrive exactly once and in order. */
const atLeastOnce: InvariantFactory = () => ({
  name: STREAMS,
  onEvent(world, node, event) {
    if (event.type !== 'actor.undelivered') return undefined
    // The sender was told: the stream to that node may have a gap (README "Actors", Failures).
    for (const stream of dataOf(world).streams.values()) {
      if (stream.from === node && stream.fromIncarnation === node.incarnation && String(event.address).startsWith(stream.to.address)) stream.undelivered = true
    }
    return undefined
  },
  afterStep: (world) => dataOf(world).broken.get(STREAMS),
  check(world) {
    const d = dataOf(world)
    if (d.broken.has(STREAMS)) return d.broken.get(STREAMS)
    for (const [name, s] of d.streams) {
      if (s.undelivered) continue
      for (const [key, got] of d.received) {
        if (key.endsWith(` ${name}`) && got.count !== got.last - got.first + 1) return `n${key.split(' ')[0]} got ${got.count} events of stream ${name} from ${got.first} to ${got.last}: some were lost`
      }
      const senderUp = s.from.alive && s.from.incarnation === s.fromIncarnation
      if (senderUp && s.to.alive && s.highest !== s.sent) return `stream ${name}: ${s.sent} events sent, n${s.to.index} got up to ${s.highest}`
    }
    return undefined
  },
})

/** No actor stops with an error the scenario did not cause. */
const noUnexpectedErrors: InvariantFactory = () => ({
  name: ERRORS,
  onEvent(_world, node, event) {
    if (event.type === 'swarm.error' && event.code === 'protocol-failed') return `n${node.index}: protocol ${String(event.protocol)} failed: ${String(event.message)}`
    if (event.type === 'actor.restarted' || (event.type === 'actor.down' && event.reason === 'error')) return `n${node.index}: ${event.type} for ${String(event.address)}`
    return undefined
  },
  check(world) {
    for (const h of dataOf(world).hosted) {
      if (!h.node.alive || h.node.incarnation !== h.incarnation) continue
      const status = h.ref.getSnapshot().status
      if (status !== 'active') return `n${h.node.index}'s actor log is ${status}`
    }
    return undefined
  },
})

function ask(world: World, from: SimNode, to: SimNode): void {
  const d = dataOf(world)
  const entry: Ask = { node: from, incarnation: from.incarnation, settled: false }
  d.asks.push(entry)
  d.counts.asks++
  from.swarm.actors.ask(`${to.address}/actor/log`, { type: 'get' }, { timeout: ASK_TIMEOUT }).then(
    (reply) => {
      entry.settled = true
      d.counts.replies++
      if (reply.type !== 'count') breaks(world, ASKS, `n${from.index}'s ask of n${to.index} was answered with ${reply.type}`)
    },
    (error: unknown) => {
      entry.settled = true
      d.counts.askErrors++
      if (!(error instanceof XswarmError) || !ASK_CODES.has(error.code)) breaks(world, ASKS, `n${from.index}'s ask of n${to.index} failed with ${String(error)}`)
    },
  )
}

function send(world: World, from: SimNode, to: SimNode): void {
  const d = dataOf(world)
  const name = `${from.index}.${from.incarnation}>${to.index}`
  let stream = d.streams.get(name)
  if (!stream) d.streams.set(name, (stream = { from, fromIncarnation: from.incarnation, to, sent: 0, undelivered: false, highest: 0 }))
  d.counts.sends++
  const n = ++stream.sent
  from.swarm.actors.send(`${to.address}/actor/log`, { type: 'append', stream: name, n } satisfies Append as never, { delivery: 'at-least-once' })
}

export const actorsScenario: Scenario = {
  name: 'actors',
  defaults: { nodes: 5, steps: 30 },
  warmupMs: 5_000,
  stepMs: 1_000,
  // Long enough for a redial after the longest backoff (30 s) and an ask's timeout.
  settleMs: 45_000,
  node: () => ({ discovery: false, ping: false, pubsub: false }),
  start(world) {
    Object.assign(world.data, {
      asks: [], streams: new Map(), received: new Map(), hosted: [], broken: new Map(),
      counts: { asks: 0, replies: 0, askErrors: 0, sends: 0, delivered: 0 },
    } satisfies ActorsData)
  },
  nodeStarted(world, node) {
    const { ref } = node.swarm.actors.spawn(logMachine(world, keyOf(node)), { name: 'log', accept: 'any' })
    dataOf(world).hosted.push({ node, incarnation: node.incarnation, ref })
  },
  step(world) {
    const alive = world.nodes.filter((n) => n.alive)
    if (alive.length === 0 || world.nodes.length < 2) return
    const from = alive[world.random(alive.length)]
    const to = world.nodes[world.random(world.nodes.length)]
    if (to === from) return
    // A burst of sends (a stream needs length to show loss or reordering), and now and then an ask.
    for (let i = 1 + world.random(4); i > 0; i--) send(world, from, to)
    if (world.random(3) === 0) ask(world, from, to)
  },
  invariants: [asksEnd, atLeastOnce, noUnexpectedErrors],
  figures(world) {
    const d = dataOf(world)
    return { ...d.counts, streams: d.streams.size }
  },
}

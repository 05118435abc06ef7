/**
 * The built-in scenarios of `xswarm sim` and the seed runner: `pubsub` (everyone subscribes,
 * every step one node publishes) and `discovery` (nodes that know one bootstrap address form an
 * overlay; every step one node looks another up). Both run discovery with small watermarks, so
 * a network broken by faults heals itself. The `actors` scenario is in actors-scenario.ts.
 * @module
 */
import '../discovery/builtin.js'
import { pubsubExactlyOnce, type InvariantFactory } from './invariants.js'
import type { Scenario, World } from './scenario.js'
import { actorsScenario } from './actors-scenario.js'

const TOPIC = 'sim'
/**
 * Small watermarks and a fast tick (a network cut by faults heals within a run); the routing
 * table refresh at the product's default (5 min, libp2p's order of magnitude): at 30 s, as
 * before, refresh lookups opened and trimmed half the connections of a 100-node run
 * (bench/README.md, "Simulator").
 */
const DISCOVERY = { lowWatermark: 3, highWatermark: 6, tickInterval: 2_000, gracePeriod: 5_000 }

function overlayNode(i: number, before: { address: string }[]): { bootstrap: string[]; discovery: typeof DISCOVERY; ping: false } {
  return { bootstrap: before.slice(0, 2).map((n) => n.address), discovery: DISCOVERY, ping: false }
}

function percentile(sorted: number[], q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}

interface PubsubData { publishedAt: Map<string, number>; latencies: number[]; published: number; delivered: number }

/** Collects publish times and delivery latencies for the pubsub figures. */
const pubsubFigures: InvariantFactory = () => ({
  name: 'pubsub-figures',
  onEvent(world, _node, event) {
    const d = world.data as unknown as PubsubData
    if (event.type === 'pubsub.published') { d.published++; d.publishedAt.set(event.id as string, world.sim.now()) }
    if (event.type === 'pubsub.message') {
      d.delivered++
      const at = d.publishedAt.get(event.id as string)
      if (at !== undefined) d.latencies.push(world.sim.now() - at)
    }
    return undefined
  },
})

export const pubsubScenario: Scenario = {
  name: 'pubsub',
  defaults: { nodes: 5, steps: 20 },
  warmupMs: 10_000,
  stepMs: 2_000,
  settleMs: 15_000,
  node: (i, before) => overlayNode(i, before),
  start(world) {
    Object.assign(world.data, { publishedAt: new Map(), latencies: [], published: 0, delivered: 0 })
  },
  nodeStarted(_world, node) {
    node.swarm.subscribe(TOPIC)
  },
  step(world, k) {
    const alive = world.nodes.filter((n) => n.alive)
    if (alive.length === 0) return
    const from = alive[world.random(alive.length)]
    from.swarm.publish(TOPIC, new TextEncoder().encode(`step ${k} from n${from.index}`))
  },
  invariants: [pubsubExactlyOnce(), pubsubFigures],
  figures(world) {
    const d = world.data as unknown as PubsubData
    const sorted = [...d.latencies].sort((a, b) => a - b)
    return {
      published: d.published,
      delivered: d.delivered,
      deliveryRatio: Number((d.delivered / Math.max(1, d.published * (world.params.nodes - 1))).toFixed(4)),
      latencyP50Ms: percentile(sorted, 0.5),
      latencyP99Ms: percentile(sorted, 0.99),
      latencyMaxMs: sorted.at(-1) ?? 0,
    }
  },
}

interface DiscoveryData { asked: number; found: number; notFound: number; rounds: number[]; pending: Set<{ node: number; incarnation: number }>; convergedAt: number | undefined }

/** Is the graph of the running nodes' connections connected, each with at least `low` peers? */
export function overlayConverged(world: World, low: number): boolean {
  const alive = world.nodes.filter((n) => n.alive)
  if (alive.length < 2) return true
  const byPeer = new Map(alive.map((n) => [n.peerId, n]))
  const seen = new Set([alive[0]])
  const stack = [alive[0]]
  while (stack.length > 0) {
    for (const p of stack.pop()!.swarm.peers()) {
      const n = byPeer.get(p)
      if (n && !seen.has(n)) { seen.add(n); stack.push(n) }
    }
  }
  return seen.size === alive.length && alive.every((n) => n.swarm.peers().length >= Math.min(low, alive.length - 1))
}

/** Every findPeer settles (found or not found) before the end of the run. */
const lookupsEnd: InvariantFactory = () => ({
  name: 'lookups-end',
  check(world) {
    const d = world.data as unknown as DiscoveryData
    // A lookup on a node that crashed since died with it.
    const open = [...d.pending].filter((q) => world.nodes[q.node].alive && world.nodes[q.node].incarnation === q.incarnation)
    return open.length > 0 ? `${open.length} of ${d.asked} findPeer calls never settled (first on n${open[0].node})` : undefined
  },
})

/** After the faults healed and the network settled, the overlay is one connected graph again. */
const overlayHeals: InvariantFactory = () => ({
  name: 'overlay-heals',
  afterStep(world) {
    const d = world.data as unknown as DiscoveryData
    if (d.convergedAt === undefined && overlayConverged(world, DISCOVERY.lowWatermark)) d.convergedAt = world.sim.now()
    return undefined
  },
  check(world) {
    return overlayConverged(world, DISCOVERY.lowWatermark) ? undefined : 'the overlay is not one connected graph within the watermarks after settling'
  },
})

export const discoveryScenario: Scenario = {
  name: 'discovery',
  defaults: { nodes: 20, steps: 20 },
  warmupMs: 10_000,
  stepMs: 2_000,
  settleMs: 60_000,
  node: (i, before) => overlayNode(i, before),
  start(world) {
    Object.assign(world.data, { asked: 0, found: 0, notFound: 0, rounds: [], pending: new Set(), convergedAt: undefined })
  },
  step(world) {
    const d = world.data as unknown as DiscoveryData
    const alive = world.nodes.filter((n) => n.alive)
    if (alive.length < 2) return
    const from = alive[world.random(alive.length)]
    const to = world.nodes[world.random(world.nodes.length)]
    if (to === from) return
    d.asked++
    const query = { node: from.index, incarnation: from.incarnation }
    d.pending.add(query)
    from.swarm.findPeer(to.peerId).then(
      (found) => { d.pending.delete(query); d.found++; d.rounds.push(found.rounds) },
      () => { d.pending.delete(query); d.notFound++ },
    )
  },
  invariants: [lookupsEnd, overlayHeals],
  figures(world) {
    const d = world.data as unknown as DiscoveryData
    const degrees = world.nodes.map((n) => (n.alive ? n.swarm.peers().length : 0))
    return {
      convergedAtMs: d.convergedAt ?? -1,
      lookups: d.asked,
      found: d.found,
      notFound: d.notFound,
      meanRounds: Number((d.rounds.reduce((a, b) => a + b, 0) / Math.max(1, d.rounds.length)).toFixed(2)),
      degreeMin: Math.min(...degrees),
      degreeMax: Math.max(...degrees),
    }
  },
}

/** The scenarios `xswarm sim --scenario` knows by name. */
export const scenarios: Record<string, Scenario> = { pubsub: pubsubScenario, discovery: discoveryScenario, actors: actorsScenario }

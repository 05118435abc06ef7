/**
 * Discovery in a simulated network of 200 nodes at machine level (src/discovery/sim-network.ts:
 * a router plays the swarm; xstate SimulatedClocks; seeded latencies). Every node knows one
 * bootstrap address (node 0's). The phases share one network and run in order:
 * convergence, findPeer, partition and heal; then a second network with the same seed must
 * produce the same event log.
 */
import { afterAll, describe, expect, test } from 'vitest'
import { SimNetwork } from '../../src/discovery/sim-network.js'

const N = 200
const LOW = 8
const HIGH = 16
const SEED = 11

function network(seed: number, onEvent?: ConstructorParameters<typeof SimNetwork>[0]['onEvent']): SimNetwork {
  return new SimNetwork({
    nodes: N,
    seed,
    options: (i, addressOf) => ({
      bootstrap: i === 0 ? [] : [addressOf(0)],
      lowWatermark: LOW,
      highWatermark: HIGH,
      refreshInterval: 60_000,
    }),
    onEvent,
  })
}

describe(`discovery network (${N} nodes, machine level)`, () => {
  const answers = new Map<number, { type: string; rounds: number; peer: string }>()
  const discovered = new Map<number, Set<string>>()
  let duplicateDiscoveries = 0
  const net = network(SEED, (node, event) => {
    if (event.type === 'discovery.peer.found' || event.type === 'discovery.peer.notFound') {
      answers.set(event.queryId as number, { type: event.type, rounds: event.rounds as number, peer: event.peer as string })
    }
    if (event.type === 'peer.discovered') {
      const seen = discovered.get(node.index) ?? new Set()
      if (seen.has(event.peer as string)) duplicateDiscoveries++
      seen.add(event.peer as string)
      discovered.set(node.index, seen)
    }
  })
  const everyoneAboveLow = (): boolean => net.nodes.every((n) => n.links.size >= LOW)
  let checkpoint = { time: 0, lines: 0, digest: '' }
  afterAll(() => net.stop())

  test('converges: every node has ≥ low connections, the graph is connected, the hub was trimmed', () => {
    const t = net.runUntilTrue(() => everyoneAboveLow() && net.isConnected(), 1_000, 300_000)
    expect(t).toBeDefined()
    net.runUntil(Math.max(net.now, 120_000)) // node 0 had all 199 bootstrap connections, and the joins' lookups
    const degrees = net.nodes.map((n) => n.links.size)
    expect(degrees.reduce((a, b) => a + b) / N).toBeLessThanOrEqual(HIGH)
    expect(net.nodes[0].links.size).toBeLessThanOrEqual(2 * HIGH)
    expect(Math.min(...degrees)).toBeGreaterThanOrEqual(LOW)
    checkpoint = { time: net.now, ...net.logDigest() }
    // peer exchange spread the network; each peer announced at most once per node
    const known = [...discovered.values()].map((s) => s.size)
    expect(Math.min(...known)).toBeGreaterThan(LOW)
    expect(duplicateDiscoveries).toBe(0)
    console.log(`converged at ${t} ms simulated; ${net.delivered} facts delivered`)
  }, 120_000)

  test('findPeer finds random unconnected peers in O(log n) rounds', () => {
    net.runUntil(net.now + 60_000) // a refresh round
    let q = 0
    for (let k = 0; q < 40; k++) {
      const from = (k * 37 + 5) % N, to = (k * 101 + 29) % N
      if (from === to || net.nodes[from].links.has(to)) continue
      net.command(from, { type: 'discovery.findPeer', peer: net.nodes[to].peerId, queryId: q++ })
    }
    net.runUntil(net.now + 60_000)
    expect(answers.size).toBe(40)
    const rounds = [...answers.values()].map((a) => a.rounds)
    expect([...answers.values()].every((a) => a.type === 'discovery.peer.found')).toBe(true)
    expect(Math.max(...rounds)).toBeLessThanOrEqual(2 * Math.log2(N))
    expect(Math.min(...rounds)).toBeGreaterThanOrEqual(1) // real lookups, not local answers
    console.log(`findPeer rounds: mean ${(rounds.reduce((a, b) => a + b) / rounds.length).toFixed(2)}, max ${Math.max(...rounds)}`)
  }, 120_000)

  test('a partition into two halves keeps each half connected; healing joins them again', () => {
    const side = (i: number): number => (i < N / 2 ? 0 : 1)
    const halves = [0, 1].map((s) => net.nodes.filter((n) => side(n.index) === s).map((n) => n.index))
    const partitionedAt = net.now
    net.partition(side)
    const split = net.runUntilTrue(() => everyoneAboveLow() && halves.every((h) => net.isConnected(h)), 1_000, net.now + 300_000)
    expect(split).toBeDefined()
    expect(net.nodes.every((n) => [...n.links].every((j) => side(j) === side(n.index)))).toBe(true)
    expect(net.isConnected()).toBe(false)
    net.runUntil(net.now + 60_000)
    net.heal()
    const healedAt = net.now
    const joined = net.runUntilTrue(() => everyoneAboveLow() && net.isConnected(), 1_000, net.now + 600_000)
    expect(joined).toBeDefined()
    console.log(`partition: halves settled ${split! - partitionedAt} ms after the split; rejoined ${joined! - healedAt} ms after healing`)
  }, 120_000)

  test('the same seed gives the same event log', () => {
    const again = network(SEED)
    again.runUntil(checkpoint.time)
    expect(again.logDigest()).toEqual({ lines: checkpoint.lines, digest: checkpoint.digest })
    again.stop()
    const other = network(SEED + 1)
    other.runUntil(checkpoint.time)
    expect(other.logDigest().digest).not.toBe(checkpoint.digest)
    other.stop()
  }, 120_000)
})

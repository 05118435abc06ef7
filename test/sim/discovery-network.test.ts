/**
 * Discovery in a simulated network of 100 whole swarms (src/testing: the one simulator; the
 * root machine, connections, handshakes and codec included), with seeded link latencies. Every
 * node knows one bootstrap address (node 0's). The phases share one network and run in order:
 * convergence, findPeer, partition and heal; then a second network with the same seed must
 * produce the same event log.
 */
import { afterAll, describe, expect, test } from 'vitest'
import '../../src/discovery/builtin.js'
import { createSimulation, type Simulation } from '../../src/testing/simulation.js'
import { startNodes, type SimNode } from '../../src/testing/node.js'
import type { FoundPeer } from '../../src/swarm.js'

const N = 100
const LOW = 8
const HIGH = 16
const SEED = 11

interface Net { sim: Simulation; nodes: SimNode[]; log: string[]; discovered: Map<number, Set<string>>; duplicates: number }

async function network(seed: number, n = N): Promise<Net> {
  const sim = createSimulation({ seed, links: { latency: { min: 5, max: 25, jitter: 2 } } })
  const net: Net = { sim, nodes: [], log: [], discovered: new Map(), duplicates: 0 }
  net.nodes = await startNodes(sim, n, (i, nodes) => ({
    seed: seed * 10_000 + i,
    ping: false,
    pubsub: false,
    bootstrap: i === 0 ? [] : [nodes[0].address],
    discovery: { lowWatermark: LOW, highWatermark: HIGH, refreshInterval: 60_000 },
  }), (node, event) => {
    net.log.push(`${sim.now()} ${node.index} ${event.type} ${(event as { peer?: string }).peer ?? ''}`)
    if (event.type === 'peer.discovered') {
      const peer = event.peer as string
      const seen = net.discovered.get(node.index) ?? new Set()
      if (seen.has(peer)) net.duplicates++
      seen.add(peer)
      net.discovered.set(node.index, seen)
    }
  })
  return net
}

const index = (net: Net): Map<string, number> => new Map(net.nodes.map((n) => [n.peerId, n.index]))

/** Is the connection graph (restricted to `members`) connected, as the swarms' views say? */
function connected(net: Net, members = net.nodes.map((n) => n.index)): boolean {
  const ids = index(net)
  const set = new Set(members)
  const seen = new Set([members[0]])
  const stack = [members[0]]
  while (stack.length > 0) {
    for (const p of net.nodes[stack.pop()!].swarm.peers()) {
      const j = ids.get(p)
      if (j !== undefined && set.has(j) && !seen.has(j)) { seen.add(j); stack.push(j) }
    }
  }
  return seen.size === set.size
}

describe(`discovery network (${N} swarms, simulated)`, () => {
  let net: Net
  const everyoneAboveLow = (): boolean => net.nodes.every((n) => n.swarm.peers().length >= LOW)
  let checkpoint = { time: 0, log: '' }
  afterAll(() => { for (const node of net?.nodes ?? []) node.crash() })

  test('converges: every node has ≥ low connections, the graph is connected, the hub was trimmed', async () => {
    net = await network(SEED)
    const r = await net.sim.run({ until: () => everyoneAboveLow() && connected(net), forMs: 300_000 })
    expect(r.satisfied).toBe(true)
    await net.sim.run({ forMs: Math.max(0, 120_000 - net.sim.now()) }) // node 0 had all 99 bootstrap connections
    const degrees = net.nodes.map((n) => n.swarm.peers().length)
    expect(degrees.reduce((a, b) => a + b) / N).toBeLessThanOrEqual(HIGH)
    expect(degrees[0]).toBeLessThanOrEqual(2 * HIGH)
    expect(Math.min(...degrees)).toBeGreaterThanOrEqual(LOW)
    const upTo = (line: string): boolean => Number(line.slice(0, line.indexOf(' '))) <= 30_000
    checkpoint = { time: 30_000, log: net.log.filter(upTo).join('\n') }
    // peer exchange spread the network; each peer announced at most once per node
    const known = [...net.discovered.values()].map((s) => s.size)
    expect(Math.min(...known)).toBeGreaterThan(LOW)
    expect(net.duplicates).toBe(0)
  }, 120_000)

  test('findPeer finds random unconnected peers in O(log n) rounds', async () => {
    await net.sim.run({ forMs: 60_000 }) // a refresh round
    const answers: Array<FoundPeer | Error> = []
    let q = 0
    for (let k = 0; q < 40; k++) {
      const from = net.nodes[(k * 37 + 5) % N], to = net.nodes[(k * 101 + 29) % N]
      if (from === to || from.swarm.isConnected(to.peerId)) continue
      q++
      from.swarm.findPeer(to.peerId).then((found) => answers.push(found), (error: Error) => answers.push(error))
    }
    await net.sim.run({ until: () => answers.length === 40, forMs: 60_000 })
    expect(answers.length).toBe(40)
    expect(answers.filter((a) => a instanceof Error)).toEqual([])
    const rounds = (answers as FoundPeer[]).map((a) => a.rounds)
    expect(Math.max(...rounds)).toBeLessThanOrEqual(2 * Math.log2(N))
  }, 120_000)

  test('a partition into two halves keeps each half connected; healing joins them again', async () => {
    const side = (i: number): number => (i < N / 2 ? 0 : 1)
    const sideOfLink = new Map(net.nodes.map((n) => [n.linkId, side(n.index)]))
    const halves = [0, 1].map((s) => net.nodes.filter((n) => side(n.index) === s).map((n) => n.index))
    const ids = index(net)
    const crossLinks = (): number => net.nodes.reduce((sum, n) => sum + n.swarm.peers().filter((p) => side(ids.get(p)!) !== side(n.index)).length, 0)
    net.sim.links.partition((id) => sideOfLink.get(id) ?? -1)
    // Cross connections break when something crosses them (keep-alives at the latest).
    const split = await net.sim.run({ until: () => crossLinks() === 0 && everyoneAboveLow() && halves.every((h) => connected(net, h)), forMs: 300_000 })
    expect(split.satisfied).toBe(true)
    expect(connected(net)).toBe(false)
    await net.sim.run({ forMs: 60_000 })
    net.sim.links.heal()
    const joined = await net.sim.run({ until: () => everyoneAboveLow() && connected(net), forMs: 600_000 })
    expect(joined.satisfied).toBe(true)
  }, 120_000)

  test('the same seed gives the same event log; another seed another', async () => {
    const again = await network(SEED)
    await again.sim.run({ forMs: checkpoint.time })
    const same = again.log.filter((line) => Number(line.slice(0, line.indexOf(' '))) <= checkpoint.time).join('\n') === checkpoint.log
    for (const node of again.nodes) node.crash()
    expect(same).toBe(true)
    const other = await network(SEED + 1, 20)
    await other.sim.run({ forMs: 5_000 })
    expect(other.log.join('\n').slice(0, 2_000)).not.toBe(checkpoint.log.slice(0, 2_000))
    for (const node of other.nodes) node.crash()
  }, 120_000)
})

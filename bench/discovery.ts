/**
 * Discovery at scale, whole swarms on the simulator (src/testing): how long (simulated and wall time) a network of N nodes
 * (default 1,000) that all know one bootstrap address takes until every node has at least the
 * low watermark of connections in one connected graph that does not depend on the bootstrap
 * node, how many rounds findPeer takes after that, and how much heap a node costs. Prints the figures and writes
 * bench/results/discovery.json.
 *
 * Run from the repository root: `npx tsc -p tsconfig.json --outDir /tmp/xs && node --expose-gc
 * /tmp/xs/bench/discovery.js [N]` (without --expose-gc the memory figures include garbage). Uses src/testing, the
 * same simulator as test/sim/discovery-network.test.ts (seeded link latencies of 5-25 ms).
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus } from 'node:os'
import { dirname, join } from 'node:path'
import '../src/discovery/builtin.js'
import { createSimulation } from '../src/testing/simulation.js'
import { startNodes, type SimNode } from '../src/testing/node.js'
import type { FoundPeer } from '../src/swarm.js'

const N = Number(process.argv[2] ?? process.env.N ?? 1_000)
const SEED = 5
const LOW = 8
const HIGH = 16

function heap(): number {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc) { gc(); gc() }
  return process.memoryUsage().heapUsed
}

/** Is the graph of the nodes' connections (restricted to `members`) connected? */
function connected(nodes: SimNode[], members: number[]): boolean {
  const ids = new Map(nodes.map((n) => [n.peerId, n.index]))
  const set = new Set(members)
  const seen = new Set([members[0]])
  const stack = [members[0]]
  while (stack.length > 0) {
    for (const p of nodes[stack.pop()!].swarm.peers()) {
      const j = ids.get(p)
      if (j !== undefined && set.has(j) && !seen.has(j)) { seen.add(j); stack.push(j) }
    }
  }
  return seen.size === set.size
}

async function main(): Promise<void> {
  const answers: Array<FoundPeer | Error> = []
  const heap0 = heap()
  const t0 = performance.now()
  const sim = createSimulation({ seed: SEED, links: { latency: { min: 5, max: 25, jitter: 2 } } })
  const nodes = await startNodes(sim, N, (i, before) => ({
    seed: SEED * 100_000 + i, ping: false, pubsub: false,
    bootstrap: i === 0 ? [] : [before[0].address],
    discovery: { lowWatermark: LOW, highWatermark: HIGH, refreshInterval: 60_000 },
  }))
  const created = performance.now()
  const heapCreated = heap()
  const everyone = nodes.map((n) => n.index)
  const degree = (n: SimNode): number => n.swarm.peers().length

  // First: every node has ≥ low connections in one connected graph (at first through the
  // bootstrap node, which everyone dialed). Settled: the same without node 0 (the overlay no
  // longer hangs on the bootstrap hub, whose extra connections were trimmed).
  const withoutHub = everyone.slice(1)
  const aboveLow = (): boolean => nodes.every((n) => degree(n) >= LOW)
  const first = await sim.run({ until: () => aboveLow() && connected(nodes, everyone), forMs: 900_000 })
  const firstWall = performance.now()
  const conv = await sim.run({ until: () => aboveLow() && connected(nodes, withoutHub) && degree(nodes[0]) <= 2 * HIGH, forMs: 900_000 })
  const convergedWall = performance.now()
  const inputsAtConvergence = nodes.reduce((sum, n) => sum + n.swarm.stats().inputs, 0)
  const heapConverged = heap()

  await sim.run({ forMs: 120_000 })
  const queries = Math.min(100, N)
  let q = 0
  for (let k = 0; q < queries && k < 100 * queries; k++) {
    const from = nodes[(k * 37 + 5) % N], to = nodes[(k * 101 + 29) % N]
    if (from === to || from.swarm.isConnected(to.peerId)) continue
    q++
    from.swarm.findPeer(to.peerId).then((f) => answers.push(f), (e: Error) => answers.push(e))
  }
  await sim.run({ until: () => answers.length === q, forMs: 60_000 })
  const end = performance.now()
  const heapEnd = heap()

  const rounds = answers.filter((a): a is FoundPeer => !(a instanceof Error)).map((a) => a.rounds)
  const avg = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
  const degrees = nodes.map(degree)
  const totalInputs = nodes.reduce((sum, n) => sum + n.swarm.stats().inputs, 0)
  const result = {
    nodes: N,
    seed: SEED,
    level: 'whole swarms (src/testing simulator: root, connections, Noise handshakes, codec)',
    watermarks: { low: LOW, high: HIGH },
    firstConnectedSimulatedMs: first.satisfied ? first.now : null,
    firstConnectedWallMs: Math.round(firstWall - created),
    converged: conv.satisfied,
    convergedSimulatedMs: conv.satisfied ? conv.now : null,
    convergedWallMs: Math.round(convergedWall - created),
    createWallMs: Math.round(created - t0),
    inputsToConvergence: inputsAtConvergence,
    wallMicrosPerInput: Number((((convergedWall - created) * 1000) / Math.max(1, inputsAtConvergence)).toFixed(1)),
    findPeer: {
      queries: q,
      found: rounds.length,
      notFound: answers.length - rounds.length,
      meanRounds: Number(avg(rounds).toFixed(2)),
      maxRounds: rounds.length ? Math.max(...rounds) : null,
      bound2log2n: Number((2 * Math.log2(N)).toFixed(1)),
    },
    totalSimulatedMs: sim.now(),
    totalWallMs: Math.round(end - t0),
    totalInputs,
    degree: { min: Math.min(...degrees), mean: Number(avg(degrees).toFixed(2)), max: Math.max(...degrees) },
    perNode: {
      heapBytesCreated: Math.round((heapCreated - heap0) / N),
      heapBytesConverged: Math.round((heapConverged - heap0) / N),
      heapBytesEnd: Math.round((heapEnd - heap0) / N),
      gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function',
    },
    environment: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown' },
    date: new Date().toISOString(),
  }
  for (const node of nodes) node.crash()
  console.log(JSON.stringify(result, null, 2))
  const out = process.env.XSWARM_BENCH_OUT ?? join(process.cwd(), 'bench', 'results', 'discovery.json')
  await mkdir(dirname(out), { recursive: true })
  await writeFile(out, JSON.stringify(result, null, 2) + '\n')
  console.log(`wrote ${out}`)
}

await main()

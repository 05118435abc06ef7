/**
 * Discovery at scale, machine level: how long (simulated and wall time) a network of N nodes
 * (default 1,000) that all know one bootstrap address takes until every node has at least the
 * low watermark of connections in one connected graph that does not depend on the bootstrap
 * node, how many rounds findPeer takes after that, and how much heap a node costs. Prints the figures and writes
 * bench/results/discovery.json.
 *
 * Run from the repository root: `npx tsc -p tsconfig.json --outDir /tmp/xs && node --expose-gc
 * /tmp/xs/bench/discovery.js [N]` (without --expose-gc the memory figures include garbage). Uses src/discovery/sim-network.ts,
 * the same simulator as test/sim/discovery-network.test.ts.
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus } from 'node:os'
import { dirname, join } from 'node:path'
import { SimNetwork } from '../src/discovery/sim-network.js'

const N = Number(process.argv[2] ?? process.env.N ?? 1_000)
const SEED = 5
const LOW = 8
const HIGH = 16

function heap(): number {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc) { gc(); gc() }
  return process.memoryUsage().heapUsed
}

async function main(): Promise<void> {
  const rounds: number[] = []
  let notFound = 0
  const heap0 = heap()
  const t0 = performance.now()
  const net = new SimNetwork({
    nodes: N,
    seed: SEED,
    options: (i, addressOf) => ({ bootstrap: i === 0 ? [] : [addressOf(0)], lowWatermark: LOW, highWatermark: HIGH, refreshInterval: 60_000 }),
    onEvent: (_node, e) => {
      if (e.type === 'discovery.peer.found') rounds.push(e.rounds as number)
      if (e.type === 'discovery.peer.notFound') notFound++
    },
  })
  const created = performance.now()
  const heapCreated = heap()

  // First: every node has ≥ low connections in one connected graph (at first through the
  // bootstrap node, which everyone dialed). Settled: the same without node 0 (the overlay no
  // longer hangs on the bootstrap hub, whose extra connections were trimmed).
  const withoutHub = net.nodes.slice(1).map((n) => n.index)
  const aboveLow = (): boolean => net.nodes.every((n) => n.links.size >= LOW)
  const firstConnected = net.runUntilTrue(() => aboveLow() && net.isConnected(), 1_000, 900_000)
  const firstWall = performance.now()
  const converged = net.runUntilTrue(() => aboveLow() && net.isConnected(withoutHub) && net.nodes[0].links.size <= 2 * HIGH, 1_000, 900_000)
  const convergedWall = performance.now()
  const factsAtConvergence = net.delivered
  const heapConverged = heap()

  net.runUntil(net.now + 120_000)
  const queries = Math.min(100, N)
  let q = 0
  for (let k = 0; q < queries && k < 100 * queries; k++) {
    const from = (k * 37 + 5) % N, to = (k * 101 + 29) % N
    if (from === to || net.nodes[from].links.has(to)) continue
    net.command(from, { type: 'discovery.findPeer', peer: net.nodes[to].peerId, queryId: q++ })
  }
  net.runUntil(net.now + 60_000)
  const end = performance.now()
  const heapEnd = heap()

  const contexts = net.nodes.map((n) => n.discovery.getSnapshot().context)
  const avg = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
  const degrees = net.nodes.map((n) => n.links.size)
  const result = {
    nodes: N,
    seed: SEED,
    watermarks: { low: LOW, high: HIGH },
    firstConnectedSimulatedMs: firstConnected ?? null,
    firstConnectedWallMs: Math.round(firstWall - created),
    converged: converged !== undefined,
    convergedSimulatedMs: converged ?? null,
    convergedWallMs: Math.round(convergedWall - created),
    createWallMs: Math.round(created - t0),
    factsDeliveredToConvergence: factsAtConvergence,
    wallMicrosPerFact: Number((((convergedWall - created) * 1000) / Math.max(1, factsAtConvergence)).toFixed(1)),
    findPeer: {
      queries: q,
      found: rounds.length,
      notFound,
      meanRounds: Number(avg(rounds).toFixed(2)),
      maxRounds: rounds.length ? Math.max(...rounds) : null,
      bound2log2n: Number((2 * Math.log2(N)).toFixed(1)),
    },
    totalSimulatedMs: net.now,
    totalWallMs: Math.round(end - t0),
    totalFactsDelivered: net.delivered,
    degree: { min: Math.min(...degrees), mean: Number(avg(degrees).toFixed(2)), max: Math.max(...degrees) },
    perNode: {
      routingTableMean: Number(avg(contexts.map((c) => c.table.byPeer.size)).toFixed(1)),
      peerStoreMean: Number(avg(contexts.map((c) => c.store.records.size)).toFixed(1)),
      heapBytesCreated: Math.round((heapCreated - heap0) / N),
      heapBytesConverged: Math.round((heapConverged - heap0) / N),
      heapBytesEnd: Math.round((heapEnd - heap0) / N),
      gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function',
    },
    environment: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown' },
    date: new Date().toISOString(),
  }
  net.stop()
  console.log(JSON.stringify(result, null, 2))
  const out = process.env.XSWARM_BENCH_OUT ?? join(process.cwd(), 'bench', 'results', 'discovery.json')
  await mkdir(dirname(out), { recursive: true })
  await writeFile(out, JSON.stringify(result, null, 2) + '\n')
  console.log(`wrote ${out}`)
}

await main()

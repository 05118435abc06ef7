/**
 * What discovery's lookups cost a network in connections: 100 whole swarms on the simulator
 * (seed 11, one bootstrap address, watermarks 8/16, a refresh every 60 s, as
 * test/sim/discovery-network.test.ts), sampled every 30 simulated seconds for 180 s: the mean,
 * max and min degree, the connections opened (`peer.connected`, both ends counted) and closed
 * by reason, and the wall and CPU time. `--paths d` sets `disjointPaths` (default 1).
 *
 * Run from the repository root: `npx tsx bench/discovery-degree.ts [--paths 3]`. Prints one
 * line; the figures in SECURITY.md (disjoint paths) and README (connection manager) come from it.
 * @module
 */
import '../src/discovery/builtin.js'
import { createSimulation } from '../src/testing/simulation.js'
import { startNodes } from '../src/testing/node.js'

const at = process.argv.indexOf('--paths')
const paths = at > 0 ? Number(process.argv[at + 1]) : 1
const N = 100
const SEED = 11
const SECONDS = 180

const sim = createSimulation({ seed: SEED, links: { latency: { min: 5, max: 25, jitter: 2 } } })
let connects = 0
const closes: Record<string, number> = {}
const nodes = await startNodes(sim, N, (i, all) => ({
  seed: SEED * 10_000 + i, ping: false, pubsub: false,
  bootstrap: i === 0 ? [] : [all[0].address],
  discovery: { lowWatermark: 8, highWatermark: 16, refreshInterval: 60_000, disjointPaths: paths },
}), (_node, event) => {
  if (event.type === 'peer.connected') connects++
  if (event.type === 'peer.disconnected') {
    const reason = String(event.reason)
    closes[reason] = (closes[reason] ?? 0) + 1
  }
})
const started = performance.now()
const cpu = process.cpuUsage()
const samples: string[] = []
for (let t = 30; t <= SECONDS; t += 30) {
  await sim.run({ forMs: 30_000 })
  const d = nodes.map((n) => n.swarm.peers().length)
  samples.push(`${t} s: mean ${(d.reduce((a, b) => a + b) / N).toFixed(2)} max ${Math.max(...d)} min ${Math.min(...d)}`)
}
const used = process.cpuUsage(cpu)
console.log(`disjointPaths ${paths}: ${samples.join(' | ')}; peer.connected ${connects}; closed ${JSON.stringify(closes)}; `
  + `wall ${((performance.now() - started) / 1000).toFixed(1)} s, CPU ${((used.user + used.system) / 1e6).toFixed(1)} s`)
for (const n of nodes) n.crash()

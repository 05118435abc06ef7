#!/usr/bin/env node
// # What a light-load message costs, and what the nodes cost idle (diagnostic, not a table row)
//
//   node --expose-gc bench/pubsub/light-cpu.mjs [--system xswarm|libp2p] [--nodes 10] [--size 128]
//        [--profile idle|light] [--out FILE.cpuprofile] [--tree]
//
// As in run.mjs: the topology, a warm-up and a (--quick sized) throughput phase first, then 2.5 s
// of rest. Then 10 s with nothing published (idle) and the light-load phase of harness.latency
// (10 msg/s, round-robin, 15 s). Prints the process's CPU (all threads: V8's compiler and GC
// helpers too) and the main thread's (/proc/self/task/<pid>/schedstat) per second idle and per
// message in the light phase, and the idle part of the latter (the main thread's idle rate over
// the light phase's length, per message), and the WebSocket messages received per delivery (where
// the adapter counts them: xswarm). --profile records a V8 CPU profile (100 µs sampling)
// of the idle or the light phase instead of measuring both; `node
// bench/pubsub/profile-shares.mjs FILE` splits it by package. --tree runs on a spanning tree of
// the benchmark's topology instead, where a node receives each message once (no duplicates; the
// paths are longer): the difference in main-thread CPU per delivery is what the duplicates cost.
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { startWarmedUp, latency, makeTopology, spanningTree, round } from './harness.mjs'
import { cpuProfiled } from '../cpu-profile.mjs'

const { values: args } = parseArgs({
  options: {
    system: { type: 'string', default: 'xswarm' },
    nodes: { type: 'string', default: '10' },
    size: { type: 'string', default: '128' },
    profile: { type: 'string' },
    out: { type: 'string' },
    tree: { type: 'boolean', default: false }
  }
})
const { system, profile } = args
const n = Number(args.nodes)
const size = Number(args.size)
if (profile != null && profile !== 'idle' && profile !== 'light') throw new Error(`--profile idle|light, not ${profile}`)
const ring = makeTopology(n, 24301)
const { sys, tracker } = await startWarmedUp({ system, n, size, edges: args.tree ? spanningTree(n, ring) : ring })
await sleep(2500)

const idle = () => sleep(10_000)
const light = () => latency(tracker, { size, rate: 10, durationMs: 15_000, graceMs: 1000, publisher: 'rr' })
if (profile != null) {
  const out = args.out ?? `${system}-${profile}.cpuprofile`
  await cpuProfiled(profile === 'idle' ? idle : light, { out, intervalUs: 100 })
  console.log(`wrote ${out}`)
} else {
  const mainNs = () => Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0])
  const measure = async (phase) => {
    const cpu0 = process.cpuUsage(), main0 = mainNs(), t0 = performance.now()
    const result = await phase()
    const cpu = process.cpuUsage(cpu0)
    return { seconds: (performance.now() - t0) / 1000, allMs: (cpu.user + cpu.system) / 1000, mainMs: (mainNs() - main0) / 1e6, result }
  }
  const quiet = await measure(idle)
  const wire0 = sys.wire?.()
  const busy = await measure(light)
  const wire1 = sys.wire?.()
  const messages = Math.max(1, busy.result.published)
  console.log(JSON.stringify({
    system, n, size,
    idleMsPerSecond: { all: round(quiet.allMs / quiet.seconds), main: round(quiet.mainMs / quiet.seconds) },
    lightMsPerMessage: { all: round(busy.allMs / messages), main: round(busy.mainMs / messages), mainIdlePart: round(quiet.mainMs / quiet.seconds * busy.seconds / messages) },
    // WebSocket messages received by all nodes per delivery (where the adapter counts them)
    framesInPerDelivery: wire1 ? round((wire1.framesIn - wire0.framesIn) / Math.max(1, busy.result.samples)) : null,
    p50ms: busy.result.p50ms, p99ms: busy.result.p99ms
  }))
}
await sys.stop?.()
process.exit(0)

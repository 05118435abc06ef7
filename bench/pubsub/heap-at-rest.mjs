#!/usr/bin/env node
// # Heap at rest: what n xswarm nodes hold when nothing happens (issue 13 item 4)
//
//   npm run build && node --expose-gc bench/pubsub/heap-at-rest.mjs [--nodes 30] [--settle-ms 3000]
//        [--options bench|default] [--out FILE]
//   (XSWARM_DIST=<another checkout's dist> measures that build instead, for a before/after)
//
// Builds n nodes in this process (the bench/pubsub topology: ring + seeded chords, ~4
// connections per node, every node subscribed to one topic, defaults otherwise), in stages, and
// after each stage lets them settle, runs a full GC (global.gc, three times) and reads heapUsed:
//   modules   xswarm imported, and a 3-node network run and closed, so the code it compiles is
//             in the baseline (code is per process, not per node); no node yet
//   created   n swarms listening, no connection
//   connected every edge dialled, both ends connected
//   subscribed every node subscribed, meshes formed, `--settle-ms` of heartbeats later: AT REST
//   messaged  every node published one 128-byte message and all n-1 others got it, then settled
// Heap per node = (stage − modules) / n. At rest it also takes a heap snapshot and sums the
// "self size" of the live objects added since `modules` by kind and constructor (what a node
// holds), and again after the messages (what the messages added). Figures to stdout and, with --out, as JSON. Nothing is asserted.
import { writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { getHeapSnapshot } from 'node:v8'
import { TOPIC, gcNow, makeTopology } from './harness.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const args = process.argv.slice(2)
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : dflt }
const N = Number(opt('nodes', 30))
const SETTLE_MS = Number(opt('settle-ms', 3000))
const OUT = opt('out', undefined)
// 'bench': the options of the bench/pubsub xswarm adapter (ping and discovery off, rate limits
// raised), so the figure matches the table's; 'default': createSwarm's defaults (every protocol).
const OPTIONS = opt('options', 'bench')
const SWARM_OPTIONS = OPTIONS === 'default'
  ? { listen: ['ws://127.0.0.1:0'] }
  : { listen: ['ws://127.0.0.1:0'], ping: false, discovery: false, limits: { maxFramesPerSecond: 1e6, maxBytesPerSecond: 4 * 1024 ** 3 } }
if (OPTIONS !== 'default' && OPTIONS !== 'bench') throw new Error('--options bench|default')
if (typeof global.gc !== 'function') throw new Error('run with node --expose-gc')

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
async function heap () { await gcNow(); await sleep(50); await gcNow(); return process.memoryUsage().heapUsed }
async function until (what, fn, ms = 20_000) {
  const deadline = Date.now() + ms
  while (!fn()) { if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`); await sleep(20) }
}

/** Self size by constructor name of every object in a heap snapshot. */
async function bySelfSize () {
  const chunks = []
  for await (const chunk of getHeapSnapshot()) chunks.push(chunk)
  const snap = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  const f = snap.snapshot.meta.node_fields
  const types = snap.snapshot.meta.node_types[0]
  const iType = f.indexOf('type'), iName = f.indexOf('name'), iSize = f.indexOf('self_size')
  const out = new Map()
  for (let i = 0; i < snap.nodes.length; i += f.length) {
    const type = types[snap.nodes[i + iType]]
    const key = type === 'object' || type === 'closure' ? `${type} ${snap.strings[snap.nodes[i + iName]]}` : type
    out.set(key, (out.get(key) ?? 0) + snap.nodes[i + iSize])
  }
  return out
}

const { createSwarm } = await import(pathToFileURL(resolve(process.env.XSWARM_DIST ?? resolve(here, '..', '..', 'dist'), 'src', 'index.js')).href)

/** A 3-node network that connects, meshes and delivers, then closes: compiles the code paths,
 * so code and inline caches (per process, not per node) are in the baseline. */
async function warmUp () {
  const few = []
  for (let i = 0; i < 3; i++) few.push(await createSwarm(SWARM_OPTIONS))
  let delivered = 0
  const loops = few.map(async (s) => { for await (const e of s) if (e.type === 'pubsub.message') delivered++ })
  for (const s of few) s.subscribe(TOPIC)
  few[0].dial(few[1].addresses[0]); few[1].dial(few[2].addresses[0]); few[2].dial(few[0].addresses[0])
  await sleep(1500)
  for (const s of few) s.publish(TOPIC, new Uint8Array(128))
  await until('the warm-up messages', () => delivered >= 6)
  await Promise.all(few.map((s) => s.close()))
  await Promise.race([Promise.all(loops), sleep(5000)])
}
await warmUp()
const stages = {}
const base = await heap()
const baseKinds = await bySelfSize()
stages.modules = base

const swarms = []
for (let i = 0; i < N; i++) swarms.push(await createSwarm(SWARM_OPTIONS))
const connected = swarms.map(() => new Set())
const subscribed = swarms.map(() => new Set())
const got = swarms.map(() => 0)
const loops = swarms.map(async (swarm, i) => {
  for await (const e of swarm) {
    if (e.type === 'peer.connected') connected[i].add(e.peer)
    else if (e.type === 'peer.disconnected') connected[i].delete(e.peer)
    else if (e.type === 'pubsub.peer.subscribed') subscribed[i].add(e.peer)
    else if (e.type === 'pubsub.message') got[i]++
  }
})
await sleep(SETTLE_MS)
stages.created = await heap()

const edges = makeTopology(N, 24301)
const want = new Array(N).fill(0)
for (const [a, b] of edges) { want[a]++; want[b]++; swarms[a].dial(swarms[b].addresses[0]) }
await until('every edge connected', () => connected.every((c, i) => c.size >= want[i]))
await sleep(SETTLE_MS)
stages.connected = await heap()

for (const s of swarms) s.subscribe(TOPIC)
await until('every subscription seen', () => subscribed.every((p, i) => p.size >= want[i]))
await sleep(SETTLE_MS)
stages.subscribed = await heap()
const restKinds = await bySelfSize()

for (const s of swarms) s.publish(TOPIC, new Uint8Array(128))
await until('every message delivered', () => got.every((g) => g >= N - 1))
await sleep(SETTLE_MS)
stages.messaged = await heap()
const messagedKinds = await bySelfSize()

await Promise.all(swarms.map((s) => s.close()))
await Promise.race([Promise.all(loops), sleep(5000)])

const kb = (bytes) => Math.round(bytes / 1024 * 10) / 10
const perNode = Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, kb((v - base) / N)]))
/** The kinds that grew from `from` to `to`, largest first, per node. */
function grown (from, to, count = 15) {
  const kinds = [...to].map(([k, v]) => [k, v - (from.get(k) ?? 0)]).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1])
  const total = kinds.reduce((s, [, v]) => s + v, 0)
  return kinds.slice(0, count).map(([kind, bytes]) => ({ kind, kbPerNode: kb(bytes / N), share: Math.round(bytes / total * 1000) / 10 }))
}
const top = grown(baseKinds, restKinds)
const perMessage = grown(restKinds, messagedKinds, 10)

console.log(`heap per node (KB, after a full GC, minus the modules' heap), n=${N}, ${edges.length} connections, options ${OPTIONS}, load ${(await import('node:os')).loadavg()[0].toFixed(2)}:`)
console.log(`  created ${perNode.created}   connected ${perNode.connected}   subscribed (at rest) ${perNode.subscribed}   after one message each ${perNode.messaged}`)
console.log('at rest, objects added since the modules, by kind (self size):')
for (const t of top) console.log(`  ${String(t.kbPerNode).padStart(7)} KB/node  ${String(t.share).padStart(5)}%  ${t.kind}`)
console.log(`after one message each (${N} messages held by every node's caches), added since at rest, by kind:`)
for (const t of perMessage) console.log(`  ${String(t.kbPerNode).padStart(7)} KB/node  ${String(t.share).padStart(5)}%  ${t.kind}`)
if (OUT) writeFileSync(OUT, JSON.stringify({ n: N, options: OPTIONS, connections: edges.length, settleMs: SETTLE_MS, heapPerNodeKB: perNode, atRestByKind: top, messagedByKind: perMessage, node: process.version, date: new Date().toISOString() }, null, 2) + '\n')

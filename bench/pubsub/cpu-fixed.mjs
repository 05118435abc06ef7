// CPU seconds for a fixed pubsub workload over the in-memory transport (no sockets): n swarms in
// one process, ring + chords, all subscribed; M messages published round-robin with a window of 32;
// prints one JSON line: messages delivered to all n-1 subscribers per CPU-second of this process,
// and the bytes all nodes received (`stats().bytesIn`, frames and their encryption) per delivered
// payload byte in the timed part (1 would be one copy per subscriber and nothing else).
// The same work for every build, so two builds compare by CPU time even on a busy machine (run
// them alternately, several times, and compare medians):
//   node bench/pubsub/cpu-fixed.mjs <build>/dist/src/index.js 30 128 400
// No --expose-gc needed; bounded by M (a lost message would hang it: run it under `timeout`).
import { pathToFileURL } from 'node:url'
// A fifth argument is JSON pubsub options (e.g. '{"forwardHold":0}') to compare parameters.
const [entry, nArg, sizeArg, mArg, pubsubArg] = process.argv.slice(2)
const pubsub = pubsubArg ? { pubsub: JSON.parse(pubsubArg) } : {}
const { createSwarm, createMemoryNetwork } = await import(pathToFileURL(entry).href)
const n = Number(nArg), size = Number(sizeArg), M = Number(mArg)
let tasks = [], armed = false
const schedule = (t) => { tasks.push(t); if (!armed) { armed = true; setImmediate(() => { armed = false; const b = tasks; tasks = []; for (const x of b) x() }) } }
const net = createMemoryNetwork({ schedule })
const limits = { maxFramesPerSecond: 1e7, maxBytesPerSecond: 1e12 }
const swarms = []
for (let i = 0; i < n; i++) swarms.push(await createSwarm({ listen: ['memory://0'], transports: [net.transport()], ping: false, discovery: false, ...pubsub, limits, seed: new Uint8Array(32).fill(i + 1) }))
const got = new Map()
let delivered = 0
const waiters = []
const conns = swarms.map(() => 0), subs = swarms.map(() => 0)
swarms.forEach((s, i) => (async () => {
  for await (const e of s) {
    if (e.type === 'peer.connected') conns[i]++
    else if (e.type === 'pubsub.peer.subscribed') subs[i]++
    else if (e.type === 'pubsub.message') {
      const k = e.id; const c = (got.get(k) ?? 0) + 1; got.set(k, c)
      if (c === n - 1) { delivered++; got.delete(k); waiters.shift()?.() }
    }
  }
})())
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
while (swarms.some((s) => s.addresses.length === 0)) await sleep(10)
const edges = []
for (let i = 0; i < n; i++) { edges.push([i, (i + 1) % n]); if (n > 4) edges.push([i, (i + 3) % n]) }
for (const [a, b] of edges) swarms[a].dial(swarms[b].addresses[0])
for (const s of swarms) s.subscribe('t')
while (subs.some((c, i) => c < 2)) await sleep(20)
await sleep(1500)
const data = new Uint8Array(size).fill(7)
const run = async (count) => {
  let published = 0, outstanding = 0
  const start = delivered
  await new Promise((resolve) => {
    const pump = () => {
      while (outstanding < 32 && published < count) { swarms[published % n].publish('t', data); published++; outstanding++ ; waiters.push(() => { outstanding--; if (delivered - start >= count) resolve(); else pump() }) }
    }
    pump()
  })
}
await run(Math.ceil(M / 10)) // warm-up
const bytesIn = () => swarms.reduce((sum, s) => sum + s.stats().bytesIn, 0)
const b0 = bytesIn()
const c0 = process.cpuUsage(); const t0 = performance.now()
await run(M)
const c = process.cpuUsage(c0); const cpu = (c.user + c.system) / 1e6
const wireBytesPerPayloadByte = +((bytesIn() - b0) / (M * (n - 1) * size)).toFixed(2)
console.log(JSON.stringify({ entry, n, size, M, cpuSeconds: +cpu.toFixed(3), wallSeconds: +((performance.now() - t0) / 1000).toFixed(3), msgPerCpuSecond: +(M / cpu).toFixed(1), wireBytesPerPayloadByte, ...pubsub }))
await Promise.all(swarms.map((s) => s.close()))
process.exit(0)

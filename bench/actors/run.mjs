// Side-by-side actor messaging benchmark (issue 9 item 12), all systems in one process on
// 127.0.0.1, the same measurement code for each:
//   xswarm  — two swarms over ws, one connection; one sending actor (the user's ref), one
//             receiving actor hosted on the other node (`swarm.actors`), small events.
//   raw     — ws + msgpackr request/response, no security, no actors: the ceiling.
//   libp2p  — js-libp2p 2.10 (ws + noise + yamux, versions in package.json, after
//             shared/notes/js-libp2p-on-node20.md), request/response over one stream with a
//             2-byte length prefix; connectionMonitor off.
// Figures: one-way events/s, ask round trips/s with p50/p99 latency at 1 and 64 in flight,
// and (xswarm) heap per idle hosted actor beyond XState's own. Each rate also gives the
// process's CPU time per operation and operations per CPU-second (both ends together): on a
// shared machine they move much less with the load than the wall-clock rates, so compare runs
// by them. Full runs measure every system 3 times (--runs N) and report medians, and `targets`
// says which of issue 9's targets the medians meet, by the clock and per CPU-second.
// Usage: npm install && npm run build (repository root), then here: npm install; npm run full
//        (or npm run quick). Writes ../results/actors.json (quick: actors.quick.json).
import { writeFileSync } from 'node:fs'
import { cpuProfiled } from '../cpu-profile.mjs'
import os from 'node:os'
import { dirname, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { performance } from 'node:perf_hooks'

const here = dirname(fileURLToPath(import.meta.url))
const quick = process.argv.includes('--quick')
// --systems xswarm,raw,libp2p and --figures oneWay,ask1,ask64,heap pick a part; a partial run
// writes nothing, it prints. --prof DIR writes a CPU profile of each measured figure alone
// (no start-up, no warm-up) to DIR/<system>-<figure>.cpuprofile, for profile-summary.mjs:
// `node --expose-gc run.mjs --systems xswarm --figures oneWay --prof prof`.
const pick = (flag) => { const i = process.argv.indexOf(flag); return i < 0 ? undefined : process.argv[i + 1].split(',') }
const onlySystems = pick('--systems')
const onlyFigures = pick('--figures')
const partial = onlySystems !== undefined || onlyFigures !== undefined
const wants = (figure) => onlyFigures === undefined || onlyFigures.includes(figure)
const profDir = pick('--prof')?.[0]
const ONE_WAY = quick ? 20_000 : 200_000
const ASK_MS = quick ? 1000 : 4000
const ACTORS = quick ? 2000 : 5000
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const turn = () => new Promise((r) => setImmediate(r))

async function until(what, cond, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`)
    await turn()
  }
}

/** CPU time of this process (all threads: GC helpers included), in microseconds, since `from`. */
const cpuUs = (from) => { const c = process.cpuUsage(from); return c.user + c.system }

/** One-way: send `n` events, time until the receiver counted them all. */
async function oneWay(system) {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  await system.oneWay(ONE_WAY)
  const s = (performance.now() - t0) / 1000
  const cpu = cpuUs(c0)
  return { events: ONE_WAY, seconds: +s.toFixed(3), perSecond: Math.round(ONE_WAY / s), cpuUsPerEvent: +(cpu / ONE_WAY).toFixed(2), perCpuSecond: Math.round((ONE_WAY * 1e6) / cpu) }
}

/** Asks with `inFlight` outstanding for ASK_MS: round trips/s and latency percentiles. */
async function asks(system, inFlight) {
  const latencies = []
  const c0 = process.cpuUsage()
  const deadline = performance.now() + ASK_MS
  const t0 = performance.now()
  const lane = async () => {
    while (performance.now() < deadline) {
      const s = performance.now()
      await system.ask()
      latencies.push(performance.now() - s)
    }
  }
  await Promise.all(Array.from({ length: inFlight }, lane))
  const s = (performance.now() - t0) / 1000
  const cpu = cpuUs(c0)
  latencies.sort((a, b) => a - b)
  const pct = (p) => +latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))].toFixed(3)
  return {
    inFlight, roundTrips: latencies.length, perSecond: Math.round(latencies.length / s),
    p50Ms: pct(0.5), p99Ms: pct(0.99), p999Ms: pct(0.999), maxMs: pct(1), cpuUsPerRoundTrip: +(cpu / latencies.length).toFixed(1),
    perCpuSecond: Math.round((latencies.length * 1e6) / cpu),
  }
}

// ------------------------------------------------------------------------------------------
async function xswarmSystem(dist = resolve(here, '../../dist'), name = 'xswarm') {
  const entry = resolve(dist, 'src/index.js')
  const { createSwarm } = await import(pathToFileURL(entry).href)
  const { setup, assign, sendTo } = await import('xstate')
  // The per-connection rate limits (default 5,000 frames/s) out of the way, as in bench/core:
  // one ask is one frame each way, so at 1 in flight an idle machine passes 5,000 frames/s and
  // the token bucket, not the runtime, would be measured (it closes the connection).
  const limits = { maxFramesPerSecond: 1e12, maxBytesPerSecond: 1e15 }
  const opts = { listen: ['ws://127.0.0.1:0'], discovery: false, pubsub: false, ping: false, limits }
  const a = await createSwarm(opts)
  const b = await createSwarm(opts)
  const loops = [a, b].map((s) => (async () => { for await (const _ of s) { /* drive */ } })())
  b.dial(a.addresses[0])
  await until('connected', () => b.isConnected(a.peerId) && a.isConnected(b.peerId), 10_000)
  const sink = setup({}).createMachine({ context: { n: 0 }, on: { e: { actions: assign({ n: ({ context }) => context.n + 1 }) } } })
  const echo = setup({}).createMachine({ on: { q: { actions: sendTo(({ event }) => event.replyTo, { type: 'r' }) } } })
  const counter = a.actors.spawn(sink, { name: 'sink', accept: 'any' })
  a.actors.spawn(echo, { name: 'echo', accept: 'any' })
  const sinkRef = b.actors.ref(counter.address)
  const echoAddress = `${a.addresses[0]}/actor/echo`
  return {
    name,
    async oneWay(n) {
      const start = counter.ref.getSnapshot().context.n
      for (let i = 0; i < n; i++) {
        sinkRef.send({ type: 'e', i })
        if ((i & 1023) === 1023) await turn()
      }
      await until('one-way delivery', () => counter.ref.getSnapshot().context.n - start >= n)
    },
    ask: () => b.actors.ask(echoAddress, { type: 'q' }),
    async heapPerActor() {
      const idle = setup({}).createMachine({ context: { n: 0 }, on: { e: { actions: assign({ n: ({ context }) => context.n + 1 }) } } })
      const { createActor } = await import('xstate')
      const heap = () => { global.gc(); global.gc(); return process.memoryUsage().heapUsed }
      let h0 = heap()
      const plain = []
      for (let i = 0; i < ACTORS; i++) plain.push(createActor(idle).start())
      const xstateOwn = (heap() - h0) / ACTORS
      for (const p of plain) p.stop()
      plain.length = 0
      h0 = heap()
      for (let i = 0; i < ACTORS; i++) a.actors.spawn(idle, { name: `idle-${i}` })
      await sleep(200)
      const hosted = (heap() - h0) / ACTORS
      return { actors: ACTORS, xstateOwnBytes: Math.round(xstateOwn), hostedBytes: Math.round(hosted), beyondXstateBytes: Math.round(hosted - xstateOwn) }
    },
    async stop() { await Promise.all([a.close(), b.close()]); await Promise.all(loops) },
  }
}

// ------------------------------------------------------------------------------------------
async function rawSystem() {
  const { WebSocketServer, WebSocket } = await import('ws')
  const { pack, unpack } = await import('msgpackr')
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
  await new Promise((r) => server.once('listening', r))
  let count = 0
  server.on('connection', (ws) => ws.on('message', (data) => {
    const m = unpack(data)
    if (m.type === 'e') count++
    else ws.send(pack({ type: 'r', id: m.id }))
  }))
  const client = new WebSocket(`ws://127.0.0.1:${server.address().port}`, { perMessageDeflate: false })
  await new Promise((r) => client.once('open', r))
  const pending = new Map()
  let seq = 0
  client.on('message', (data) => { const m = unpack(data); pending.get(m.id)?.(); pending.delete(m.id) })
  return {
    name: 'raw ws + msgpackr',
    async oneWay(n) {
      const start = count
      for (let i = 0; i < n; i++) {
        client.send(pack({ type: 'e', i }))
        if ((i & 1023) === 1023) await turn()
      }
      await until('one-way delivery', () => count - start >= n)
    },
    ask: () => new Promise((resolve) => { const id = ++seq; pending.set(id, resolve); client.send(pack({ type: 'q', id })) }),
    async stop() { client.close(); await new Promise((r) => server.close(r)) },
  }
}

// ------------------------------------------------------------------------------------------
function pushable() {
  const queue = []
  let wake = null
  return {
    push(x) { queue.push(x); wake?.(); wake = null },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (queue.length > 0) yield queue.shift()
        await new Promise((r) => { wake = r })
      }
    },
  }
}

/** Split a byte stream into 2-byte-length-prefixed messages. */
function framer(onMessage) {
  let buf = new Uint8Array(0)
  return (chunk) => {
    const joined = new Uint8Array(buf.length + chunk.length)
    joined.set(buf)
    joined.set(chunk, buf.length)
    let at = 0
    while (joined.length - at >= 2) {
      const len = (joined[at] << 8) | joined[at + 1]
      if (joined.length - at - 2 < len) break
      onMessage(joined.subarray(at + 2, at + 2 + len))
      at += 2 + len
    }
    buf = joined.slice(at)
  }
}

const frame = (bytes) => { const out = new Uint8Array(bytes.length + 2); out[0] = bytes.length >> 8; out[1] = bytes.length & 255; out.set(bytes, 2); return out }

async function libp2pSystem() {
  const { createLibp2p } = await import('libp2p')
  const { webSockets } = await import('@libp2p/websockets')
  const wsFilters = await import('@libp2p/websockets/filters')
  const { noise } = await import('@chainsafe/libp2p-noise')
  const { yamux } = await import('@chainsafe/libp2p-yamux')
  const { pack, unpack } = await import('msgpackr')
  const make = () => createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
    transports: [webSockets({ filter: wsFilters.all })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
  })
  const a = await make()
  const b = await make()
  let count = 0
  await a.handle('/bench/actors/1', ({ stream }) => {
    const out = pushable()
    void stream.sink(out)
    const onMessage = framer((bytes) => {
      const m = unpack(bytes)
      if (m.type === 'e') count++
      else out.push(frame(pack({ type: 'r', id: m.id })))
    })
    void (async () => { for await (const chunk of stream.source) onMessage(chunk.subarray()) })()
  })
  const stream = await b.dialProtocol(a.getMultiaddrs()[0], '/bench/actors/1')
  const out = pushable()
  void stream.sink(out)
  const pending = new Map()
  let seq = 0
  const onReply = framer((bytes) => { const m = unpack(bytes); pending.get(m.id)?.(); pending.delete(m.id) })
  void (async () => { for await (const chunk of stream.source) onReply(chunk.subarray()) })()
  return {
    name: 'js-libp2p 2.10 request/response',
    async oneWay(n) {
      const start = count
      for (let i = 0; i < n; i++) {
        out.push(frame(pack({ type: 'e', i })))
        if ((i & 1023) === 1023) await turn()
      }
      await until('one-way delivery', () => count - start >= n)
    },
    ask: () => new Promise((resolve) => { const id = ++seq; pending.set(id, resolve); out.push(frame(pack({ type: 'q', id }))) }),
    async stop() { await a.stop(); await b.stop() },
  }
}

/** Run `measure`; with --prof, under the CPU profiler (its file named by system and figure). */
async function profiled(system, figure, measure) {
  if (profDir === undefined) return measure()
  return cpuProfiled(measure, { out: resolve(profDir, `${system}-${figure}.cpuprofile`), intervalUs: 250 })
}

// ------------------------------------------------------------------------------------------
// --runs N (default: 3 for full, 1 for quick): every system measured N times, the systems'
// order rotated from run to run (the order moves the figures, see bench/README.md); each
// figure reported is the median of its runs (field by field), every run kept in `runs`.
const runsArg = pick('--runs')?.[0]
const RUNS = runsArg !== undefined ? Number(runsArg) : quick ? 1 : 3
if (!Number.isInteger(RUNS) || RUNS < 1 || RUNS > 20) throw new RangeError(`--runs expected 1-20, got ${runsArg}`)
const machine = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, loadAverage1mBefore: +os.loadavg()[0].toFixed(2) }
const command = `cd bench/actors && npm run ${quick ? 'quick' : 'full'}${runsArg !== undefined ? ` -- --runs ${RUNS}` : ''}`
const results = { date: new Date().toISOString(), node: process.version, machine, quick, command, runs: [], systems: [] }
// XSWARM_DIST=<another build's dist> adds `xswarm-dist`: a before/after in one run
// (`--systems xswarm-dist,xswarm`; its xstate is the one that build resolves).
const makers = { 'xswarm-dist': () => xswarmSystem(resolve(process.env.XSWARM_DIST ?? ''), 'xswarm-dist'), xswarm: () => xswarmSystem(), raw: rawSystem, libp2p: libp2pSystem }
if (!process.env.XSWARM_DIST) delete makers['xswarm-dist']
const keys = Object.keys(makers).filter((key) => onlySystems === undefined || onlySystems.includes(key))

/** One measurement of one system: every figure asked for, after a warm-up. */
async function measureSystem(key) {
  let system
  try {
    system = await makers[key]()
  } catch (error) {
    console.error(`skipping ${key}: ${error.message}`)
    return undefined
  }
  const r = { name: system.name }
  await asks(system, 1) // warm-up
  if (wants('oneWay')) r.oneWay = await profiled(key, 'oneWay', () => oneWay(system))
  if (wants('ask1')) r.ask1 = await profiled(key, 'ask1', () => asks(system, 1))
  if (wants('ask64')) r.ask64 = await profiled(key, 'ask64', () => asks(system, 64))
  if (system.heapPerActor && wants('heap')) r.heapPerIdleActor = await system.heapPerActor()
  await system.stop()
  return r
}

/** The median of each numeric field over `items` (objects of the same shape), recursively. */
function medians(items) {
  const first = items[0]
  if (typeof first === 'number') {
    const sorted = [...items].sort((a, b) => a - b)
    const mid = sorted.length >> 1
    return sorted.length % 2 === 1 ? sorted[mid] : +((sorted[mid - 1] + sorted[mid]) / 2).toFixed(3)
  }
  if (typeof first !== 'object' || first === null) return first
  return Object.fromEntries(Object.keys(first).map((k) => [k, medians(items.map((i) => i[k]))]))
}

for (let run = 0; run < RUNS; run++) {
  const order = keys.map((_, i) => keys[(i + run) % keys.length])
  const measured = { run: run + 1, loadAverage1m: +os.loadavg()[0].toFixed(2), systems: [] }
  for (const key of order) {
    const r = await measureSystem(key)
    if (r === undefined) continue
    console.log(JSON.stringify({ run: run + 1, ...r }))
    measured.systems.push(r)
  }
  results.runs.push(measured)
}
for (const key of keys) {
  const name = results.runs[0]?.systems.find((s) => s.name.startsWith(key === 'raw' ? 'raw' : key === 'libp2p' ? 'js-libp2p' : key))?.name
  const all = results.runs.map((r) => r.systems.find((s) => s.name === name)).filter((s) => s !== undefined)
  if (all.length > 0) results.systems.push(medians(all))
}
machine.loadAverage1mAfter = +os.loadavg()[0].toFixed(2)
const x = results.systems.find((s) => s.name === 'xswarm')
const l = results.systems.find((s) => s.name.startsWith('js-libp2p'))
if (x && l && x.ask64 && l.ask64) {
  results.xswarmOverLibp2pAsk64 = +(x.ask64.perSecond / l.ask64.perSecond).toFixed(2)
  results.xswarmOverLibp2pAsk64PerCpuSecond = +(x.ask64.perCpuSecond / l.ask64.perCpuSecond).toFixed(2)
}
if (x) results.targets = targets(x, results)
if (partial) {
  if (results.targets) console.log(JSON.stringify({ medians: results.systems, targets: results.targets }))
  process.exit(0)
}
writeFileSync(resolve(here, `../results/actors${quick ? '.quick' : ''}.json`), JSON.stringify(results, null, 2) + '\n')
console.log(JSON.stringify(results.targets, null, 2))
console.log(`written bench/results/actors${quick ? '.quick' : ''}.json`)
process.exit(0)

/**
 * Issue 9's targets against the medians, by wall clock and per CPU-second (the process's CPU
 * time, both nodes and every thread: on a loaded machine the wall-clock rate falls while the
 * work per event does not, so a target can be met per CPU-second and missed by the clock).
 */
function targets(x, results) {
  const out = {}
  if (x.oneWay) {
    out.oneWayEventsPerSecond = { target: 100_000, wall: x.oneWay.perSecond, perCpuSecond: x.oneWay.perCpuSecond, metWall: x.oneWay.perSecond >= 100_000, metPerCpuSecond: x.oneWay.perCpuSecond >= 100_000 }
  }
  if (x.ask1) out.ask1P99Ms = { target: 2, p99Ms: x.ask1.p99Ms, met: x.ask1.p99Ms <= 2, note: 'an idle loopback is asked for: compare the load average' }
  if (results.xswarmOverLibp2pAsk64 !== undefined) {
    out.ask64OverLibp2p = { target: 5, wall: results.xswarmOverLibp2pAsk64, perCpuSecond: results.xswarmOverLibp2pAsk64PerCpuSecond, metWall: results.xswarmOverLibp2pAsk64 >= 5, metPerCpuSecond: results.xswarmOverLibp2pAsk64PerCpuSecond >= 5 }
  }
  if (x.heapPerIdleActor) out.heapBeyondXstateBytes = { target: 3072, bytes: x.heapPerIdleActor.beyondXstateBytes, met: x.heapPerIdleActor.beyondXstateBytes <= 3072 }
  return out
}

// Side-by-side pubsub benchmark harness: topology, payloads and measurement,
// identical for every adapter. Plain ESM, no build step.
//
// ─── The adapter interface ──────────────────────────────────────────────────
//
// An adapter module lives at bench/pubsub/adapters/<name>.mjs and default-exports
// (or exports as `adapter`) an object:
//
//   {
//     name: string,
//     async start({ n, edges, topic, signing }) -> {
//       nodes: [ { publish(bytes): Promise|void, onMessage(cb(bytes)): void } ],  // length n
//       async stop(),
//       notes?: string[],          // optional: configuration remarks printed with the results
//       wire?(): { framesIn, bytesIn },  // optional: totals received by all nodes so far (socket
//                                        // messages and their bytes), read before and after a phase
//     }
//   }
//
//   n        number of nodes, all in this process, listening on 127.0.0.1 only.
//   edges    Array<[a, b]> with 0 <= a < b < n: node a dials node b. The graph is connected.
//   topic    the one topic string every node subscribes to.
//   signing  true: messages are signed and verified (the fair comparison); false: unsigned.
//
//   start() resolves only once the overlay is formed along `edges` (every node connected to
//   its neighbours and, for a mesh protocol, seeing >= 1 subscribed peer), with bounded waits;
//   it throws if that does not happen in time. The harness then sends warm-up messages and
//   requires them to reach every node before measuring.
//
//   publish(bytes) publishes a Uint8Array on `topic` from that node. It may return a Promise
//   (the harness does not await it in the throughput loop, but counts its rejections).
//   onMessage(cb) registers a callback called with the payload (Uint8Array) of every message
//   on `topic` received by that node from someone else. A node's own publications must not be
//   delivered to itself (the harness also ignores them and reports them as `selfDeliveries`).
//
// ─── Measurement ────────────────────────────────────────────────────────────
// Payload: bytes 0..7 = big-endian sequence number (unique across the whole process run),
// the rest random (crypto.randomFillSync, generated at publish time, same cost for everyone).
// A message is "complete" when all n-1 nodes other than its publisher delivered it.

import { randomFillSync } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import os from 'node:os'
import { readFileSync } from 'node:fs'

export const TOPIC = 'bench/pubsub'

// ─── seeded PRNG + topology ─────────────────────────────────────────────────

/** mulberry32: small, fast, seedable; good enough for choosing chords. */
export function prng (seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Connected sparse graph: a ring (degree 2) plus random chords until the average degree is
 * ~`degree` (n*(degree-2)/2 chords). Deterministic for (n, seed, degree).
 * Returns sorted [a, b] pairs with a < b (a dials b).
 */
export function makeTopology (n, seed = 0x5eed, degree = 4) {
  if (n < 2) throw new Error('need n >= 2')
  const rand = prng(seed ^ (n * 0x9E3779B1))
  const set = new Set()
  const key = (a, b) => a < b ? `${a},${b}` : `${b},${a}`
  for (let i = 0; i < n; i++) {
    const j = (i + 1) % n
    if (i !== j) set.add(key(i, j))
  }
  const maxEdges = n * (n - 1) / 2
  const target = Math.min(maxEdges, set.size + Math.max(0, Math.round(n * (degree - 2) / 2)))
  let guard = 0
  while (set.size < target && guard++ < 100_000) {
    const a = Math.floor(rand() * n)
    const b = Math.floor(rand() * n)
    if (a === b) continue
    set.add(key(a, b))
  }
  return [...set].map(s => s.split(',').map(Number)).sort((x, y) => x[0] - y[0] || x[1] - y[1])
}

/** A spanning tree of `edges` (breadth first from node 0): every message reaches every node once. */
export function spanningTree (n, edges) {
  const next = Array.from({ length: n }, () => [])
  for (const [a, b] of edges) { next[a].push(b); next[b].push(a) }
  const seen = new Set([0])
  const tree = []
  for (let queue = [0], i = 0; i < queue.length; i++) {
    for (const b of next[queue[i]]) if (!seen.has(b)) { seen.add(b); queue.push(b); tree.push([Math.min(queue[i], b), Math.max(queue[i], b)]) }
  }
  return tree
}

export function degreeStats (n, edges) {
  const deg = new Array(n).fill(0)
  for (const [a, b] of edges) { deg[a]++; deg[b]++ }
  return { min: Math.min(...deg), max: Math.max(...deg), mean: deg.reduce((s, d) => s + d, 0) / n }
}

// ─── payloads ───────────────────────────────────────────────────────────────

export function makePayload (seq, size) {
  const b = new Uint8Array(Math.max(8, size))
  if (b.length > 8) randomFillSync(b, 8)
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
  dv.setBigUint64(0, BigInt(seq))
  return b
}

export function readSeq (bytes) {
  if (bytes == null || bytes.byteLength < 8) return -1
  const dv = new DataView(bytes.buffer, bytes.byteOffset, 8)
  return Number(dv.getBigUint64(0))
}

// ─── stats helpers ──────────────────────────────────────────────────────────

export function percentile (sorted, p) {
  if (sorted.length === 0) return null
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))
  return sorted[idx]
}

export const round = (x, d = 2) => x == null || !Number.isFinite(x) ? x : Math.round(x * 10 ** d) / 10 ** d

export async function gcNow () {
  if (typeof global.gc === 'function') {
    for (let i = 0; i < 3; i++) { global.gc(); await sleep(20) }
  }
}

// ─── delivery tracker (shared by all phases) ────────────────────────────────

/**
 * One tracker per system instance. Registers onMessage on every node once and routes each
 * delivery to the record of the current phase by sequence number.
 */
export class Tracker {
  constructor (nodes) {
    this.nodes = nodes
    this.n = nodes.length
    this.seq = 1
    this.phase = null
    for (let i = 0; i < this.n; i++) {
      const idx = i
      nodes[i].onMessage((bytes) => this._deliver(idx, bytes))
    }
  }

  /** Begin a phase; returns the phase object. */
  begin (name, size) {
    this.phase = {
      name,
      size,
      recs: new Map(), // seq -> rec
      order: [], // recs in publish order
      published: 0,
      publishErrors: 0,
      firstPublishAt: null,
      lastCompleteAt: null,
      completed: 0,
      deliveries: 0, // unique deliveries to non-publishers
      duplicates: 0,
      selfDeliveries: 0,
      badSize: 0,
      stray: 0, // unknown seq (earlier phase / garbage)
      latencies: [], // ms, every unique delivery
      waiters: new Set(),
      firstPublishError: null
    }
    return this.phase
  }

  end () { const p = this.phase; this.phase = null; return p }

  publish (from, size) {
    const p = this.phase
    const seq = this.seq++
    const bytes = makePayload(seq, size)
    const rec = { seq, from, sentAt: 0, got: new Uint8Array(this.n), count: 0, done: false, expired: false }
    p.recs.set(seq, rec)
    p.order.push(rec)
    p.published++
    rec.sentAt = performance.now()
    if (p.firstPublishAt == null) p.firstPublishAt = rec.sentAt
    try {
      const r = this.nodes[from].publish(bytes)
      if (r != null && typeof r.then === 'function') {
        r.then(null, (err) => { p.publishErrors++; p.firstPublishError ??= String(err?.message ?? err) })
      }
    } catch (err) {
      p.publishErrors++
      p.firstPublishError ??= String(err?.message ?? err)
    }
    return rec
  }

  _deliver (idx, bytes) {
    const now = performance.now()
    const p = this.phase
    const seq = readSeq(bytes)
    if (p == null) return
    const rec = p.recs.get(seq)
    if (rec == null) { p.stray++; return }
    if (bytes.byteLength !== Math.max(8, p.size)) { p.badSize++; return }
    if (idx === rec.from) { p.selfDeliveries++; return }
    if (rec.got[idx] !== 0) { p.duplicates++; return }
    rec.got[idx] = 1
    rec.count++
    p.deliveries++
    p.latencies.push(now - rec.sentAt)
    if (rec.count === this.n - 1) {
      rec.done = true
      p.completed++
      p.lastCompleteAt = now
      for (const w of p.waiters) w()
    }
  }

  /** Resolve on the next completion or after `ms`. */
  waitCompletion (ms) {
    const p = this.phase
    return new Promise((resolve) => {
      const w = () => { clearTimeout(t); p.waiters.delete(w); resolve() }
      const t = setTimeout(w, ms)
      p.waiters.add(w)
    })
  }
}

// ─── phases ─────────────────────────────────────────────────────────────────

/**
 * Warm-up: each round, every node publishes one message; the round succeeds when all of them
 * reach all other nodes (one successful round is required). Rounds repeat (500 ms apart) until
 * one succeeds or `timeoutMs` is spent.
 */
export async function warmup (tracker, { size = 128, timeoutMs = 30_000, roundTimeoutMs = 5_000 } = {}) {
  const t0 = performance.now()
  let attempts = 0
  while (performance.now() - t0 < timeoutMs) {
    attempts++
    const p = tracker.begin('warmup', size)
    for (let i = 0; i < tracker.n; i++) tracker.publish(i, size)
    const deadline = performance.now() + roundTimeoutMs
    while (p.completed < p.published && performance.now() < deadline) {
      await tracker.waitCompletion(100)
    }
    tracker.end()
    if (p.completed === p.published) return { ok: true, attempts, ms: round(performance.now() - t0, 0) }
    await sleep(500)
  }
  return { ok: false, attempts, ms: round(performance.now() - t0, 0) }
}

/**
 * Throughput: publishers round-robin over all nodes; at most `window` messages not yet delivered
 * to every subscriber; a message older than `msgTimeoutMs` stops occupying a window slot (it is
 * counted lost if still incomplete after the grace period). Publishing stops after `count`
 * messages or `phaseMs`; then up to `graceMs` for stragglers.
 */
export async function throughput (tracker, { size, count, window, phaseMs, graceMs, msgTimeoutMs, publisher = 'rr', wire = null }) {
  const n = tracker.n
  const wire0 = wire?.()
  const p = tracker.begin(`throughput-${size}`, size)
  let inflight = 0
  let head = 0 // index into p.order of oldest rec possibly occupying a slot
  const slotFreed = (rec) => rec.done || rec.expired
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const deadline = t0 + phaseMs
  let next = publisher === 'rr' ? 0 : Number(publisher)
  let partial = false
  let sinceYield = 0
  let inflightSum = 0
  while (p.published < count) {
    const now = performance.now()
    if (now >= deadline) { partial = true; break }
    // release finished / expired slots in FIFO order
    while (head < p.order.length) {
      const r = p.order[head]
      if (!r.done && !r.expired && now - r.sentAt > msgTimeoutMs) r.expired = true
      if (slotFreed(r)) { head++; continue }
      break
    }
    inflight = 0
    for (let k = head; k < p.order.length; k++) if (!slotFreed(p.order[k])) inflight++
    if (inflight >= window) {
      await tracker.waitCompletion(Math.min(50, Math.max(1, deadline - now)))
      sinceYield = 0
      continue
    }
    inflightSum += inflight
    tracker.publish(next, size)
    if (publisher === 'rr') next = (next + 1) % n
    // let I/O run now and then even if the window is not full
    if (++sinceYield >= Math.max(1, window >> 2)) { sinceYield = 0; await new Promise(setImmediate) }
  }
  const publishEnd = performance.now()
  const graceEnd = publishEnd + graceMs
  while (p.completed < p.published && performance.now() < graceEnd) {
    await tracker.waitCompletion(50)
  }
  tracker.end()
  const wire1 = wire?.()
  const cpu = process.cpuUsage(cpu0)
  const wallMs = performance.now() - t0
  const elapsedMs = (p.lastCompleteAt ?? publishEnd) - (p.firstPublishAt ?? t0)
  const secs = Math.max(elapsedMs, 1) / 1000
  const lat = p.latencies.sort((a, b) => a - b)
  const lost = p.published - p.completed
  let missingDeliveries = 0
  for (const r of p.order) if (!r.done) missingDeliveries += (n - 1) - r.count
  return {
    size,
    window,
    published: p.published,
    completed: p.completed,
    lost,
    missingDeliveries,
    duplicates: p.duplicates,
    selfDeliveries: p.selfDeliveries,
    stray: p.stray,
    badSize: p.badSize,
    publishErrors: p.publishErrors,
    firstPublishError: p.firstPublishError,
    partial,
    // CPU time of this process / wall time of the phase (1.0 = one core busy all along;
    // well below 1 on a CPU-bound system means the machine was shared with other load)
    cpuCores: round((cpu.user + cpu.system) / 1000 / wallMs, 2),
    // completed messages per CPU-second of this process: the efficiency figure, much less
    // sensitive than msg/s to other load on a shared machine (counts GC and libuv threads too)
    msgsPerCpuSec: round(p.completed / Math.max((cpu.user + cpu.system) / 1e6, 1e-3), 1),
    meanInflightAtPublish: round(p.published ? inflightSum / p.published : 0, 1),
    seconds: round(secs, 3),
    msgsPerSec: round(p.completed / secs, 1),
    deliveriesPerSec: round(p.deliveries / secs, 0),
    MBps: round(p.deliveries * size / secs / 1e6, 2),
    // what crossed the sockets (adapters with `wire()`): frames and bytes received by all nodes
    // per unique delivery / per delivered payload byte. Bytes beyond 1 per payload byte are
    // framing, signatures, control messages and duplicate copies that were sent anyway.
    framesInPerDelivery: wire1 && p.deliveries ? round((wire1.framesIn - wire0.framesIn) / p.deliveries, 2) : null,
    wireBytesPerPayloadByte: wire1 && p.deliveries ? round((wire1.bytesIn - wire0.bytesIn) / (p.deliveries * size), 2) : null,
    loadedLatencyP50ms: round(percentile(lat, 50), 1),
    loadedLatencyP99ms: round(percentile(lat, 99), 1)
  }
}

/**
 * Latency: publish at a fixed `rate` (messages/s, publishers round-robin) for `durationMs`,
 * record publish→delivery at every subscriber. Schedule is absolute (no drift).
 */
export async function latency (tracker, { size, rate = 10, durationMs, graceMs, publisher = 'rr' }) {
  const n = tracker.n
  const p = tracker.begin(`latency-${size}`, size)
  const total = Math.max(1, Math.round(durationMs / 1000 * rate))
  const interval = 1000 / rate
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  let late = 0
  for (let i = 0; i < total; i++) {
    const due = t0 + i * interval
    const wait = due - performance.now()
    // Whole milliseconds: Node fires a fractional delay when it would fire its whole part anyway,
    // and the first fractional delay in a process turns a field of Node's Timeout objects from
    // small integer to double, which deoptimizes the timer code the system under test inlined
    // (bench/README, "The light phase's compilations, one by one"): the harness's, not the system's.
    if (wait > 0) await sleep(Math.floor(wait))
    else if (wait < -interval) late++
    tracker.publish(publisher === 'rr' ? i % n : Number(publisher), size)
  }
  const graceEnd = performance.now() + graceMs
  while (p.completed < p.published && performance.now() < graceEnd) {
    await tracker.waitCompletion(50)
  }
  tracker.end()
  // CPU of the whole process over the phase and its grace wait, per message published: in one
  // process a message's hops run one after another on one thread, so this bounds how short its
  // path can be (timers and idle work of the nodes are in it too)
  const cpu = process.cpuUsage(cpu0)
  const lat = p.latencies.sort((a, b) => a - b)
  return {
    rate,
    cpuMsPerMessage: round((cpu.user + cpu.system) / 1000 / Math.max(1, p.published), 2),
    published: p.published,
    completed: p.completed,
    lost: p.published - p.completed,
    duplicates: p.duplicates,
    samples: lat.length,
    lateTicks: late,
    p50ms: round(percentile(lat, 50), 1),
    p99ms: round(percentile(lat, 99), 1),
    maxms: round(lat.length ? lat[lat.length - 1] : null, 1)
  }
}

/**
 * A system's n nodes on the benchmark's topology, warmed up and, unless `busy` is false, after a
 * short (--quick sized) throughput phase, as the light phase of run.mjs follows one: code is
 * optimized and caches are as full as in the benchmark. For the diagnostics of one phase
 * (latency-tail.mjs, light-cpu.mjs).
 */
export async function startWarmedUp ({ system, n, size, publisher = 'rr', busy = true, edges = makeTopology(n, 24301) }) {
  const adapter = (await import(`./adapters/${system}.mjs`)).default
  const sys = await adapter.start({ n, edges, topic: TOPIC, signing: true })
  const tracker = new Tracker(sys.nodes)
  if (!(await warmup(tracker, {})).ok) throw new Error('warm-up failed')
  if (busy) await throughput(tracker, { size, count: QUICK.counts[size] ?? 400, window: 32, phaseMs: 2500, graceMs: 1000, msgTimeoutMs: 2000, publisher })
  return { sys, tracker }
}

// ─── one system, one n: all sizes ───────────────────────────────────────────

/** The name of a publisher shape in rows and tables: 'all' (round-robin), '1' (node 0), 'node i'. */
export function shapeName (publisher) {
  if (publisher === 'rr') return 'all'
  return Number(publisher) === 0 ? '1' : `node ${publisher}`
}

export const QUICK = {
  counts: { 128: 3_000, 4096: 2_000, 65536: 400 },
  window: 32,
  phaseMs: 2_500,
  graceMs: 1_000,
  msgTimeoutMs: 2_000,
  latencyMs: 1_000,
  startTimeoutMs: 20_000
}
export const FULL = {
  counts: { 128: 20_000, 4096: 10_000, 65536: 3_000 },
  window: 32,
  phaseMs: 20_000,
  graceMs: 3_000,
  msgTimeoutMs: 5_000,
  // 15 s (150 messages): a p99 then rests on ~14 slow deliveries at n = 10 (5 s: ~5, and single
  // cells swung by 2x); the same for every system
  latencyMs: 15_000,
  startTimeoutMs: 60_000
}

function countFor (cfg, size) {
  return cfg.counts[size] ?? Math.max(50, Math.round(cfg.counts[128] * 128 / Math.max(size, 128)))
}

/** Load of the machine: 1-min load average and, where the kernel exposes it, CPU pressure
 *  (PSI "some avg10": % of the last 10 s in which some runnable task waited for a CPU). */
function loadavg () {
  const out = { load1: round(os.loadavg()[0], 2), cpuPressureAvg10: null }
  try {
    const m = /some avg10=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))
    if (m) out.cpuPressureAvg10 = Number(m[1])
  } catch {}
  return out
}

function mem () {
  const m = process.memoryUsage()
  return { rss: m.rss, heapUsed: m.heapUsed }
}

/**
 * Run every measurement for one adapter at one n. Returns one result object per size.
 * `log` receives progress lines.
 */
export async function runSystem (adapter, { n, sizes, seed, signing, quick, window, publishers = ['rr'], log = () => {} }) {
  const cfg = { ...(quick ? QUICK : FULL) }
  if (window != null) cfg.window = window
  const edges = makeTopology(n, seed)
  const deg = degreeStats(n, edges)
  log(`[${adapter.name}] n=${n} edges=${edges.length} degree min/mean/max=${deg.min}/${deg.mean}/${deg.max}`)

  const loadAtStart = loadavg()
  await gcNow()
  const before = mem()
  const tStart = performance.now()
  let sys
  const startP = adapter.start({ n, edges, topic: TOPIC, signing })
  const timeout = sleep(cfg.startTimeoutMs, 'timeout')
  const r = await Promise.race([startP, timeout])
  if (r === 'timeout') {
    startP.then((s) => s.stop()).catch(() => {})
    throw new Error(`${adapter.name}: start() did not resolve within ${cfg.startTimeoutMs} ms`)
  }
  sys = r
  const startMs = performance.now() - tStart
  if (!Array.isArray(sys.nodes) || sys.nodes.length !== n) throw new Error(`${adapter.name}: start() returned ${sys.nodes?.length} nodes, want ${n}`)
  const tracker = new Tracker(sys.nodes)
  const wu = await warmup(tracker, { timeoutMs: quick ? 15_000 : 30_000 })
  log(`[${adapter.name}] start ${Math.round(startMs)} ms, warm-up ${wu.ok ? 'ok' : 'FAILED'} after ${wu.attempts} round(s), ${wu.ms} ms`)
  await gcNow()
  await sleep(100)
  await gcNow()
  const after = mem()
  const memory = {
    rssPerNodeMB: round((after.rss - before.rss) / n / 1e6, 3),
    heapPerNodeMB: round((after.heapUsed - before.heapUsed) / n / 1e6, 3),
    rssBeforeMB: round(before.rss / 1e6, 1),
    rssAfterMB: round(after.rss / 1e6, 1)
  }
  log(`[${adapter.name}] memory per node: RSS ${memory.rssPerNodeMB} MB, heapUsed ${memory.heapPerNodeMB} MB`)

  const results = []
  let loadEnd = null
  try {
    if (!wu.ok) throw new Error(`${adapter.name}: warm-up messages did not reach all nodes`)
    for (const size of sizes) {
      for (const publisher of publishers) {
        const shape = shapeName(publisher)
        const tp = await throughput(tracker, {
          size,
          count: countFor(cfg, size),
          window: cfg.window,
          publisher,
          phaseMs: cfg.phaseMs,
          graceMs: cfg.graceMs,
          msgTimeoutMs: cfg.msgTimeoutMs,
          wire: sys.wire
        })
        log(`[${adapter.name}] n=${n} size=${size} publishers=${shape}: cpu ${tp.cpuCores} cores, ${tp.msgsPerSec} msg/s, ${tp.msgsPerCpuSec} msg/cpu-s, ${tp.deliveriesPerSec} deliveries/s, ${tp.MBps} MB/s, published ${tp.published}, lost ${tp.lost}, dup ${tp.duplicates}${tp.partial ? ' (time cap hit)' : ''}${tp.publishErrors ? `, publish errors ${tp.publishErrors}: ${tp.firstPublishError}` : ''}`)
        await sleep(300) // let stragglers drain before the latency phase
        const lat = await latency(tracker, { size, rate: 10, durationMs: cfg.latencyMs, graceMs: cfg.graceMs, publisher })
        // the fixed rate exceeds what this system sustained at this size in the throughput phase:
        // the latency figure is then dominated by queueing, not by the path
        lat.overloaded = tp.msgsPerSec < lat.rate || lat.lateTicks > 0
        log(`[${adapter.name}] n=${n} size=${size} publishers=${shape}: latency p50 ${lat.p50ms} ms, p99 ${lat.p99ms} ms (${lat.samples} samples, lost ${lat.lost})${lat.overloaded ? ' OVERLOADED: rate > sustained throughput' : ''}`)
        results.push({ size, publishers: shape, throughput: tp, latency: lat })
        await gcNow()
      }
    }
  } finally {
    loadEnd = loadavg()
    const rssRun = mem()
    memory.rssAfterRunMB = round(rssRun.rss / 1e6, 1)
    const tStop = performance.now()
    await Promise.race([Promise.resolve(sys.stop()).catch((err) => log(`[${adapter.name}] stop error: ${err?.message ?? err}`)), sleep(15_000)])
    log(`[${adapter.name}] stopped in ${Math.round(performance.now() - tStop)} ms`)
  }
  return results.map((r) => ({
    system: adapter.name,
    n,
    size: r.size,
    signing,
    quick: !!quick,
    // 'all': publishers round-robin over every node; '1': node 0 alone (or `node i` for another index)
    publishers: r.publishers,
    edges: edges.length,
    degree: deg,
    startMs: round(startMs, 0),
    warmup: wu,
    machineLoad: { atStart: loadAtStart, atEnd: loadEnd },
    notes: sys.notes ?? [],
    memory,
    throughput: r.throughput,
    latency: r.latency
  }))
}

// ─── table ──────────────────────────────────────────────────────────────────

export const FIGURES = [
  ['msg/s', (r) => r.throughput.msgsPerSec, 'higher'],
  ['deliv/s', (r) => r.throughput.deliveriesPerSec, 'higher'],
  ['MB/s', (r) => r.throughput.MBps, 'higher'],
  ['msg/cpu-s', (r) => r.throughput.msgsPerCpuSec, 'higher'],
  ['lost', (r) => r.throughput.lost + r.latency.lost, 'lower'],
  ['dups', (r) => r.throughput.duplicates + r.latency.duplicates, 'lower'],
  ['p50 ms', (r) => r.latency.p50ms, 'lower'],
  ['p99 ms', (r) => r.latency.p99ms, 'lower'],
  ['RSS/node MB', (r) => r.memory.rssPerNodeMB, 'lower'],
  ['heap/node MB', (r) => r.memory.heapPerNodeMB, 'lower'],
  ['frames in/delivery', (r) => r.throughput.framesInPerDelivery, 'lower'],
  ['wire B/payload B', (r) => r.throughput.wireBytesPerPayloadByte, 'lower'],
  ['cpu cores', (r) => r.throughput.cpuCores, 'info'],
  ['machine cpu pressure %', (r) => r.machineLoad?.atEnd?.cpuPressureAvg10 ?? null, 'info']
]

function fmt (v) {
  if (v == null) return '-'
  if (typeof v !== 'number') return String(v)
  if (!Number.isFinite(v)) return String(v)
  if (Number.isInteger(v)) return String(v)
  if (Math.abs(v) >= 100) return String(Math.round(v))
  if (Math.abs(v) >= 10) return v.toFixed(1)
  return v.toFixed(2)
}

export function median (xs) {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

function ratio (a, b) {
  if (a == null || b == null) return '-'
  if (b === 0) return a === 0 ? '1' : '∞'
  return (a / b).toFixed(2) + 'x'
}

/** The table cells: one per (n, size, publisher shape), in the order the rows came. */
function cells (rows) {
  const seen = new Map()
  for (const r of rows) {
    const shape = r.publishers ?? 'all'
    const k = `${r.n}|${r.size}|${shape}`
    if (!seen.has(k)) seen.set(k, { n: r.n, size: r.size, shape, of: (x) => x.n === r.n && x.size === r.size && (x.publishers ?? 'all') === shape })
  }
  return [...seen.values()]
}

/** Median of every table figure per (system, n, size, publishers), with first-system ratios. */
export function summarize (rows, systems) {
  const out = []
  for (const { n, size, shape, of } of cells(rows)) {
    const ref = rows.filter((r) => r.system === systems[0] && of(r))
    for (const system of systems) {
      const rs = rows.filter((r) => r.system === system && of(r))
      if (rs.length === 0) continue
      const figures = {}
      const ratioToFirst = {}
      for (const [label, get] of FIGURES) {
        const v = median(rs.map(get).filter((x) => x != null))
        figures[label] = v
        if (system !== systems[0]) {
          const a = median(ref.map(get).filter((x) => x != null))
          ratioToFirst[label] = a == null || v == null || v === 0 ? null : round(a / v, 3)
        }
      }
      out.push({ system, n, size, publishers: shape, runs: rs.length, figures, ...(system !== systems[0] ? { [`${systems[0]}Over${system}`]: ratioToFirst } : {}) })
    }
  }
  return out
}

/**
 * Memory without the fixed per-process cost: per system, the slope of total RSS (median
 * RSS/node × n) between the smallest and the largest n, i.e. MB per added node.
 */
export function marginalMemory (rows, systems) {
  const out = {}
  for (const system of systems) {
    const ns = [...new Set(rows.filter((r) => r.system === system).map((r) => r.n))].sort((a, b) => a - b)
    if (ns.length < 2) continue
    const tot = (n, get) => n * median(rows.filter((r) => r.system === system && r.n === n).map(get))
    const lo = ns[0]
    const hi = ns[ns.length - 1]
    out[system] = {
      fromN: lo,
      toN: hi,
      rssPerAddedNodeMB: round((tot(hi, (r) => r.memory.rssPerNodeMB) - tot(lo, (r) => r.memory.rssPerNodeMB)) / (hi - lo), 3),
      heapPerAddedNodeMB: round((tot(hi, (r) => r.memory.heapPerNodeMB) - tot(lo, (r) => r.memory.heapPerNodeMB)) / (hi - lo), 3)
    }
  }
  return out
}

/** Text table: one block per (n, size, publishers); columns = systems, then first/other ratios. */
export function formatTable (rows, systems) {
  const out = []
  for (const { n, size, shape, of } of cells(rows)) {
    const bySys = systems.map((s) => rows.filter((r) => r.system === s && of(r)))
    const reps = Math.max(...bySys.map((rs) => rs.length))
    const header = ['figure', ...systems, ...systems.slice(1).map((s) => `${systems[0]}/${s}`)]
    const lines = [header]
    for (const [label, get] of FIGURES) {
      const vals = bySys.map((rs) => median(rs.map(get).filter((v) => v != null)))
      lines.push([label, ...vals.map(fmt), ...vals.slice(1).map((v) => ratio(vals[0], v))])
    }
    const w = header.map((_, i) => Math.max(...lines.map((l) => String(l[i]).length)))
    out.push(`n=${n}, size=${size} B, publishers ${shape}` + (reps > 1 ? `  (median of ${reps} runs)` : '') + (bySys.some((rs) => rs.some((r) => r.throughput.partial)) ? '  (publishing hit the time cap: partial, rates still valid)' : ''))
    for (const l of lines) out.push('  ' + l.map((c, i) => i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i])).join('  '))
    const over = systems.filter((s, i) => bySys[i].some((r) => r.latency.overloaded))
    if (over.length) out.push(`  ! latency phase overloaded (10 msg/s > sustained throughput, in >= 1 run) for: ${over.join(', ')} — p50/p99 and lost include queueing`)
    out.push('')
  }
  return out.join('\n')
}

/**
 * The README table: one line per (n, size, publishers), the first system against the second
 * (ratios first/second), and the delivered MB/s of `ceiling` (the unsecured flood) when it ran.
 */
export function formatMarkdown (rows, systems, ceiling = 'naive-flood') {
  const [a, b] = systems.filter((s) => s !== ceiling)
  const med = (system, of, get) => median(rows.filter((r) => r.system === system && of(r)).map(get).filter((v) => v != null))
  const hasCeiling = systems.includes(ceiling)
  const pair = (x, y, showRatio) => `${fmt(x)} / ${fmt(y)}` + (showRatio && x != null && y ? ` (${(x / y).toFixed(1)}×)` : '')
  const head = ['n', 'size', 'publishers', `msg/s ${a} / ${b}`, 'msg per CPU-s', `MB/s delivered${hasCeiling ? ' (ceiling; % of it)' : ''}`, 'light-load p99 ms', 'heap per node KB', `frames in per delivery ${a}${hasCeiling ? ' / ceiling' : ''}`]
  const out = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => i < 2 ? '--:' : '---').join('|')}|`]
  for (const { n, size, shape, of } of cells(rows)) {
    const get = (s, f) => med(s, of, f)
    // a p99 measured while the system could not keep up with the light phase's rate is queueing
    const p99 = (s) => fmt(get(s, (r) => r.latency.p99ms)) + (rows.some((r) => r.system === s && of(r) && r.latency.overloaded) ? ' (overloaded)' : '')
    const tp = (f) => [get(a, (r) => r.throughput[f]), b ? get(b, (r) => r.throughput[f]) : null]
    const [ma, mb] = tp('MBps')
    const mc = hasCeiling ? get(ceiling, (r) => r.throughput.MBps) : null
    const heap = [a, b].map((s) => { const v = s ? get(s, (r) => r.memory.heapPerNodeMB) : null; return v == null ? null : Math.round(v * 1000) })
    const sizeText = size % 1024 === 0 ? `${size / 1024} KiB` : `${size} B`
    out.push(`| ${[n, sizeText, shape,
      pair(...tp('msgsPerSec'), true),
      pair(...tp('msgsPerCpuSec'), true),
      `${fmt(ma)} / ${fmt(mb)}` + (mc != null ? ` (${fmt(mc)}; ${Math.round(100 * ma / mc)}%)` : ''),
      b ? `${p99(a)} / ${p99(b)}` : p99(a),
      pair(heap[0], heap[1], false),
      hasCeiling ? pair(get(a, (r) => r.throughput.framesInPerDelivery), get(ceiling, (r) => r.throughput.framesInPerDelivery), false) : fmt(tp('framesInPerDelivery')[0])].join(' | ')} |`)
  }
  return out.join('\n')
}

#!/usr/bin/env node
// # What the light-load p99 waits for (diagnostic, not a benchmark row)
//
// Runs the light-load latency phase of run.mjs (10 msg/s, same topology, same Tracker) for one
// system in this process, for longer (default 20 s) so the tail has enough samples, and records
// with every delivery its publish time; with every timer whose run takes longer than 0.2 ms its
// delay and start/end (globalThis.setTimeout is wrapped before the system is loaded; a timer of
// delay 1000 is a pubsub heartbeat for xswarm; a run lasts until the next setImmediate, so it also
// counts the IO handled in that loop turn: an upper bound); and every GC (PerformanceObserver
// 'gc'). It reports how the slowest 2% of deliveries overlap heartbeat runs and GCs, against
// the share of all deliveries that overlap them.
//
//   node --expose-gc bench/pubsub/latency-tail.mjs [--system xswarm] [--nodes 10] [--size 128]
//        [--publisher rr|0] [--seconds 20] [--rate 10] [--stagger] [--phase X] [--probe] [--verbose]
//        [--heap-profile N [--heap-all]] [--snapshots DIR [--snapshot-gaps 2]] [--gc-edges]
//        [--scavenge-check K[,W]] [--throughput off] [--mark] [--fractional-ms]
//
// With every run: its scavenges (count, total and longest ms; node --trace-gc-nvp tells what each
// one copied). The diagnostics below (heap profile, snapshots) slow the run: their latencies are
// not figures.
//
// --stagger emulates a staggered heartbeat WITHOUT changing the product: after the throughput phase, the
// next n timers scheduled with delay 1000 (one heartbeat per node, as each heartbeat reschedules
// itself) get an extra uniform [0, 1000) ms once, from a seeded prng, so every node's heartbeat
// keeps its own phase from then on. --phase X starts the 10-msg/s schedule X ms after the start
// of a heartbeat burst (X = -2: one message a second is published 2 ms before the burst; rough:
// a burst is told by its first heartbeat).
//
// --mark prints PHASE-START and PHASE-END lines to stdout around the light phase (from its first
// publish to the end of its grace wait), so that what V8 prints there (node --trace-opt
// --trace-deopt) can be told from the warm-up's and the throughput phase's. Each publish waits a
// whole number of milliseconds (cut, as run.mjs's harness does: Node's timers fire a fractional
// delay when they would fire its whole part); --fractional-ms waits the fractional remainder as
// the harness did before: the first timer with a fractional delay in a process turns a field of
// Node's Timeout objects from small integer to double, which deoptimizes all code that inlined
// timers (bench/README).
import { performance, PerformanceObserver } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import os from 'node:os'
import { writeSync } from 'node:fs'
import { writeHeapSnapshot as writeSnapshot } from 'node:v8'

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]?.startsWith('--') || all[i + 1] == null ? 'true' : all[i + 1]])
  return acc
}, []))
const system = args.system ?? 'xswarm'
const n = Number(args.nodes ?? 10)
const size = Number(args.size ?? 128)
const publisher = args.publisher ?? 'rr'
const seconds = Number(args.seconds ?? 20)
const stagger = args.stagger === 'true'

// ─── timer and GC recording ───────────────────────────────────────────────
const runs = [] // { delay, start, end } of timer callbacks longer than 0.2 ms
const gcs = [] // { start, end, kind }
let staggerLeft = 0
let lastHeartbeat = -1e9, burstStart = -1e9
const { prng } = await import('./harness.mjs')
const rand = prng(7)
const realSetTimeout = globalThis.setTimeout
globalThis.setTimeout = function (fn, delay, ...rest) {
  if (typeof fn !== 'function') return realSetTimeout(fn, delay, ...rest)
  let d = delay
  if (delay === 1000 && staggerLeft > 0) { staggerLeft--; d = delay + Math.floor(rand() * 1000) }
  return realSetTimeout(function (...a) {
    // xswarm's timer callback only queues the timer; the machines settle it in the microtasks
    // that follow (the swarm's event loop), so a run ends when the next setImmediate fires
    const start = performance.now()
    if (delay === 1000) { if (start - lastHeartbeat > 50) burstStart = start; lastHeartbeat = start }
    setImmediate(() => { const end = performance.now(); if (end - start > 0.2) runs.push({ delay, start, end }) })
    return fn.apply(this, a)
  }, d, ...rest)
}
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push({ start: e.startTime, end: e.startTime + e.duration, kind: e.detail?.kind })
}).observe({ entryTypes: ['gc'] })

const { startWarmedUp, percentile, readSeq } = await import('./harness.mjs')
// as in run.mjs, the latency phase follows a throughput phase (here the --quick one: 2.5 s at
// most); --throughput off: none, to see whether what happens in the light phase depends on it
const { sys, tracker } = await startWarmedUp({ system, n, size, publisher: publisher === 'rr' ? 'rr' : Number(publisher), busy: args.throughput !== 'off' })
if (stagger) staggerLeft = n
await sleep(2500) // staggered heartbeats (if any) take their new phase

// light-load phase as harness.latency(), recording (sentAt, deliveredAt) per delivery
const samples = []
const deliver = tracker._deliver.bind(tracker)
tracker._deliver = (idx, bytes) => {
  const before = tracker.phase?.latencies.length ?? 0
  deliver(idx, bytes)
  const p = tracker.phase
  if (p && p.latencies.length > before) {
    const lat = p.latencies[p.latencies.length - 1]
    const now = performance.now()
    samples.push({ sent: now - lat, at: now, lat, idx, seq: readSeq(bytes) })
  }
}
// --probe: a 1-ms timer records every stretch of >= 2 ms in which the loop could not run it
// (busy: CPU work, a GC); a delivery gap not covered by one was a wait with the loop idle
const busy = []
let probeOn = args.probe === 'true'
if (probeOn) {
  let last = performance.now()
  const tick = () => { const now = performance.now(); if (now - last >= 2) busy.push({ start: last, end: now }); last = now; if (probeOn) realSetTimeout(tick, 1) }
  realSetTimeout(tick, 1)
}
// --gc-edges: two scavenges and a full GC at the start and at the end of the phase, so that with
// node --track-gc-object-stats --trace-gc-object-stats the "dead" of the last mark-compact is
// what died in old space during the phase (promoted, then garbage); gc-dead.mjs sums it by type
const gcEdge = () => { if (args['gc-edges'] === 'true') { globalThis.gc({ type: 'minor' }); globalThis.gc({ type: 'minor' }); globalThis.gc() } }
gcEdge()
runs.length = 0; gcs.length = 0
// --heap-profile N: the sampling heap profiler over the latency phase; prints to stderr the N
// allocation sites (with two callers) with the most sampled bytes allocated during the phase and
// still alive at its end (what outlived its scavenges and is kept: caches, records), or with
// --heap-all of every byte allocated (what makes the scavenges come). Not the objects promoted
// and dead before the end: Node 20's V8 does not tell those apart reliably (its "collected by a
// major/minor GC" options counted objects that died in their second scavenge and missed some
// that died in old space, in a test of each case).
const heapSession = args['heap-profile'] != null ? new (await import('node:inspector/promises')).Session() : null
const heapAll = args['heap-all'] === 'true'
if (heapSession) { heapSession.connect(); await heapSession.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: heapAll, includeObjectsCollectedByMinorGC: heapAll }) }
// --phase X: publish X ms after a heartbeat burst starts (every 1000 ms; X < 0: before it)
let t0 = performance.now()
if (args.phase != null) t0 = burstStart + 1000 * Math.ceil((t0 + 20 - burstStart - Number(args.phase)) / 1000) + Number(args.phase)
const p = tracker.begin(`latency-${size}`, size)
// (fs.writeSync, not process.stdout: a write through Node's streams would itself deoptimize the
// stream code the sockets' writes were optimized with)
const mark = (line) => { if (args.mark === 'true') writeSync(1, `${line}\n`) }
mark('PHASE-START')
const rate = Number(args.rate ?? 10) // --rate R: R msg/s instead of 10 (0: idle, to see the GCs of the rest)
const total = seconds * rate
const [scavengeCheck, checkWindow] = (args['scavenge-check'] ?? '0').split(',').map(Number).concat(0)
const snapshotAt = [0, ...(args['snapshot-gaps'] ?? '2').split(',').map(Number)].map((g) => (total >> 1) + Math.round(g * rate))
for (let i = 0; i < total; i++) {
  const wait = t0 + i * 1000 / rate - performance.now()
  if (wait > 0) await sleep(args['fractional-ms'] === 'true' ? wait : Math.floor(wait))
  tracker.publish(publisher === 'rr' ? i % n : Number(publisher), size)
  // --snapshots DIR: heap snapshots at the middle of the phase and 2 s later (each stops the
  // process for ~1 s, so the latencies of that run mean nothing); compare them in DevTools or
  // with heap-diff.mjs. --snapshot-gaps 1,3: at the middle, 1 s and 3 s later instead
  if (args.snapshots && snapshotAt.includes(i)) {
    const before = performance.now()
    writeSnapshot(`${args.snapshots}/${i}.heapsnapshot`)
    t0 += performance.now() - before // the schedule resumes where it stopped, without a burst
  }
  // --scavenge-check K: every K messages, a scavenge and at once (same turn, no allocation in
  // between) a full GC. The full GC moves every young object it finds alive to old space, so
  // with --trace-gc-nvp its `promoted` is what of the scavenge's `new_space_survived` was really
  // alive: the rest the scavenger copied although nothing alive held it (see bench/README).
  // --scavenge-check K,W: also a full GC W messages before each pair (old space then holds no
  // garbage older than W messages: what dies meanwhile is all that can keep young objects)
  if (scavengeCheck > 0 && checkWindow > 0 && i % scavengeCheck === scavengeCheck - 1 - checkWindow) {
    const before = performance.now()
    process.stdout.write('scavenge-check-clean\n')
    globalThis.gc()
    t0 += performance.now() - before
  }
  if (scavengeCheck > 0 && i % scavengeCheck === scavengeCheck - 1) {
    const before = performance.now()
    process.stdout.write('scavenge-check\n')
    globalThis.gc({ type: 'minor' })
    globalThis.gc()
    t0 += performance.now() - before
  }
}
if (total === 0) await sleep(seconds * 1000)
const graceEnd = performance.now() + 2000
while (p.completed < p.published && performance.now() < graceEnd) await tracker.waitCompletion(50)
tracker.end()
mark('PHASE-END')
gcEdge()
const t1 = performance.now()
if (heapSession) printHeapProfile((await heapSession.post('HeapProfiler.getSamplingProfile')).profile, Number(args['heap-profile']) || 25)
probeOn = false
await sys.stop()

// ─── analysis ─────────────────────────────────────────────────────────────
const lats = samples.map((s) => s.lat).sort((a, b) => a - b)
const p50 = percentile(lats, 50), p98 = percentile(lats, 98), p99 = percentile(lats, 99)
const slow = samples.filter((s) => s.lat > p98)
const hb = runs.filter((r) => r.delay === 1000)
const other = runs.filter((r) => r.delay !== 1000)
const overlaps = (s, list) => list.some((r) => r.start < s.at && r.end > s.sent)
const share = (set, list) => set.length ? Math.round(100 * set.filter((s) => overlaps(s, list)).length / set.length) : 0
const majors = gcs.filter((g) => g.kind === 4) // NODE_PERFORMANCE_GC_MAJOR
const minors = gcs.filter((g) => g.kind === 1) // NODE_PERFORMANCE_GC_MINOR (scavenges)
const sum = (l) => l.reduce((a, r) => a + r.end - r.start, 0)
// heartbeat bursts: heartbeat runs closer than 5 ms to the previous one form one burst
const bursts = []
for (const r of hb.sort((a, b) => a.start - b.start)) {
  const last = bursts[bursts.length - 1]
  if (last && r.start - last.end < 5) { last.end = r.end; last.count++ } else bursts.push({ start: r.start, end: r.end, count: 1 })
}
const bl = bursts.map((b) => b.end - b.start).sort((a, b) => a - b)
const r1 = (x) => Math.round(x * 10) / 10
// the jumps inside one message's deliveries (sorted), >= 2.5 ms: covered by a busy stretch?
const jumps = []
for (const q of new Set(slow.map((s) => s.seq))) {
  const l = samples.filter((s) => s.seq === q).sort((a, b) => a.at - b.at)
  for (let i = 1; i < l.length; i++) if (l[i].at - l[i - 1].at >= 2.5) jumps.push({ start: l[i - 1].at, end: l[i].at })
}
const covered = (j) => busy.filter((b) => b.start < j.end && b.end > j.start).reduce((a, b) => a + Math.min(b.end, j.end) - Math.max(b.start, j.start), 0) / (j.end - j.start)
// is a slow delivery a slow MESSAGE (its first delivery is late too: the publish waited) or a
// slow HOP (the message's other deliveries were on time)?
const bySeq = new Map()
for (const s of samples) { const l = bySeq.get(s.seq) ?? []; l.push(s); bySeq.set(s.seq, l) }
const slowSeqs = [...new Set(slow.map((s) => s.seq))]
const firstOfSlow = slowSeqs.map((q) => Math.min(...bySeq.get(q).map((s) => s.lat))).sort((a, b) => a - b)
const allFirst = [...bySeq.values()].map((l) => Math.min(...l.map((s) => s.lat))).sort((a, b) => a - b)
// time line of the slow messages: publish time modulo the heartbeat period, against burst starts
const phase = (t) => Math.round(((t - t0) % 1000 + 1000) % 1000)
if (args.verbose === 'true') {
  console.error('burst phases (ms mod 1000):', bursts.slice(0, 12).map((b) => `${phase(b.start)}+${r1(b.end - b.start)}/${b.count}`).join(' '))
  for (const q of slowSeqs) {
    const l = bySeq.get(q).sort((a, b) => a.lat - b.lat)
    const g = gcs.filter((x) => x.start < l[l.length - 1].at && x.end > l[0].sent).map((x) => `gc${x.kind}:${r1(x.end - x.start)}`)
    console.error(`seq ${q} sent@${phase(l[0].sent)} lats ${l.map((s) => r1(s.lat)).join(',')} ${g.join(' ')}`)
  }
}
console.log(JSON.stringify({
  system, n, size, publisher, seconds, stagger, load1: os.loadavg()[0].toFixed(2),
  samples: samples.length, p50: r1(p50), p98: r1(p98), p99: r1(p99), max: r1(lats[lats.length - 1]),
  p99after2s: r1(percentile(samples.filter((s) => s.sent > t0 + 2000).map((s) => s.lat).sort((a, b) => a - b), 99)),
  heartbeatRuns: hb.length, heartbeatRunMsMean: r1(sum(hb) / Math.max(1, hb.length)), heartbeatBusyPct: r1(100 * sum(hb) / (t1 - t0)),
  heartbeatBursts: bursts.length, burstCountMedian: bursts.map((b) => b.count).sort((a, b) => a - b)[bursts.length >> 1], burstMsMedian: r1(percentile(bl, 50)), burstMsMax: r1(bl[bl.length - 1]),
  otherLongTimerRuns: other.length, otherDelays: [...new Set(other.map((r) => r.delay))].slice(0, 10),
  gcs: gcs.length, gcMsTotal: r1(sum(gcs)), scavenges: minors.length, scavengeMsTotal: r1(sum(minors)), scavengeMsMax: r1(Math.max(0, ...minors.map((g) => g.end - g.start))), majorGcs: majors.length, majorGcMsMax: r1(Math.max(0, ...majors.map((g) => g.end - g.start))),
  slowOverlapHeartbeatPct: share(slow, hb), allOverlapHeartbeatPct: share(samples, hb),
  slowOverlapGcPct: share(slow, gcs), allOverlapGcPct: share(samples, gcs),
  slowOverlapMajorGcPct: share(slow, majors), slowOverlapOtherTimerPct: share(slow, other),
  slowMessages: slowSeqs.length, messages: bySeq.size, slowMsgFirstDeliveryMedian: r1(percentile(firstOfSlow, 50)), allMsgFirstDeliveryMedian: r1(percentile(allFirst, 50)),
  ...(args.probe === 'true' ? { busyStretches: busy.length, busyMsP50: r1(percentile(busy.map((b) => b.end - b.start).sort((a, b) => a - b), 50)), slowJumps: jumps.length, slowJumpMsMedian: r1(percentile(jumps.map((j) => j.end - j.start).sort((a, b) => a - b), 50)), slowJumpBusyCoveredPctMedian: Math.round(100 * (percentile(jumps.map(covered).sort((a, b) => a - b), 50) ?? 0)) } : {}),
  slowOverlapNonePct: slow.length ? Math.round(100 * slow.filter((s) => !overlaps(s, hb) && !overlaps(s, gcs) && !overlaps(s, other)).length / slow.length) : 0
}))
process.exit(0)

function printHeapProfile (profile, top) {
  // self bytes per site (function + url:line), with the two nearest callers
  const sites = new Map()
  let total = 0
  const where = (cf) => `${cf.functionName || '(anon)'} ${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber + 1}`
  const walk = (node, stack) => {
    const here = [...stack, where(node.callFrame)]
    if (node.selfSize > 0) {
      const key = here.slice(-3).reverse().join(' < ')
      sites.set(key, (sites.get(key) ?? 0) + node.selfSize)
      total += node.selfSize
    }
    for (const c of node.children) walk(c, here)
  }
  walk(profile.head, [])
  console.error(`sampled bytes allocated during the phase${heapAll ? '' : ' and alive at its end'}: ${(total / 1024).toFixed(0)} KiB`)
  for (const [k, v] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, top)) console.error(`${(v / 1024).toFixed(0).padStart(7)} KiB  ${k}`)
}

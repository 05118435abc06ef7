#!/usr/bin/env node
// # What died in old space during a latency-tail phase, by V8 instance type (diagnostic)
//
//   node --expose-gc --track-gc-object-stats --trace-gc-object-stats bench/pubsub/latency-tail.mjs \
//        --nodes 30 --seconds 20 --gc-edges > run.out 2>&1
//   node bench/pubsub/gc-dead.mjs run.out [--idle idle.out] [--deliveries 5800] [--top 25]
//
// V8 prints, at every mark-compact, the bytes and counts of the objects it found live and dead,
// by instance type. With --gc-edges the last mark-compact is the full GC that ends the phase and
// the one before it started the phase, so its "dead" is what died in old space meanwhile: objects
// promoted by a scavenge and then garbage (and old-space allocations that died). A heap snapshot
// cannot show these (it collects first). --idle subtracts a --rate 0 run (what dies without
// messages); --deliveries divides by the phase's deliveries. Instance types only: no
// constructor names (JS_OBJECT_TYPE is every plain object).
import { readFileSync } from 'node:fs'

const args = process.argv.slice(2)
const opt = (name) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : undefined }
const deliveries = Number(opt('deliveries') ?? 0)
const top = Number(opt('top') ?? 25)

/** The "dead" of the last mark-compact in a --trace-gc-object-stats output: type -> [bytes, count]. */
function lastDead (file) {
  const byGc = new Map()
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('{ "isolate"')) continue
    let j
    try { j = JSON.parse(line) } catch { continue }
    if (j.type !== 'instance_type_data' || j.key !== 'dead' || j.overall === 0) continue
    if (!byGc.has(j.id)) byGc.set(j.id, new Map())
    byGc.get(j.id).set(j.instance_type_name, [j.overall, j.count])
  }
  if (byGc.size === 0) throw new Error(`${file}: no object stats (run node with --track-gc-object-stats --trace-gc-object-stats)`)
  return byGc.get(Math.max(...byGc.keys()))
}

const dead = lastDead(args[0])
const idle = opt('idle') ? lastDead(opt('idle')) : new Map()
const rows = [...dead].map(([type, [bytes, count]]) => {
  const [ib, ic] = idle.get(type) ?? [0, 0]
  return { type, bytes: bytes - ib, count: count - ic }
}).sort((a, b) => b.bytes - a.bytes)
const total = rows.reduce((a, r) => a + r.bytes, 0)
console.log(`dead in old space at the last mark-compact${idle.size ? ' minus the idle run' : ''}: ${(total / 1e6).toFixed(1)} MB` +
  (deliveries ? `, ${(total / deliveries).toFixed(0)} B per delivery` : ''))
for (const r of rows.slice(0, top)) {
  const per = deliveries ? `  ${(r.bytes / deliveries).toFixed(0).padStart(5)} B ${(r.count / deliveries).toFixed(2).padStart(6)} per delivery` : ''
  console.log(`${(r.bytes / 1024).toFixed(0).padStart(8)} KiB ${String(r.count).padStart(8)}${per}  ${r.type}`)
}

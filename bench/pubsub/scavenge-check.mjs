#!/usr/bin/env node
// # How much of what a scavenge copies is alive (diagnostic)
//
//   node --expose-gc --trace-gc-nvp bench/pubsub/latency-tail.mjs --nodes 30 --seconds 15 \
//        --scavenge-check 20 > run.out 2>&1
//   node bench/pubsub/scavenge-check.mjs run.out
//
// latency-tail's --scavenge-check K makes, every K messages, a scavenge and at once a full GC (no
// JS runs between them). A full GC marks from the live roots only and moves every young object it
// finds alive to old space (its `promoted` in --trace-gc-nvp), so it tells how much of the bytes
// the scavenge copied (`new_space_survived`) anything alive still held. The scavenger also keeps
// what dead old objects point to (its roots include every old-to-new slot); this is the share.
import { readFileSync } from 'node:fs'

const lines = readFileSync(process.argv[2], 'utf8').split('\n')
const field = (line, key) => Number(line.match(new RegExp(` ${key}=([\\d.]+)`))?.[1])
const pairs = []
for (let i = 0; i < lines.length; i++) {
  if (lines[i] !== 'scavenge-check') continue
  const [scavenge, full] = lines.slice(i + 1).filter((l) => / gc=/.test(l)).slice(0, 2)
  if (!/ gc=s /.test(scavenge) || !/ gc=mc /.test(full)) continue
  pairs.push({ copied: field(scavenge, 'new_space_survived'), alive: field(full, 'promoted'), allocated: field(scavenge, 'allocated') })
}
if (pairs.length === 0) throw new Error('no scavenge-check pairs (run latency-tail.mjs with --scavenge-check K under node --trace-gc-nvp)')
const mb = (b) => (b / 1e6).toFixed(2)
for (const p of pairs) console.log(`allocated ${mb(p.allocated)} MB, copied ${mb(p.copied)} MB, of it alive ${mb(p.alive)} MB`)
const sum = (k) => pairs.reduce((s, p) => s + p[k], 0)
console.log(`${pairs.length} pairs: ${(100 * sum('alive') / sum('copied')).toFixed(0)}% of the copied bytes alive`)

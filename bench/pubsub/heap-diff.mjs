#!/usr/bin/env node
// # Which objects outlive a scavenge (diagnostic for latency-tail.mjs --snapshots)
//
//   node --max-old-space-size=4096 bench/pubsub/heap-diff.mjs A.heapsnapshot B.heapsnapshot [C.heapsnapshot ...] [--top 40]
//
// V8 keeps an object's snapshot id from one snapshot to the next (it follows the object as the GC
// moves it), so the objects of B whose id is not in A were allocated between A and B and alive at
// B: what a scavenge at B would copy (with the few objects in flight at that instant). With
// later snapshots C, D, ..., each is grouped by the last one it is in (B: dead before C; a
// cache entry or a record lives on). Prints their bytes (self size; JS heap only: not native
// nodes, whose ids are new in every snapshot, nor code) by
// kind (node type and constructor name) and by anchor: the nearest object that existed at A on
// the first strong retainer path (the Map, array or closure that holds them), with the edge.
import { readFileSync } from 'node:fs'

const args = process.argv.slice(2)
const top = Number(args[args.indexOf('--top') + 1] || 40)
const files = args.filter((a, i) => a.endsWith('.heapsnapshot'))
if (files.length < 2) { console.error('usage: heap-diff.mjs A.heapsnapshot B.heapsnapshot [C.heapsnapshot]'); process.exit(2) }

function load (file) {
  const j = JSON.parse(readFileSync(file, 'utf8'))
  const m = j.snapshot.meta
  const nf = m.node_fields.length, ef = m.edge_fields.length
  const types = m.node_types[0], etypes = m.edge_types[0]
  return { nodes: j.nodes, edges: j.edges, strings: j.strings, nf, ef, types, etypes,
    iType: m.node_fields.indexOf('type'), iName: m.node_fields.indexOf('name'), iId: m.node_fields.indexOf('id'),
    iSize: m.node_fields.indexOf('self_size'), iEc: m.node_fields.indexOf('edge_count'),
    eType: m.edge_fields.indexOf('type'), eName: m.edge_fields.indexOf('name_or_index'), eTo: m.edge_fields.indexOf('to_node') }
}
function ids (s) {
  const out = new Set()
  for (let i = 0; i < s.nodes.length; i += s.nf) out.add(s.nodes[i + s.iId])
  return out
}

const aIds = ids(load(files[0]))
const later = files.slice(2).map((f) => ids(load(f)))
const B = load(files[1])
const count = B.nodes.length / B.nf
// reverse edges of B: first strong retainer of each node (skip weak and shortcut edges)
const firstRetainer = new Int32Array(count).fill(-1), retEdgeName = new Array(count)
let e = 0
for (let n = 0; n < count; n++) {
  const ec = B.nodes[n * B.nf + B.iEc]
  for (let k = 0; k < ec; k++, e += B.ef) {
    const et = B.etypes[B.edges[e + B.eType]]
    if (et === 'weak' || et === 'shortcut') continue
    const to = B.edges[e + B.eTo] / B.nf
    // prefer a retainer that is not the synthetic root or a (system) entry
    if (firstRetainer[to] === -1 || B.types[B.nodes[firstRetainer[to] * B.nf + B.iType]] === 'synthetic') {
      firstRetainer[to] = n
      const nm = B.edges[e + B.eName]
      retEdgeName[to] = et === 'element' || et === 'hidden' ? `[${nm}]` : (et === 'context' ? `ctx:${B.strings[nm]}` : B.strings[nm])
    }
  }
}
const kind = (n) => {
  const t = B.types[B.nodes[n * B.nf + B.iType]]; const name = B.strings[B.nodes[n * B.nf + B.iName]]
  if (t === 'object' || t === 'native' || t === 'synthetic') return name
  if (t === 'closure') return `closure ${name || '(anon)'}`
  if (t === 'string' || t === 'concatenated string' || t === 'sliced string') return '(string)'
  return `(${t}) ${t === 'hidden' || t === 'code' || t === 'array' ? name.slice(0, 40) : ''}`.trim()
}
const isNew = (n) => !aIds.has(B.nodes[n * B.nf + B.iId])
// anchor: walk up first retainers through new objects to the first old one
function anchor (n) {
  const path = []
  let cur = n
  for (let step = 0; step < 12 && cur !== -1 && isNew(cur); step++) {
    const r = firstRetainer[cur]
    path.push(retEdgeName[cur])
    if (r === -1) return { a: '(no retainer)', path }
    cur = r
  }
  if (cur === -1 || isNew(cur)) return { a: '(deep)', path }
  const r = firstRetainer[cur]
  return { a: `${kind(cur)}${r !== -1 ? ` <-${retEdgeName[cur]}- ${kind(r)}` : ''}`, path }
}
// fate of each new object: the last later snapshot it is in ('B' = none of them)
const names = ['B', ...files.slice(2).map((f) => f.split('/').pop().replace('.heapsnapshot', ''))]
const fate = (id) => { let last = 0; for (let j = 0; j < later.length; j++) if (later[j].has(id)) last = j + 1; return names[last] }
const groups = new Map(), anchors = new Map(), totals = new Map()
for (let n = 0; n < count; n++) {
  if (!isNew(n)) continue
  const t = B.types[B.nodes[n * B.nf + B.iType]]
  if (t === 'native' || t === 'code' || t === 'synthetic') continue // embedder nodes get new ids each snapshot; code is not per message
  const id = B.nodes[n * B.nf + B.iId]
  const size = B.nodes[n * B.nf + B.iSize]
  const g = fate(id)
  if (!groups.has(g)) { groups.set(g, new Map()); anchors.set(g, new Map()); totals.set(g, [0, 0]) }
  totals.get(g)[0] += size; totals.get(g)[1]++
  const k = kind(n)
  const v = groups.get(g).get(k) ?? [0, 0]; v[0] += size; v[1]++; groups.get(g).set(k, v)
  const { a, path } = anchor(n)
  const key = `${a}  ::  ${path.slice(-2).reverse().join('.')}`
  const w = anchors.get(g).get(key) ?? [0, 0]; w[0] += size; w[1]++; anchors.get(g).set(key, w)
}
const kb = (b) => (b / 1024).toFixed(1).padStart(8)
for (const g of names.filter((x) => groups.has(x))) {
  console.log(`\n=== new in B, alive at B, last seen in ${g}: ${kb(totals.get(g)[0])} KiB in ${totals.get(g)[1]} objects`)
  console.log('-- by kind')
  for (const [k, v] of [...groups.get(g)].sort((x, y) => y[1][0] - x[1][0]).slice(0, top)) console.log(`${kb(v[0])} KiB ${String(v[1]).padStart(7)}  ${k}`)
  console.log('-- by anchor (nearest old retainer <-edge- its retainer :: edges below it)')
  for (const [k, v] of [...anchors.get(g)].sort((x, y) => y[1][0] - x[1][0]).slice(0, top)) console.log(`${kb(v[0])} KiB ${String(v[1]).padStart(7)}  ${k}`)
}

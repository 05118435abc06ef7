// # Which objects are born in old space (diagnostic preload)
//
//   node --allow-natives-syntax --import ./bench/pubsub/young-probe.mjs --expose-gc \
//        bench/pubsub/latency-tail.mjs --nodes 30 --seconds 8
//
// Defines globalThis.__probe(name, object): counts, by name, whether a freshly made object is in
// the young generation; prints the counts at exit. Add a call right after an allocation in a
// scratch build (in dist/, e.g. `globalThis.__probe?.('queue.list', rpc[key])`): an object
// literal or array literal that is old at birth comes from an allocation site V8 pretenures
// (see bench/README, "what survives a scavenge"). Needs --allow-natives-syntax.
const inYoung = new Function('o', 'return %InYoungGeneration(o)')
const counts = new Map()
globalThis.__probe = (name, object) => {
  if (object === null || typeof object !== 'object') return
  let c = counts.get(name)
  if (c === undefined) counts.set(name, (c = { young: 0, old: 0 }))
  if (inYoung(object)) c.young++
  else c.old++
}
process.on('exit', () => {
  for (const [name, { young, old }] of [...counts].sort()) {
    console.error(`probe ${name.padEnd(24)} young ${String(young).padStart(7)} old ${String(old).padStart(7)} (${(100 * old / (young + old)).toFixed(0)}% old)`)
  }
})

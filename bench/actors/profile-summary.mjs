// Summarise a V8 CPU profile (node --cpu-prof) by package or directory and by function, self
// time: what bench/README.md "Actors: where the time goes" quotes.
// Usage: node --expose-gc run.mjs --systems xswarm --figures ask1 --prof prof
//        node profile-summary.mjs prof/<file>.cpuprofile [functions to list, default 25]
import { readFileSync } from 'node:fs'

const [file, topArg] = process.argv.slice(2)
if (!file) {
  console.error('usage: node profile-summary.mjs <file.cpuprofile> [top]')
  process.exit(2)
}
const profile = JSON.parse(readFileSync(file, 'utf8'))
const top = Number(topArg ?? 25)

/** Microseconds per profile node: the time deltas of its samples. */
const self = new Map()
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
const total = [...self.values()].reduce((a, b) => a + b, 0)

/** The package (node_modules), node's own module, or the xswarm directory a frame belongs to. */
function groupOf(url, name) {
  if (name === '(garbage collector)') return '(gc)'
  if (!url) return '(native: syscalls, VM)'
  const pkg = url.match(/node_modules\/((@[^/]+\/)?[^/]+)/)
  if (pkg) return pkg[1]
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`
  const own = url.match(/dist\/((src|machines)\/[^/]+)/)
  return own ? own[1].replace(/\.js$/, '') : url.split('/').slice(-2).join('/')
}

const byGroup = new Map()
const byFunction = new Map()
for (const node of profile.nodes) {
  const t = self.get(node.id) ?? 0
  if (t === 0) continue
  const { url, functionName, lineNumber } = node.callFrame
  const group = groupOf(url, functionName)
  const fn = `${functionName || '(anonymous)'} ${url.split('/').pop()}:${lineNumber + 1}`
  byGroup.set(group, (byGroup.get(group) ?? 0) + t)
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + t)
}
const pct = (t) => `${((100 * t) / total).toFixed(1).padStart(5)}%`
const list = (map, n) => [...map].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, t]) => `${pct(t)}  ${k}`).join('\n')
console.log(`${(total / 1000).toFixed(0)} ms sampled\n\nby package or directory (self time)\n${list(byGroup, 15)}\n\nby function (self time)\n${list(byFunction, top)}`)

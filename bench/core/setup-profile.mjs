// Connection setups from the build, with an optional CPU profile of the timed window only: one
// listener, N fresh dialer swarms (created before the clock starts) each dialing it once over ws,
// C dials in flight, until both ends have handed out peer.connected (as bench/core/setup.ts, with
// pubsub on and discovery and ping off). Prints one JSON line: setups/s and setups per CPU-second
// of the process. `subscribed` subscribes every swarm to one topic first, so pubsub's hello and
// subscription exchange come with every connection (as in bench/pubsub); `discovery` runs
// discovery (default options: its hello exchange with every connection, and each fresh node's
// first connection starts its join lookup).
// Usage: npm run build && node bench/core/setup-profile.mjs [N=128] [C=16] [plain|subscribed|discovery] [out.cpuprofile]
//        node bench/pubsub/profile-shares.mjs out.cpuprofile --inclusive '/(src|machines)/' 60
// With an out file ending in .heapprofile, V8's sampling heap profiler runs instead (objects
// that GC already collected counted too, so the figure does not depend on when GC ran): it
// prints the bytes allocated per setup (both ends) and the functions that allocated most (a
// native allocation such as `new Set` counted in the JS function that called it).
import { Session } from 'node:inspector/promises'
import { writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { dirname, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { cpuProfiled } from '../cpu-profile.mjs'

const [countArg = '128', inFlightArg = '16', mode = 'plain', out = ''] = process.argv.slice(2)
const count = Number(countArg), inFlight = Number(inFlightArg)
const entry = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'src', 'index.js')
const { createSwarm } = await import(pathToFileURL(entry).href)
const options = {
  ping: false, discovery: mode === 'discovery',
  limits: { maxFramesPerSecond: 1e6, maxBytesPerSecond: 4 * 1024 ** 3, maxConnections: 4096, maxPendingConnections: 1024 },
}
const listener = await createSwarm({ ...options, listen: ['ws://127.0.0.1:0'] })
const connectedAtListener = new Set()
const listenerWaits = []
void (async () => {
  for await (const e of listener) {
    if (e.type !== 'peer.connected') continue
    connectedAtListener.add(e.peer)
    for (const wake of listenerWaits.splice(0)) wake()
  }
})()
for (let i = 0; i < 500 && listener.addresses.length === 0; i++) await new Promise((r) => setTimeout(r, 10))
const dialers = []
for (let i = 0; i < count; i++) dialers.push(await createSwarm(options))
if (mode === 'subscribed') for (const s of [listener, ...dialers]) s.subscribe('t')

/** Resolves when `swarm` hands out its first peer.connected. */
async function firstConnected(swarm) {
  for await (const e of swarm) if (e.type === 'peer.connected') return
}
/** Resolves when the listener has handed out peer.connected for `peer`. */
function listenerSaw(peer) {
  return new Promise((resolveSeen) => {
    const check = () => (connectedAtListener.has(peer) ? resolveSeen() : listenerWaits.push(check))
    check()
  })
}

/** Bytes allocated per setup, in all and by the JS function that allocated them (top 25). */
function printAllocations(profile) {
  const by = new Map()
  const byPackage = new Map()
  let total = 0
  const walk = (node, caller, callerUrl) => {
    const f = node.callFrame
    const name = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|dist)\//, '')}:${f.lineNumber + 1}`
    const key = f.url === '' ? `${f.functionName} <- ${caller}` : name
    const url = f.url === '' ? callerUrl : f.url
    const pkg = /node_modules\/xstate\//.test(url) ? 'xstate' : /\/dist\/(src|machines)\//.test(url) ? 'src, machines' : url.startsWith('node:') ? 'node' : 'other'
    if (node.selfSize > 0) {
      by.set(key, (by.get(key) ?? 0) + node.selfSize)
      byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + node.selfSize)
    }
    total += node.selfSize
    for (const child of node.children) walk(child, f.url === '' ? caller : name, url)
  }
  walk(profile.head, '(root)', '')
  const shares = [...byPackage].sort((a, b) => b[1] - a[1]).map(([pkg, bytes]) => `${pkg} ${Math.round((100 * bytes) / total)}%`)
  console.log(`allocated per setup: ${Math.round(total / count)} bytes (by the allocating function's package: ${shares.join(', ')})`)
  for (const [key, bytes] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${String(Math.round(bytes / count)).padStart(8)}  ${key}`)
}

let next = 0
const worker = async () => {
  while (next < count) {
    const dialer = dialers[next++]
    const both = Promise.all([firstConnected(dialer), listenerSaw(dialer.peerId)])
    dialer.dial(listener.addresses[0])
    await both
  }
}
/** The timed window: every setup, C at a time. */
const setups = async () => {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const timeout = setTimeout(() => { console.error('setups did not finish within 120 s'); process.exit(1) }, 120_000)
  await Promise.all(Array.from({ length: inFlight }, worker))
  clearTimeout(timeout)
  return { cpu: process.cpuUsage(cpu0), ms: performance.now() - t0 }
}
let measured
if (out.endsWith('.heapprofile')) {
  const session = new Session()
  session.connect()
  await session.post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
  measured = await setups()
  const { profile } = await session.post('HeapProfiler.stopSampling')
  session.disconnect()
  writeFileSync(out, JSON.stringify(profile))
  printAllocations(profile)
} else if (out) {
  measured = await cpuProfiled(setups, { out, intervalUs: 200 })
} else {
  measured = await setups()
}
const { cpu, ms } = measured
console.log(JSON.stringify({
  mode, count, inFlight, setupsPerSecond: +(count * 1000 / ms).toFixed(1),
  perCpuSecond: +(count * 1e6 / (cpu.user + cpu.system)).toFixed(1), load1: +loadavg()[0].toFixed(2),
}))
process.exit(0)

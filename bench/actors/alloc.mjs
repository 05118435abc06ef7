// Bytes allocated per one-way event (or per ask round trip, --ask N: N asks in flight), by
// function: V8's sampling heap profiler, counting objects collected by GC too, so the figure
// does not depend on the load (unlike the rates in run.mjs). Also: socket writes, and events
// per deliver call (how well envelopes are batched).
// Usage: node alloc.mjs [dist directory, default ../../dist] [functions to list, default 25] [--ask N]
import { Session } from 'node:inspector/promises'
import { dirname, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
const here = dirname(fileURLToPath(import.meta.url))
const askAt = process.argv.indexOf('--ask')
const inFlight = askAt < 0 ? 0 : Number(process.argv[askAt + 1])
if (askAt >= 0 && !(Number.isInteger(inFlight) && inFlight >= 1 && inFlight <= 1024)) throw new RangeError('--ask expected 1-1024 asks in flight')
const args = askAt < 0 ? process.argv.slice(2) : process.argv.slice(2).filter((_, i) => i !== askAt - 2 && i !== askAt - 1)
const dist = resolve(args[0] || resolve(here, '../../dist'))
const N = inFlight > 0 ? 40_000 : 100_000
const what = inFlight > 0 ? `ask (${inFlight} in flight)` : 'event'
const { createSwarm } = await import(pathToFileURL(resolve(dist, 'src/index.js')).href)
const { setup, assign, sendTo } = await import('xstate')
const turn = () => new Promise((r) => setImmediate(r))
const limits = { maxFramesPerSecond: 1e12, maxBytesPerSecond: 1e15 }
const opts = { listen: ['ws://127.0.0.1:0'], discovery: false, pubsub: false, ping: false, limits }
const a = await createSwarm(opts), b = await createSwarm(opts)
const loops = [a, b].map((s) => (async () => { for await (const _ of s) {} })())
b.dial(a.addresses[0])
while (!(b.isConnected(a.peerId) && a.isConnected(b.peerId))) await turn()
const sink = setup({}).createMachine({ context: { n: 0 }, on: { e: { actions: assign({ n: ({ context }) => context.n + 1 }) } } })
const echo = setup({}).createMachine({ on: { q: { actions: sendTo(({ event }) => event.replyTo, { type: 'r' }) } } })
const counter = a.actors.spawn(sink, { name: 'sink', accept: 'any' })
const echoed = a.actors.spawn(echo, { name: 'echo', accept: 'any' })
const ref = b.actors.ref(counter.address)
async function oneWay(n) {
  const start = counter.ref.getSnapshot().context.n
  for (let i = 0; i < n; i++) { ref.send({ type: 'e', i }); if ((i & 1023) === 1023) await turn() }
  while (counter.ref.getSnapshot().context.n - start < n) await turn()
}
async function asks(n) {
  let left = n
  const lane = async () => { while (left-- > 0) await b.actors.ask(echoed.address, { type: 'q' }) }
  await Promise.all(Array.from({ length: inFlight }, lane))
}
const run = inFlight > 0 ? asks : oneWay
await run(N / 2)
let calls = 0, items = 0
const net = await import('node:net'); let writes = 0, bytes = 0; const w0 = net.Socket.prototype.write; net.Socket.prototype.write = function (d, ...r) { writes++; bytes += d?.length ?? 0; return w0.call(this, d, ...r) }
const prev = a.actors._onDeliver
a.actors._onDeliver = (it) => { calls++; items += it.length; prev?.(it) }
const s = new Session(); s.connect()
await s.post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
const c0 = process.cpuUsage(); const t0 = performance.now()
await run(N)
const cpu = process.cpuUsage(c0); const wall = performance.now() - t0
const { profile } = await s.post('HeapProfiler.stopSampling')
const by = new Map(); let total = 0
const walk = (node) => { const k = `${node.callFrame.functionName || '(anon)'} ${node.callFrame.url.split('/').slice(-2).join('/')}:${node.callFrame.lineNumber}`; by.set(k, (by.get(k) ?? 0) + node.selfSize); total += node.selfSize; node.children.forEach(walk) }
walk(profile.head)
console.log(`socket writes ${writes} bytes ${bytes}`)
console.log(`deliver calls ${calls}, events per call ${(items / calls).toFixed(1)}`)
console.log(`bytes/${what} ${(total / N).toFixed(0)}  cpu us/${what} ${((cpu.user + cpu.system) / N).toFixed(2)}  wall/s ${Math.round(N / wall * 1000)} (the profiler slows it: the rates are not comparable with run.mjs)`)
for (const [k, v] of [...by].sort((x, y) => y[1] - x[1]).slice(0, Number(args[1] ?? 25))) console.log(String(Math.round(v / N)).padStart(6), k)
await Promise.all([a.close(), b.close()]); await Promise.all(loops)

// Where a simulated network's inputs go: CPU in `Driver.step` by input kind (frames by protocol,
// timers by the actor and delay that set them, commands, connection events), and, with --alloc,
// bytes allocated per input by package (V8's sampling heap profiler counting collected objects
// too, so that figure does not depend on the machine's load). The pubsub scenario without
// faults, 100 nodes, over the whole 65-s run or, with --steady, over simulated 300-600 s of a
// 10-minute run (as bench/sim.ts's steady100). What bench/README.md "Simulator" quotes.
// A diagnostic: it wraps the driver's private `step` and `checked` and XState's scheduler. The
// heap sampler slows every input (≈ 2x here): read the µs from a run without --alloc.
// Usage: npm run build && node bench/sim-inputs.mjs [--steady] [--alloc] [--dist DIR]
import { Session } from 'node:inspector'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const arg = (name) => { const at = process.argv.indexOf(name); return at > 0 ? process.argv[at + 1] : undefined }
const steady = process.argv.includes('--steady')
const alloc = process.argv.includes('--alloc')
const dist = resolve(arg('--dist') ?? 'dist')
const load = async (path) => import(pathToFileURL(resolve(dist, path)).href)
const { Driver } = await load('src/runtime/driver.js')
const { QueueClock } = await load('src/runtime/clock.js')
const { runScenario } = await load('src/testing/scenario.js')
const { pubsubScenario } = await load('src/testing/scenarios.js')

const steps = steady ? 295 : 20
const fromMs = steady ? 300_000 : 0
let on = !steady
/** Input kind -> [count, CPU µs]. */
const kinds = new Map()
let label = ''
let timerLabel

// Timers: named by the actor and the delayed event that set them (connection actors as one).
const setTimer = QueueClock.prototype.setTimeout
QueueClock.prototype.setTimeout = function (fn, ms) {
  const timer = setTimer.call(this, fn, ms)
  timer.label = timerLabel ?? 'timer'
  return timer
}
const start = Driver.prototype.start
Driver.prototype.start = function () {
  const scheduler = this.root.system.scheduler
  const schedule = scheduler.schedule
  scheduler.schedule = (source, target, event, delay, id) => {
    const actor = /^[cd]\d+$/.test(target.id) ? 'connection' : target.id
    timerLabel = `timer ${actor} ${event.type.replace(/^xstate\.after\./, '').split('.')[0]}`
    try { return schedule(source, target, event, delay, id) } finally { timerLabel = undefined }
  }
  return start.call(this)
}
const checked = Driver.prototype.checked
Driver.prototype.checked = function (item) {
  const input = checked.call(this, item)
  const first = Array.isArray(input) ? input[0] : input
  label = item.type === 'timer' ? item.label
    : first === undefined ? `${item.type} (dropped)`
      : first.type === 'io.conn.frame' ? `frame ${first.protocol}`
        : first.type === 'cmd.protocol' ? `command ${first.protocol} ${first.event?.type ?? ''}`
          : first.type
  return input
}
const step = Driver.prototype.step
Driver.prototype.step = function () {
  if (!on) return step.call(this)
  const before = process.cpuUsage()
  const took = step.call(this)
  if (took) {
    const spent = process.cpuUsage(before)
    const entry = kinds.get(label) ?? [0, 0]
    entry[0]++
    entry[1] += spent.user + spent.system
    kinds.set(label, entry)
  }
  return took
}

const session = alloc ? new Session() : undefined
let profile
const inputsOf = (world) => world.nodes.reduce((sum, n) => sum + n.swarm.stats().inputs, 0)
let inputs0 = 0, inputs1 = 0, stepsTaken = 0
const startAlloc = () => {
  session.connect()
  session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
}
if (!steady && session) startAlloc()
const window = () => ({
  name: 'inputs-window',
  afterStep(world) {
    stepsTaken++
    if (!on && world.sim.now() >= fromMs) {
      on = true
      inputs0 = inputsOf(world)
      if (session) startAlloc()
    }
    if (stepsTaken === steps) {
      on = false
      inputs1 = inputsOf(world)
      session?.post('HeapProfiler.stopSampling', (error, result) => { if (!error) profile = result.profile })
    }
    return undefined
  },
})
await runScenario(pubsubScenario, { seed: 1, nodes: 100, steps, faults: [] }, [window])

const timed = [...kinds.values()].reduce((sum, [n]) => sum + n, 0)
const total = [...kinds.values()].reduce((sum, [, us]) => sum + us, 0)
console.log(`100 nodes, ${steady ? 'simulated 300-600 s of a 10-min run' : 'the whole run to its last step'}: ${timed} inputs, ${(total / 1e6).toFixed(2)} CPU-s in Driver.step, ${(total / timed).toFixed(1)} µs each (load ${(await import('node:os')).loadavg()[0].toFixed(1)}${alloc ? '; slowed by the heap sampler' : ''})`)
console.log('share   count      µs each  input')
for (const [kind, [n, us]] of [...kinds].sort((a, b) => b[1][1] - a[1][1])) {
  console.log(`${(100 * us / total).toFixed(1).padStart(5)}%  ${String(n).padStart(7)}  ${(us / n).toFixed(1).padStart(9)}  ${kind}`)
}
if (profile) {
  const byPackage = new Map()
  let bytes = 0
  const groupOf = (url) => {
    const pkg = url.match(/node_modules\/((@[^/]+\/)?[^/]+)/)
    if (pkg) return pkg[1]
    const own = url.match(/dist\/((src|machines)\/[^/]+)/)
    return own ? own[1].replace(/\.js$/, '') : url ? url.split('/').slice(-1)[0] : ''
  }
  // A native frame (no url) counts for the package that called it.
  const walk = (node, caller) => {
    const group = groupOf(node.callFrame.url) || caller || '(native)'
    byPackage.set(group, (byPackage.get(group) ?? 0) + node.selfSize)
    bytes += node.selfSize
    for (const child of node.children) walk(child, group)
  }
  walk(profile.head)
  const n = inputs1 - inputs0
  console.log(`\nbytes allocated per input: ${Math.round(bytes / n)} (${n} inputs), by package (native calls with their caller):`)
  for (const [group, b] of [...byPackage].sort((x, y) => y[1] - x[1]).slice(0, 12)) {
    console.log(`${String(Math.round(b / n)).padStart(7)}  ${(100 * b / bytes).toFixed(1).padStart(5)}%  ${group}`)
  }
}

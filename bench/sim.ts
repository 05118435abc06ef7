/**
 * The simulator's own figures (issue 11, item 7), written to bench/results/sim.json:
 * - a 1,000-node pubsub network with every fault (the pubsub scenario: wall time, simulated
 *   time, deliveries, latencies in simulated time);
 * - seeds per minute of a 5-node, 60-second pubsub scenario with every fault, through the seed
 *   runner's worker threads (one per core);
 * - simulated time per wall second of the pubsub scenario without faults at 100 and 1,000 nodes
 *   (the whole 65-s run: the network's start, its steps and settling);
 * - the same at 100 nodes in the steady state: the pubsub scenario for 10 minutes simulated (a
 *   publish every 2 s), timed over its last 5 minutes of steps, once the network has formed
 *   (what a running network costs, against the start-up the whole-run figure includes).
 *
 * Run from the repository root, from the build: `npm run build && node dist/bench/sim.js
 * [--quick] [--only large,seeds,speed100,steady100,speed1000] [--prof DIR]` (`--quick`: 200 nodes
 * instead of 1,000 and fewer seeds, a smoke run; `--only`: some of the figures, merged into the
 * results file; `--prof DIR`: a CPU profile of the steady-state window alone, DIR/steady100.cpuprofile).
 * `npx tsx bench/sim.ts` works too, but then every worker thread of the seed runner compiles the
 * TypeScript sources first (about 2.5 CPU-s per worker here), which the seeds-per-minute figure
 * pays. Figures depend on the machine and its load (recorded); CPU time (all threads) is the
 * steadier basis on a shared machine.
 * @module
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import { FAULTS } from '../src/testing/faults.js'
import { runSeeds } from '../src/testing/runner.js'
import type { InvariantFactory } from '../src/testing/invariants.js'
import { runScenario, type RunReport, type World } from '../src/testing/scenario.js'
import { pubsubScenario } from '../src/testing/scenarios.js'
import { load, machineInfo } from './core/util.js'

const quick = process.argv.includes('--quick')
const BIG = quick ? 200 : 1_000
const PARTS = ['large', 'seeds', 'speed100', 'steady100', 'speed1000'] as const
const onlyAt = process.argv.indexOf('--only')
const only = onlyAt > 0 ? (process.argv[onlyAt + 1] ?? '').split(',') : [...PARTS]
for (const part of only) if (!(PARTS as readonly string[]).includes(part)) throw new RangeError(`--only: unknown part "${part}" (known: ${PARTS.join(', ')})`)
const wanted = (part: (typeof PARTS)[number]): boolean => only.includes(part)
const profAt = process.argv.indexOf('--prof')
const profDir = profAt > 0 ? process.argv[profAt + 1] : undefined
/** Whether this runs from the build (the seed runner's workers then load the build too). */
const fromBuild = import.meta.url.endsWith('.js')

/** CPU time of this process, all threads (ms): a better basis than wall time on a shared machine. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

interface Timed { report: RunReport; wallMs: number; cpuMs: number; load: number }

async function timed(nodes: number, steps: number, faults: typeof FAULTS[number][], extra: InvariantFactory[] = []): Promise<Timed> {
  const started = performance.now()
  const cpu = cpuMs()
  const report = await runScenario(pubsubScenario, { seed: 1, nodes, steps, faults }, extra)
  return { report, wallMs: Math.round(performance.now() - started), cpuMs: Math.round(cpuMs() - cpu), load: load() }
}

function speed(r: Timed): Record<string, unknown> {
  return {
    nodes: r.report.params.nodes,
    steps: r.report.params.steps,
    faults: r.report.params.faults,
    simulatedMs: r.report.simulatedMs,
    wallMs: r.wallMs,
    cpuMs: r.cpuMs,
    simulatedPerWallSecond: Number((r.report.simulatedMs / r.wallMs).toFixed(2)),
    simulatedPerCpuSecond: Number((r.report.simulatedMs / r.cpuMs).toFixed(2)),
    inputs: r.report.inputs,
    cpuUsPerInput: Math.round((1000 * r.cpuMs) / r.report.inputs),
    failure: r.report.failure ?? null,
    figures: r.report.figures,
    load: r.load,
  }
}

/** Where the network and its clocks are at one instant of a run. */
interface Mark { simulatedMs: number; wallMs: number; cpuMs: number; inputs: number }

function mark(world: World): Mark {
  return {
    simulatedMs: world.sim.now(),
    wallMs: performance.now(),
    cpuMs: cpuMs(),
    inputs: world.nodes.reduce((sum, n) => sum + n.swarm.stats().inputs, 0),
  }
}

/**
 * The steady state at `nodes` nodes: the pubsub scenario (no faults) for `totalMs` simulated,
 * timed from `fromMs` to its last step (the 15 s of settling after it excluded). It observes the
 * run through the scenario's step hook (an invariant that never fails), so the run is the
 * scenario's own, unchanged. With --prof, the window alone is profiled.
 */
async function steady(nodes: number, fromMs: number, totalMs: number): Promise<Record<string, unknown>> {
  const steps = Math.round((totalMs - pubsubScenario.warmupMs) / pubsubScenario.stepMs)
  let start: Mark | undefined
  let end: Mark | undefined
  let stepsTaken = 0
  const session = profDir === undefined ? undefined : new Session()
  const window: InvariantFactory = () => ({
    name: 'steady-state-window',
    afterStep(world) {
      stepsTaken++
      if (start === undefined && world.sim.now() >= fromMs) {
        start = mark(world)
        if (session) { session.connect(); session.post('Profiler.enable'); session.post('Profiler.start') }
      }
      if (stepsTaken === steps) end = mark(world)
      return undefined
    },
  })
  const whole = await timed(nodes, steps, [], [window])
  if (start === undefined || end === undefined) throw new Error('steady: the window was never reached')
  if (session) await writeProfile(session, 'steady100')
  const simulated = end.simulatedMs - start.simulatedMs
  const wall = end.wallMs - start.wallMs
  const cpu = end.cpuMs - start.cpuMs
  const inputs = end.inputs - start.inputs
  return {
    nodes,
    steps,
    faults: [],
    window: { fromMs: start.simulatedMs, toMs: end.simulatedMs },
    simulatedMs: simulated,
    wallMs: Math.round(wall),
    cpuMs: Math.round(cpu),
    simulatedPerWallSecond: Number((simulated / wall).toFixed(2)),
    simulatedPerCpuSecond: Number((simulated / cpu).toFixed(2)),
    inputs,
    cpuUsPerInput: Math.round((1000 * cpu) / inputs),
    wholeRun: { simulatedMs: whole.report.simulatedMs, wallMs: whole.wallMs, cpuMs: whole.cpuMs, inputs: whole.report.inputs },
    failure: whole.report.failure ?? null,
    figures: whole.report.figures,
    load: whole.load,
  }
}

async function writeProfile(session: Session, name: string): Promise<void> {
  const profile = await new Promise<unknown>((resolve, reject) => {
    session.post('Profiler.stop', (error, result) => (error ? reject(error) : resolve(result.profile)))
  })
  session.disconnect()
  await mkdir(profDir!, { recursive: true })
  await writeFile(join(profDir!, `${name}.cpuprofile`), JSON.stringify(profile))
  process.stderr.write(`wrote ${join(profDir!, `${name}.cpuprofile`)}\n`)
}

async function main(): Promise<void> {
  const out = join(process.cwd(), 'bench', 'results', 'sim.json')
  const previous = only.length < PARTS.length && !quick ? await readPrevious(out) : {}
  const machine = machineInfo()
  /** Each part says when and at which commit it was measured (an `--only` run keeps the others). */
  const measured = { date: machine.date, commit: machine.commit, dirty: machine.dirty }
  const results: Record<string, unknown> = { ...previous, machine, quick, fromBuild }
  if (wanted('large')) {
    process.stderr.write(`pubsub ${BIG} nodes, every fault...\n`)
    results.pubsubLargeWithFaults = { ...speed(await timed(BIG, 20, [...FAULTS])), measured }
  }
  if (wanted('seeds')) {
    process.stderr.write('seeds per minute...\n')
    const seeds = quick ? 8 : 100
    const started = performance.now()
    const cpu = cpuMs()
    const run = await runSeeds({ scenario: 'pubsub', seeds: { from: 1, count: seeds }, nodes: 5, steps: 25, faults: [...FAULTS] })
    const wall = performance.now() - started
    const cpuSeconds = (cpuMs() - cpu) / 1000
    results.seedsPerMinute5Nodes = {
      scenario: 'pubsub, 5 nodes, 25 steps (10 s warm-up + 50 s of steps = 60 s simulated, plus settling), every fault',
      seeds: run.runs,
      failures: run.failures.map((f) => f.command),
      workers: availableParallelism(),
      workersFrom: fromBuild ? 'build' : 'tsx (TypeScript compiled in each worker)',
      wallMs: Math.round(wall),
      seedsPerMinute: Number((run.runs / (wall / 60_000)).toFixed(1)),
      cpuSecondsPerSeed: Number((cpuSeconds / run.runs).toFixed(2)),
      minutesFor1000Seeds: Number((1000 / (run.runs / (wall / 60_000))).toFixed(1)),
      load: load(),
      measured,
    }
  }
  if (wanted('speed100')) {
    process.stderr.write('speed at 100 nodes...\n')
    results.speed100 = { ...speed(await timed(100, 20, [])), measured }
  }
  if (wanted('steady100')) {
    process.stderr.write('steady state at 100 nodes (10 min simulated, the last 5 timed)...\n')
    results.steady100 = { ...(await steady(100, 300_000, 600_000)), measured }
  }
  if (wanted('speed1000')) {
    process.stderr.write(`speed at ${BIG} nodes...\n`)
    results[`speed${BIG}`] = { ...speed(await timed(BIG, 20, [])), measured }
  }
  console.log(JSON.stringify(results, null, 2))
  if (!quick) {
    await mkdir(dirname(out), { recursive: true })
    await writeFile(out, JSON.stringify(results, null, 2) + '\n')
    process.stderr.write(`wrote ${out}\n`)
  }
}

/** The figures of the last full run, kept when `--only` measures some of them again. */
async function readPrevious(file: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>
  } catch {
    return {}
  }
}

await main()

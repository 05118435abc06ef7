/**
 * The simulator's own figures (issue 11, item 7), written to bench/results/sim.json:
 * - a 1,000-node pubsub network with every fault (the pubsub scenario: wall time, simulated
 *   time, deliveries, latencies in simulated time);
 * - seeds per minute of a 5-node, 60-second pubsub scenario with every fault, through the seed
 *   runner's worker threads (one per core);
 * - simulated time per wall second of the pubsub scenario without faults at 100 and 1,000 nodes.
 *
 * Run from the repository root, from the build: `npm run build && node dist/bench/sim.js
 * [--quick] [--only large,seeds,speed100,speed1000]` (`--quick`: 200 nodes instead of 1,000 and
 * fewer seeds, a smoke run; `--only`: some of the figures, merged into the results file).
 * `npx tsx bench/sim.ts` works too, but then every worker thread of the seed runner compiles the
 * TypeScript sources first (about 2.5 CPU-s per worker here), which the seeds-per-minute figure
 * pays. Figures depend on the machine and its load (recorded); CPU time (all threads) is the
 * steadier basis on a shared machine.
 * @module
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import { FAULTS } from '../src/testing/faults.js'
import { runSeeds } from '../src/testing/runner.js'
import { runScenario, type RunReport } from '../src/testing/scenario.js'
import { pubsubScenario } from '../src/testing/scenarios.js'
import { load, machineInfo } from './core/util.js'

const quick = process.argv.includes('--quick')
const BIG = quick ? 200 : 1_000
const PARTS = ['large', 'seeds', 'speed100', 'speed1000'] as const
const onlyAt = process.argv.indexOf('--only')
const only = onlyAt > 0 ? (process.argv[onlyAt + 1] ?? '').split(',') : [...PARTS]
for (const part of only) if (!(PARTS as readonly string[]).includes(part)) throw new RangeError(`--only: unknown part "${part}" (known: ${PARTS.join(', ')})`)
const wanted = (part: (typeof PARTS)[number]): boolean => only.includes(part)
/** Whether this runs from the build (the seed runner's workers then load the build too). */
const fromBuild = import.meta.url.endsWith('.js')

/** CPU time of this process, all threads (ms): a better basis than wall time on a shared machine. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

interface Timed { report: RunReport; wallMs: number; cpuMs: number; load: number }

async function timed(nodes: number, steps: number, faults: typeof FAULTS[number][]): Promise<Timed> {
  const started = performance.now()
  const cpu = cpuMs()
  const report = await runScenario(pubsubScenario, { seed: 1, nodes, steps, faults })
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
  for (const nodes of [100, BIG]) {
    if (!wanted(nodes === 100 ? 'speed100' : 'speed1000')) continue
    process.stderr.write(`speed at ${nodes} nodes...\n`)
    results[`speed${nodes}`] = { ...speed(await timed(nodes, 20, [])), measured }
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

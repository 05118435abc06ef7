/**
 * The seed runner: one scenario over many seeds, in worker threads across the cores. Each
 * failing seed is shrunk where it can be (fewer nodes, fewer steps, fewer faults: a smaller run
 * that fails the same invariant) and reported with a one-line command that replays it exactly.
 *
 * A scenario is named (`pubsub`, `discovery`) or given as `path/to/module.js#exportName` (a
 * module exporting a `Scenario`), so a worker thread can load it by itself. Under tsx (a
 * TypeScript scenario, or this package's own sources) the workers register tsx first.
 * Results are reported in seed order whatever the workers' timing, so the output of a run is a
 * function of its arguments.
 * @module
 */
import { availableParallelism } from 'node:os'
import { isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { FaultName } from './faults.js'
import { runScenario, type RunReport, type Scenario, type ScenarioParams } from './scenario.js'
import { scenarios } from './scenarios.js'

export interface SeedRunOptions {
  /** A built-in scenario's name, or `path/to/module.js#exportName`. */
  scenario: string
  /** The seeds: a list, or `count` seeds from `from`. */
  seeds: number[] | { from: number; count: number }
  nodes?: number
  steps?: number
  faults?: FaultName[]
  /** Worker threads; default the number of cores; 0 runs in this thread. */
  workers?: number
  /** Shrink failing seeds (default true), trying at most `maxShrinkRuns` smaller runs each. */
  shrink?: boolean
  maxShrinkRuns?: number
  /** Stop handing out seeds after the first failure (the seeds in flight still finish). */
  stopAtFailure?: boolean
  /** Hears every run's report as it finishes (in completion order). */
  onReport?: (report: RunReport) => void
}

export interface SeedFailure {
  /** The run as it failed. */
  report: RunReport
  /** The smallest run found that fails the same invariant (the report itself if none). */
  shrunk: RunReport
  /** A command that replays `shrunk` exactly. */
  command: string
}

export interface SeedRunResult {
  scenario: string
  runs: number
  failures: SeedFailure[]
}

/** Find a scenario by name or `module#export`. */
export async function loadScenario(spec: string): Promise<Scenario> {
  const named = scenarios[spec]
  if (named) return named
  const hash = spec.lastIndexOf('#')
  const path = hash > 0 ? spec.slice(0, hash) : spec
  const name = hash > 0 ? spec.slice(hash + 1) : 'default'
  if (!/[./\\]/.test(path)) throw new RangeError(`unknown scenario "${spec}" (known: ${Object.keys(scenarios).join(', ')}, or path/to/module.js#export)`)
  const url = path.startsWith('file:') ? path : pathToFileURL(isAbsolute(path) ? path : resolve(path)).href
  const mod = (await import(url)) as Record<string, unknown>
  const scenario = mod[name] as Scenario | undefined
  if (!scenario || typeof scenario.step !== 'function' || typeof scenario.node !== 'function') {
    throw new TypeError(`scenario "${spec}": the module has no Scenario export named "${name}"`)
  }
  return scenario
}

/** The parameters of a run of `scenario` for `seed`, with the defaults filled in. */
export function paramsFor(scenario: Scenario, seed: number, options: Pick<SeedRunOptions, 'nodes' | 'steps' | 'faults'>): ScenarioParams {
  return { seed, nodes: options.nodes ?? scenario.defaults.nodes, steps: options.steps ?? scenario.defaults.steps, faults: options.faults ?? [] }
}

/** The command line that replays a run. */
export function replayCommand(spec: string, p: ScenarioParams): string {
  const cli = /\.ts(#|$)/.test(spec) ? 'npx tsx src/cli/main.ts' : 'npx xswarm'
  return `${cli} sim --scenario ${spec} --seed ${p.seed} --nodes ${p.nodes} --steps ${p.steps} --faults ${p.faults.length ? p.faults.join(',') : 'none'}`
}

/** Run the scenario over every seed; shrink and report the failures. */
export async function runSeeds(options: SeedRunOptions): Promise<SeedRunResult> {
  const scenario = await loadScenario(options.scenario)
  const range = options.seeds
  const seeds = Array.isArray(range) ? range : Array.from({ length: range.count }, (_, k) => range.from + k)
  const all = seeds.map((seed) => paramsFor(scenario, seed, options))
  const workers = Math.min(options.workers ?? availableParallelism(), all.length)
  const stop = options.stopAtFailure === true
  const reports = workers > 0 ? await inWorkers(options.scenario, all, workers, stop, options.onReport) : await inThread(scenario, all, stop, options.onReport)
  const failures: SeedFailure[] = []
  for (const report of reports) {
    if (!report?.failure) continue
    const shrunk = options.shrink === false ? report : await shrink(scenario, report, options.maxShrinkRuns ?? 24)
    failures.push({ report, shrunk, command: replayCommand(options.scenario, shrunk.params) })
  }
  return { scenario: scenario.name, runs: reports.filter(Boolean).length, failures }
}

async function inThread(scenario: Scenario, all: ScenarioParams[], stop: boolean, onReport?: (r: RunReport) => void): Promise<RunReport[]> {
  const out: RunReport[] = []
  for (const params of all) {
    const report = await runScenario(scenario, params)
    onReport?.(report)
    out.push(report)
    if (stop && report.failure) break
  }
  return out
}

/** Smaller runs that still fail the same invariant: halve nodes, halve steps, drop each fault. */
export async function shrink(scenario: Scenario, failed: RunReport, maxRuns: number): Promise<RunReport> {
  let best = failed
  let runs = 0
  for (let improved = true; improved && runs < maxRuns;) {
    improved = false
    const p = best.params
    const candidates: ScenarioParams[] = []
    if (p.nodes > 2) candidates.push({ ...p, nodes: Math.max(2, Math.floor(p.nodes / 2)) }, { ...p, nodes: p.nodes - 1 })
    if (p.steps > 1) candidates.push({ ...p, steps: Math.floor(p.steps / 2) }, { ...p, steps: p.steps - 1 })
    for (const f of p.faults) candidates.push({ ...p, faults: p.faults.filter((x) => x !== f) })
    for (const params of candidates) {
      if (runs++ >= maxRuns) break
      const report = await runScenario(scenario, params)
      if (report.failure?.invariant === failed.failure?.invariant) {
        best = report
        improved = true
        break
      }
    }
  }
  return best
}

/** Where a worker starts: the compiled worker, or (running from sources) tsx and then the source. */
function workerEntry(): { entry: URL | string; eval: boolean } {
  const self = import.meta.url
  if (self.endsWith('.js')) return { entry: new URL('./worker.js', self), eval: false }
  const source = new URL('./worker.ts', self).href
  return { entry: `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(source)}) })`, eval: true }
}

/** Reports in seed order; with `stop`, only those of the seeds handed out before the first failure came back. */
function inWorkers(spec: string, all: ScenarioParams[], count: number, stop: boolean, onReport?: (r: RunReport) => void): Promise<RunReport[]> {
  const { entry, eval: isEval } = workerEntry()
  const reports = new Array<RunReport>(all.length)
  let next = 0
  let done = 0
  let stopped = false
  return new Promise((resolvePromise, reject) => {
    const pool: Worker[] = []
    const finish = (error?: unknown): void => {
      for (const w of pool) void w.terminate()
      if (error) reject(error instanceof Error ? error : new Error(String(error)))
      else resolvePromise(reports.slice(0, next))
    }
    const feed = (worker: Worker): void => {
      if (next < all.length) {
        const index = next++
        worker.postMessage({ index, params: all[index] })
      }
    }
    for (let w = 0; w < count; w++) {
      const worker = new Worker(entry, { eval: isEval, workerData: { spec } })
      pool.push(worker)
      worker.on('message', (m: { index: number; report?: RunReport; error?: string }) => {
        if (m.error !== undefined) return finish(new Error(`seed ${all[m.index].seed}: ${m.error}`))
        reports[m.index] = m.report!
        onReport?.(m.report!)
        if (stop && m.report!.failure) stopped = true
        if (++done === (stopped ? next : all.length)) return finish()
        if (!stopped) feed(worker)
      })
      worker.on('error', finish)
      feed(worker)
    }
  })
}

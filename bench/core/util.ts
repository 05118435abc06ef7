/**
 * Shared helpers of the core and secure-channel benchmarks: timing, bounds, machine info, the table.
 *
 * Every figure is measured for a bounded time (or a bounded count with a deadline) and written
 * to a JSON file by bench/run.ts; nothing here asserts a figure (figures vary by machine).
 * @module
 */
import { execFileSync } from 'node:child_process'
import { cpus, loadavg, totalmem } from 'node:os'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { AnySwarmEvent as SwarmEvent, Swarm } from '../../src/swarm.js'

/** One measured figure, as written to the results file. */
export interface Figure {
  /** Stable key, e.g. `queue.frame.direct`. */
  name: string
  value: number
  unit: string
  /** What was measured, in one line. */
  note?: string
  /** Extra numbers (counts, elapsed, percentiles). */
  detail?: Record<string, unknown>
}

/** Benchmark size: `quick` for a smoke run (seconds), `full` for the figures we report. */
export interface Budget {
  quick: boolean
  /** Time per throughput figure, ms. */
  ms: number
}

export function machineInfo(): Record<string, unknown> {
  let commit = 'unknown'
  let dirty = false
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'machines'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== ''
  } catch { /* not a git checkout */ }
  const cpu = cpus()
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform} ${process.arch}`,
    cpu: cpu[0]?.model ?? 'unknown',
    cpus: cpu.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    date: new Date().toISOString(),
    commit,
    /** src/ or machines/ had uncommitted changes when measured. */
    dirty,
    gc: hasGc(),
    loadAverage1m: load(),
  }
}

export const now = (): number => performance.now()

/** Resolve on the next turn of the event loop (after IO callbacks). */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Reject after `ms` with a message naming `what` (every benchmark is bounded). */
export async function bounded<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: did not finish within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([work, deadline])
  } finally {
    clearTimeout(timer)
  }
}

/** Result of a rate measurement split in rounds: the median round, the best, and the spread. */
export interface Rate {
  /** Median of the per-round rates (what the table shows). */
  perSec: number
  best: number
  worst: number
  rounds: number
  ops: number
  /** Operations per second of process CPU time (user + system, all threads), when measured. */
  perCpuSecond?: number
}

/** Summarise per-round rates. */
export function summarise(rates: number[], ops: number): Rate {
  const sorted = [...rates].sort((a, b) => a - b)
  return { perSec: percentile(sorted, 0.5), best: sorted[sorted.length - 1], worst: sorted[0], rounds: sorted.length, ops }
}

/**
 * Call `fn` in batches for about `ms` after a warm-up; operations per second as the median of
 * rounds of about `roundMs` (the machine is shared: a median resists a busy neighbour).
 */
export function opsPerSecond(fn: () => unknown, ms: number, batch = 16, roundMs = Math.max(50, ms / 10)): Rate {
  const warmUntil = now() + Math.min(300, ms / 4)
  while (now() < warmUntil) for (let i = 0; i < batch; i++) fn()
  const rates: number[] = []
  let total = 0
  const cpu0 = process.cpuUsage()
  const end = now() + ms
  while (now() < end) {
    let ops = 0
    const start = now()
    let t = start
    while (t - start < roundMs) {
      for (let i = 0; i < batch; i++) fn()
      ops += batch
      t = now()
    }
    rates.push((ops * 1000) / (t - start))
    total += ops
  }
  return withCpu(summarise(rates, total), cpu0, total)
}

function withCpu(rate: Rate, cpu0: NodeJS.CpuUsage, ops: number): Rate {
  const cpu = process.cpuUsage(cpu0)
  return { ...rate, perCpuSecond: (ops * 1e6) / (cpu.user + cpu.system) }
}

/** Like opsPerSecond, but only the time spent in `run` counts (`prepare` is excluded); `batch` ops per run. */
export function timedBatches(ms: number, batch: number, prepare: () => void, run: () => void, roundMs = Math.max(50, ms / 10)): Rate {
  const warmUntil = now() + Math.min(300, ms / 4)
  while (now() < warmUntil) { prepare(); run() }
  const rates: number[] = []
  let total = 0
  let spent = 0
  while (spent < ms) {
    let roundSpent = 0
    let ops = 0
    while (roundSpent < roundMs) {
      prepare()
      const t0 = now()
      run()
      roundSpent += now() - t0
      ops += batch
    }
    spent += roundSpent
    total += ops
    rates.push((ops * 1000) / roundSpent)
  }
  return summarise(rates, total)
}

/** The load average when a figure was taken (the machine may be shared). */
export function load(): number {
  return Math.round(loadavg()[0] * 100) / 100
}

let gcFn: (() => void) | null | undefined

/** A full garbage collection: `global.gc` (node --expose-gc), else enabled at run time through V8 flags. */
export function gc(): void {
  if (gcFn === undefined) {
    gcFn = (globalThis as { gc?: () => void }).gc ?? null
    if (gcFn === null) {
      try {
        setFlagsFromString('--expose-gc')
        gcFn = runInNewContext('gc') as () => void
      } catch {
        gcFn = null
      }
    }
  }
  if (gcFn) {
    gcFn()
    gcFn()
  }
}

/** Whether `gc()` performs a real full collection. */
export function hasGc(): boolean {
  gc()
  return gcFn !== null
}

export function heapUsed(): number {
  gc()
  return process.memoryUsage().heapUsed
}

/** Percentile of sorted numbers. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))]
}

/**
 * Drive a swarm in the background (as a user would: `for await`), calling `onEvent` for every
 * event. Returns a stop function; the loop ends by itself after `swarm.closed`.
 */
export function drive(swarm: Swarm, onEvent: (event: SwarmEvent) => void = () => {}): { done: Promise<void> } {
  const done = (async () => {
    for await (const event of swarm) onEvent(event)
  })()
  return { done }
}

/** Wait until `predicate()` holds, polling each turn, for at most `ms`. */
export async function until(what: string, predicate: () => boolean, ms: number): Promise<void> {
  const deadline = now() + ms
  while (!predicate()) {
    if (now() > deadline) throw new Error(`${what}: not reached within ${ms} ms`)
    await turn()
  }
}

function fmt(value: number): string {
  if (!Number.isFinite(value)) return String(value)
  const abs = Math.abs(value)
  if (abs >= 100) return Math.round(value).toLocaleString('en-US')
  if (abs >= 10) return value.toFixed(1)
  if (abs >= 1) return value.toFixed(2)
  return value.toPrecision(3)
}

/** Print figures as an aligned table. */
export function printTable(title: string, figures: Figure[]): void {
  const rows = figures.map((f) => [f.name, fmt(f.value), f.unit, f.note ?? ''])
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length), 4))
  console.log(`\n== ${title}`)
  for (const r of rows) {
    console.log(`${r[0].padEnd(widths[0])}  ${r[1].padStart(widths[1])}  ${r[2].padEnd(widths[2])}  ${r[3]}`)
  }
}

/** Log progress on stderr (the table goes to stdout). */
export function progress(message: string): void {
  process.stderr.write(`  … ${message}\n`)
}

function round3(x: number): number {
  return Number(x.toPrecision(3))
}

/** A figure from a Rate: the median as value; best, worst, rounds and the load average as detail. */
export function rateFigure(name: string, rate: Rate, unit: string, note: string, detail: Record<string, unknown> = {}): Figure {
  return {
    name, value: rate.perSec, unit, note,
    detail: {
      best: round3(rate.best), worst: round3(rate.worst), rounds: rate.rounds, ops: rate.ops,
      ...(rate.perCpuSecond !== undefined ? { perCpuSecond: round3(rate.perCpuSecond) } : {}),
      load: load(), ...detail,
    },
  }
}

/** Rates between samples `[time ms, cumulative count]`, over windows of about `windowMs`. */
export function rateFromSamples(samples: [number, number][], windowMs: number): Rate {
  const rates: number[] = []
  let from = samples[0]
  for (const s of samples) {
    if (s[0] - from[0] >= windowMs) {
      rates.push(((s[1] - from[1]) * 1000) / (s[0] - from[0]))
      from = s
    }
  }
  const last = samples[samples.length - 1]
  if (rates.length === 0 && last[0] > samples[0][0]) rates.push(((last[1] - samples[0][1]) * 1000) / (last[0] - samples[0][0]))
  return summarise(rates, last[1] - samples[0][1])
}

/**
 * Simulation: many swarms in one process over the in-memory transport, on virtual time.
 *
 * `createSimulation()` gives a shared virtual `scheduler` (pass it to every swarm's
 * `createSwarm({ scheduler, transports: [sim.transport()], seed })`) and `run()`, which drives
 * them all deterministically: deliveries run in FIFO order, swarms are settled in the order
 * they were added, and only when everything is idle does virtual time jump to the next timer.
 * The same seeds and the same calls give the same event log, byte for byte; a day of
 * keep-alives takes milliseconds.
 * @module
 */
import { createMemoryNetwork, type MemoryNetwork } from '../transport/memory.js'
import type { Transport } from '../transport/transport.js'
import type { Swarm, SwarmEvent } from '../swarm.js'
import type { Scheduler } from './clock.js'
import { TimedHeap } from './heap.js'

interface Timer { at: number; seq: number; fn: () => void; cancelled: boolean }

export interface RunOptions {
  /** Stop when this returns true (checked after every round). */
  until?: () => boolean
  /** Stop after this much virtual time (ms) from now. Default 60 s. */
  forMs?: number
  /** Upper bound on rounds, so a livelock ends. Default 1,000,000. */
  maxRounds?: number
}

export interface RunResult {
  /** Virtual time now. */
  now: number
  /** Whether `until` was satisfied. */
  satisfied: boolean
  rounds: number
}

export interface Simulation {
  /** The shared virtual clock. */
  readonly scheduler: Scheduler
  /** The in-memory network (for faults: `network.kill(transport)`). */
  readonly network: MemoryNetwork
  /** A transport on the simulated network, one per swarm. */
  transport(): Transport
  /** Drive `swarm` from now on; `onEvent` sees every event it hands out. */
  add(swarm: Swarm, onEvent?: (event: SwarmEvent) => void): void
  /** Stop driving a swarm (after it closed or was killed). */
  remove(swarm: Swarm): void
  /** Run until `until`, `forMs` of virtual time, or `maxRounds`. */
  run(options?: RunOptions): Promise<RunResult>
  /** Virtual time (ms). */
  now(): number
}

export function createSimulation(): Simulation {
  let now = 0
  let seq = 0
  const timers = new TimedHeap<Timer>()
  const tasks: (() => void)[] = []
  let taskHead = 0
  const swarms: { swarm: Swarm; onEvent?: (event: SwarmEvent) => void }[] = []
  const network = createMemoryNetwork({ schedule: (task) => { tasks.push(task) } })

  const scheduler: Scheduler = {
    now: () => now,
    setTimeout(fn, ms) {
      const timer: Timer = { at: now + Math.max(0, ms), seq: ++seq, fn, cancelled: false }
      timers.push(timer)
      return timer
    },
    clearTimeout(handle) {
      if (handle) (handle as Timer).cancelled = true
    },
  }

  function runTasks(): boolean {
    let ran = false
    while (taskHead < tasks.length) {
      const task = tasks[taskHead++]
      task()
      ran = true
    }
    tasks.length = 0
    taskHead = 0
    return ran
  }

  function settleSwarms(): boolean {
    let busy = false
    for (const entry of swarms) {
      for (;;) {
        const event = entry.swarm.take(256)
        if (event !== undefined) {
          busy = true
          entry.onEvent?.(event)
          continue
        }
        if (entry.swarm.stats().queued > 0) { busy = true; continue }
        break
      }
    }
    return busy
  }

  return {
    scheduler,
    network,
    transport: () => network.transport(),
    add(swarm, onEvent) { swarms.push({ swarm, onEvent }) },
    remove(swarm) {
      const i = swarms.findIndex((e) => e.swarm === swarm)
      if (i >= 0) swarms.splice(i, 1)
    },
    now: () => now,
    async run(options = {}) {
      const end = now + (options.forMs ?? 60_000)
      const maxRounds = options.maxRounds ?? 1_000_000
      let rounds = 0
      while (rounds++ < maxRounds) {
        if (options.until?.()) return { now, satisfied: true, rounds }
        await flushMicrotasks()
        const ran = runTasks()
        const busy = settleSwarms()
        if (ran || busy) continue
        await flushMicrotasks()
        if (tasks.length > 0) continue
        // Idle: jump to the next timer (all timers due at that instant fire, in order).
        while (timers.peek()?.cancelled) timers.pop()
        const next = timers.peek()
        if (!next || next.at > end) {
          now = Math.max(now, end)
          return { now, satisfied: options.until?.() ?? false, rounds }
        }
        now = next.at
        while ((timers.peek()?.at ?? Infinity) <= now) {
          const timer = timers.pop()!
          if (!timer.cancelled) timer.fn()
        }
      }
      return { now, satisfied: options.until?.() ?? false, rounds }
    },
  }
}

/** Let pending promise callbacks (dial results, listener starts) run; deterministic. */
async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 4; i++) await Promise.resolve()
}

/**
 * Simulation: many swarms in one process over the in-memory transport, on virtual time. The
 * one simulator of xswarm: every simulated test, scenario and benchmark runs on it.
 *
 * `createSimulation()` gives a shared virtual `scheduler` (pass it to every swarm's
 * `createSwarm({ scheduler, transports: [sim.transport()], seed })`) and `run()`, which drives
 * them all deterministically: deliveries due now run in FIFO order, swarms are settled in the
 * order they were added, and only when everything is idle does virtual time jump to the next
 * timer or delayed delivery. The same seeds and the same calls give the same event log, byte
 * for byte; a day of keep-alives takes milliseconds.
 *
 * Faults (src/testing/links.ts): `links` sets latency and loss, `partition`/`heal` split the
 * network, `network.reset` and `network.kill` break connections and crash transports, and
 * `skewedScheduler` gives a node a clock that is off and drifts. All randomness is drawn from
 * `seed`.
 * @module
 */
import { createMemoryNetwork, type MemoryNetwork } from '../transport/memory.js'
import type { Transport } from '../transport/transport.js'
import type { AnySwarmEvent as SwarmEvent, Swarm } from '../swarm.js'
import type { Scheduler } from '../runtime/clock.js'
import type { CryptoSuite } from '../../machines/lib/crypto.js'
import { TimedHeap } from './heap.js'
import { LinkModel, type LinkOptions } from './links.js'
import { sharedCryptoSuite } from './shared-crypto.js'

interface Timer { at: number; seq: number; fn: () => void; cancelled: boolean }
interface Entry { swarm: Swarm; onEvent?: (event: SwarmEvent) => void; dirty: boolean; removed: boolean }

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

export interface SimulationOptions {
  /** Seed of the network's randomness (latency jitter, loss). Default 0. */
  seed?: number
  /** Latency and loss of the links; default none (every delivery at once, in FIFO order). */
  links?: LinkOptions
}

export interface Simulation {
  /** The shared virtual clock. */
  readonly scheduler: Scheduler
  /** The in-memory network (for faults: `network.kill(transport)`, `network.reset(cut)`). */
  readonly network: MemoryNetwork
  /** The links' latency, loss and partitions (`links.configure`, `links.partition`, `links.heal`). */
  readonly links: LinkModel
  /**
   * A crypto suite for this simulation's swarms (`createSwarm({ crypto: sim.crypto })`;
   * `SimNode` uses it): node:crypto, with what one node computed handed to the others that ask
   * the same (a DH both ends of a handshake compute, a signature many nodes verify). The same
   * answers, computed once (src/testing/shared-crypto.ts).
   */
  readonly crypto: CryptoSuite
  /**
   * The shared clock as a node with a skewed clock sees it: `offsetMs` ahead (or behind) and
   * running `1 + drift` times as fast (its timers fire that much sooner).
   */
  skewedScheduler(offsetMs: number, drift?: number): Scheduler
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

export function createSimulation(options: SimulationOptions = {}): Simulation {
  let now = 0
  let seq = 0
  const timers = new TimedHeap<Timer>()
  const tasks: (() => void)[] = []
  let taskHead = 0
  const swarms = new Map<Swarm, Entry>()
  const links = new LinkModel(options.seed ?? 0, () => now, options.links)
  const at = (fn: () => void, ms: number): Timer => {
    const timer: Timer = { at: now + Math.max(0, ms), seq: ++seq, fn, cancelled: false }
    timers.push(timer)
    return timer
  }
  const network = createMemoryNetwork({
    schedule: (task, delayMs) => { if (delayMs > 0) at(task, delayMs); else tasks.push(task) },
    links,
  })

  const scheduler: Scheduler = {
    now: () => now,
    setTimeout: at,
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

  /** Swarms with queued inputs, in the order they got them (settled in that order). */
  const dirty: Entry[] = []
  const markDirty = (entry: Entry): void => {
    if (entry.dirty || entry.removed) return
    entry.dirty = true
    dirty.push(entry)
  }

  function settleSwarms(): boolean {
    let busy = false
    for (let i = 0; i < dirty.length; i++) {
      const entry = dirty[i]
      entry.dirty = false
      if (entry.removed) continue
      // take() settles inputs until an event comes out, or returns undefined once the queue is empty.
      for (let event = entry.swarm.take(); event !== undefined; event = entry.swarm.take()) {
        busy = true
        entry.onEvent?.(event)
      }
    }
    dirty.length = 0
    return busy
  }

  return {
    scheduler,
    network,
    links,
    crypto: sharedCryptoSuite(),
    skewedScheduler(offsetMs, drift = 0) {
      if (!Number.isFinite(offsetMs)) throw new RangeError(`"offsetMs" expected a finite number, got ${offsetMs}`)
      if (!(drift > -0.5 && drift < 0.5)) throw new RangeError(`"drift" expected a number in (-0.5, 0.5), got ${drift}`)
      const rate = 1 + drift
      return {
        now: () => offsetMs + now * rate,
        setTimeout: (fn, ms) => at(fn, Math.ceil(ms / rate)),
        clearTimeout: scheduler.clearTimeout,
      }
    },
    transport: () => network.transport(),
    add(swarm, onEvent) {
      if (swarms.has(swarm)) throw new Error('simulation.add: this swarm is already driven')
      const entry: Entry = { swarm, onEvent, dirty: false, removed: false }
      swarms.set(swarm, entry)
      swarm._onInput = () => markDirty(entry)
      markDirty(entry)
    },
    remove(swarm) {
      const entry = swarms.get(swarm)
      if (!entry) return
      entry.removed = true
      swarm._onInput = undefined
      swarms.delete(swarm)
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

/**
 * Swarm test helpers, in the spirit of rust-libp2p's `swarm-test`: make swarms, connect them,
 * drive them until something happens, and close everything afterwards.
 *
 * Why: a swarm only advances while it is driven (its events are taken), so every test would
 * otherwise hand-write the same loops, and a loop with no bound hangs the run instead of failing.
 * Here every wait is bounded (steps and wall time, or virtual time in a simulation) and a
 * timeout says what was awaited and which events were seen last. Events are taken with
 * `swarm.take()` (never a pending `next()` raced against a timer, which would swallow an event).
 * Every event a helper takes is kept in the swarm's log (`eventsOf`).
 *
 * Real swarms listen on ws://127.0.0.1:0; simulated ones on memory://0 of a `Simulation`.
 * Call `cleanupSwarms()` in `afterEach` (or `useSwarmCleanup()` once per file).
 * @module
 */
import { afterEach } from 'vitest'
import { enqueueActions, setup } from 'xstate'
import { defineProtocol, toPeer } from '../../machines/lib/protocol.js'
import { createSwarm, type SwarmOptions } from '../../src/create-swarm.js'
import { createSimulation, type Simulation } from '../../src/testing/simulation.js'
import type { AnySwarmEvent as SwarmEvent, Swarm } from '../../src/swarm.js'
import type { Transport } from '../../src/transport/transport.js'
import type { XswarmError } from '../../src/errors.js'

/** Events taken so far, per swarm (by these helpers or by a simulation's driver). */
const logs = new WeakMap<Swarm, SwarmEvent[]>()
const transports = new WeakMap<Swarm, Transport>()
/** Swarms to close at cleanup: real ones, and simulated ones with their simulation. */
const live: { swarm: Swarm; sim?: Simulation }[] = []

/** The events taken from `swarm` so far, in order. */
export function eventsOf(swarm: Swarm): SwarmEvent[] {
  let log = logs.get(swarm)
  if (!log) logs.set(swarm, (log = []))
  return log
}

/** The transport a simulated test swarm was made with (for `sim.network.kill`). */
export function transportOf(swarm: Swarm): Transport {
  const t = transports.get(swarm)
  if (!t) throw new Error('transportOf: not a simulated test swarm')
  return t
}

/** Take one event (settling inputs as needed) and log it; `undefined` when nothing is queued. */
export function takeLogged(swarm: Swarm, maxSteps = 512): SwarmEvent | undefined {
  const event = swarm.take(maxSteps)
  if (event !== undefined) eventsOf(swarm).push(event)
  return event
}

/** Short text of the last events of a swarm, for timeout messages. */
export function lastEvents(swarm: Swarm, n = 8): string {
  const log = eventsOf(swarm)
  const tail = log.slice(-n).map((e) => JSON.stringify(e, (_k, v) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v)))
  return tail.length === 0 ? '(no events)' : tail.join('\n  ')
}

/** A short name for a swarm in messages. */
export function nameOf(swarm: Swarm): string {
  return swarm.peerId.slice(0, 8)
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

// ---------------------------------------------------------------------------------------------
// Creating swarms

/** A swarm over real WebSockets on 127.0.0.1 (any free port), listening by the time it resolves. */
export async function createTestSwarm(options: SwarmOptions = {}): Promise<Swarm> {
  const swarm = await createSwarm({ listen: ['ws://127.0.0.1:0'], discovery: false, ...options })
  live.push({ swarm })
  if ((options.listen ?? ['x']).length > 0) {
    await nextEvent(swarm, (e) => e.type === 'swarm.listening', { timeoutMs: 5000, what: 'swarm.listening' })
  }
  return swarm
}

/** Options of a simulated test swarm: `seed` is required so that runs replay. */
export type SimSwarmOptions = Omit<SwarmOptions, 'transports' | 'scheduler'> & { seed: number | Uint8Array }

/**
 * A swarm on `sim`'s network and clock, listening on a fresh memory:// name. With `drive`
 * (default true) the simulation drives it (`sim.add`) and logs its events; with `drive: false`
 * the test takes its events itself (`takeLogged`, `nextSimEvent`).
 */
export async function createSimTestSwarm(sim: Simulation, options: SimSwarmOptions, drive = true): Promise<Swarm> {
  const transport = sim.transport()
  const swarm = await createSwarm({ listen: ['memory://0'], discovery: false, ...options, transports: [transport], scheduler: sim.scheduler })
  transports.set(swarm, transport)
  live.push({ swarm, sim })
  if (drive) {
    const log = eventsOf(swarm)
    sim.add(swarm, (e) => log.push(e))
    if ((options.listen ?? ['x']).length > 0) {
      const r = await sim.run({ until: () => log.some((e) => e.type === 'swarm.listening'), forMs: 1000 })
      if (!r.satisfied) throw new Error(`simulated swarm ${nameOf(swarm)} did not start listening`)
    }
  } else {
    // Settle the listener input so `addresses` is known.
    if ((options.listen ?? ['x']).length > 0) await nextSimEvent(sim, swarm, (e) => e.type === 'swarm.listening', { what: 'swarm.listening' })
  }
  return swarm
}

// ---------------------------------------------------------------------------------------------
// Waiting for events

export interface WaitOptions {
  /** Wall-clock bound. Default 5 s. */
  timeoutMs?: number
  /** What is awaited, for the error message. */
  what?: string
}

/**
 * Drive `swarm` (real IO) by taking its events until one matches `predicate`, and return it.
 * Events that do not match are logged and dropped. Times out with an error naming what was
 * awaited and the last events seen.
 */
export async function nextEvent<E extends SwarmEvent = SwarmEvent>(
  swarm: Swarm,
  predicate: (event: SwarmEvent) => boolean,
  options: WaitOptions = {},
): Promise<E> {
  const timeoutMs = options.timeoutMs ?? 5000
  const deadline = Date.now() + timeoutMs
  for (;;) {
    for (let i = 0; i < 256; i++) {
      const event = takeLogged(swarm)
      if (event === undefined) break
      if (predicate(event)) return event as E
      if (event.type === 'swarm.closed') {
        throw new Error(`swarm ${nameOf(swarm)} closed while waiting for ${options.what ?? 'an event'}; last events:\n  ${lastEvents(swarm)}`)
      }
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what ?? 'an event'} on ${nameOf(swarm)}; last events:\n  ${lastEvents(swarm)}`)
    }
    if (swarm.stats().queued > 0) await turn()
    else await sleep(1)
  }
}

/** Like `nextEvent`, for a swarm of a simulation that the test drives itself (not `sim.add`ed). */
export async function nextSimEvent<E extends SwarmEvent = SwarmEvent>(
  sim: Simulation,
  swarm: Swarm,
  predicate: (event: SwarmEvent) => boolean,
  options: { forMs?: number; what?: string } = {},
): Promise<E> {
  let found: SwarmEvent | undefined
  const forMs = options.forMs ?? 60_000
  const r = await sim.run({
    forMs,
    until: () => {
      if (found) return true
      for (let event = takeLogged(swarm); event !== undefined; event = takeLogged(swarm)) {
        if (predicate(event)) {
          found = event
          return true
        }
      }
      return false
    },
  })
  if (!found || !r.satisfied) {
    throw new Error(`no ${options.what ?? 'matching event'} on ${nameOf(swarm)} within ${forMs} ms of virtual time; last events:\n  ${lastEvents(swarm)}`)
  }
  return found as E
}

export interface DriveOptions {
  /** Bound on events taken in all. Default 1,000,000. */
  maxSteps?: number
  /** Wall-clock bound. Default 10 s. */
  timeoutMs?: number
  /** What is awaited, for the error message. */
  what?: string
  /** Sees every event taken, with its swarm. */
  onEvent?: (swarm: Swarm, event: SwarmEvent) => void
}

/**
 * Drive several real swarms concurrently (round robin, a few events each per turn) until
 * `until()` holds. Every event is logged (`eventsOf`) and passed to `onEvent`.
 */
export async function drive(swarms: Swarm[], until: () => boolean, options: DriveOptions = {}): Promise<void> {
  const maxSteps = options.maxSteps ?? 1_000_000
  const timeoutMs = options.timeoutMs ?? 10_000
  const deadline = Date.now() + timeoutMs
  let steps = 0
  for (;;) {
    if (until()) return
    let took = false
    for (const swarm of swarms) {
      for (let i = 0; i < 64; i++) {
        const event = takeLogged(swarm)
        if (event === undefined) break
        took = true
        steps++
        options.onEvent?.(swarm, event)
        if (until()) return
      }
    }
    const fail = steps >= maxSteps ? `${maxSteps} events` : Date.now() > deadline ? `${timeoutMs} ms` : null
    if (fail) {
      const tails = swarms.map((s) => `${nameOf(s)}:\n  ${lastEvents(s, 5)}`).join('\n')
      throw new Error(`drive: gave up after ${fail} waiting for ${options.what ?? 'the condition'}; last events:\n${tails}`)
    }
    if (took || swarms.some((s) => s.stats().queued > 0)) await turn()
    else await sleep(1)
  }
}

/** Dial `b` from `a` and drive both until each has taken `peer.connected` for the other. */
export async function connect(a: Swarm, b: Swarm, options: { timeoutMs?: number } = {}): Promise<void> {
  const address = b.addresses[0]
  if (!address) throw new Error(`connect: ${nameOf(b)} has no address (not listening yet?)`)
  a.dial(address)
  await drive([a, b], () => a.isConnected(b.peerId) && b.isConnected(a.peerId), {
    timeoutMs: options.timeoutMs ?? 5000,
    what: `${nameOf(a)} <-> ${nameOf(b)} peer.connected`,
    onEvent: (s, e) => {
      if (e.type === 'dial.failed' && s === a) throw new Error(`connect: dial ${address} failed: ${String((e as { reason: string }).reason)}`)
    },
  })
}

/** Run the simulation until `promise` settles (within `forMs` of virtual time); its outcome. */
export async function simOutcome<T>(sim: Simulation, promise: Promise<T>, forMs = 30_000): Promise<{ value?: T; error?: XswarmError }> {
  let out: { value?: T; error?: XswarmError } | undefined
  promise.then((value) => { out = { value } }, (error) => { out = { error } })
  await sim.run({ until: () => out !== undefined, forMs })
  if (!out) throw new Error('the promise did not settle')
  return out
}

/** Connect two simulated swarms (both driven by `sim`). */
export async function connectSim(sim: Simulation, a: Swarm, b: Swarm, forMs = 5000): Promise<void> {
  a.dial(b.addresses[0])
  const r = await sim.run({ until: () => a.isConnected(b.peerId) && b.isConnected(a.peerId), forMs })
  if (!r.satisfied) {
    throw new Error(`connectSim: ${nameOf(a)} <-> ${nameOf(b)} not connected within ${forMs} ms of virtual time; last events:\n  ${lastEvents(a)}\n  ${lastEvents(b)}`)
  }
}

/** A new simulation with two connected swarms (seeds `seed` and `seed + 1`), B having dialed A. */
export async function simPair(seed: number, options: Omit<SimSwarmOptions, 'seed'> = {}): Promise<{ sim: Simulation; a: Swarm; b: Swarm }> {
  const sim = createSimulation()
  const a = await createSimTestSwarm(sim, { ...options, seed })
  const b = await createSimTestSwarm(sim, { ...options, seed: seed + 1 })
  await connectSim(sim, b, a)
  return { sim, a, b }
}

// ---------------------------------------------------------------------------------------------
// Cleanup

/** Close every swarm made by these helpers (bounded); sims are run until their swarms closed. */
export async function cleanupSwarms(timeoutMs = 5000): Promise<void> {
  const all = live.splice(0)
  const closing = all.map(({ swarm, sim }) => {
    let done = false
    const p = swarm.close().then(() => { done = true })
    return { swarm, sim, p, isDone: () => done }
  })
  const sims = new Set(closing.flatMap((c) => (c.sim ? [c.sim] : [])))
  for (const sim of sims) {
    const mine = closing.filter((c) => c.sim === sim)
    for (let i = 0; i < 10 && !mine.every((c) => c.isDone()); i++) {
      await sim.run({ until: () => mine.every((c) => c.isDone()), forMs: 10_000 })
      await turn()
    }
  }
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs) })
  const result = await Promise.race([Promise.all(closing.map((c) => c.p)).then(() => 'ok' as const), timeout])
  clearTimeout(timer)
  if (result === 'timeout') {
    const stuck = closing.filter((c) => !c.isDone()).map((c) => nameOf(c.swarm))
    throw new Error(`cleanup: ${stuck.length} swarm(s) did not close within ${timeoutMs} ms: ${stuck.join(', ')}`)
  }
}

/** Register `cleanupSwarms` as an `afterEach` of the calling test file. */
export function useSwarmCleanup(): void {
  afterEach(async () => {
    await cleanupSwarms()
  })
}

// ---------------------------------------------------------------------------------------------
// A user protocol for tests: numbered messages, optionally echoed.

/** Wire id of the test protocol. */
export const NUMBERS_ID = '/test/numbers/1'

/** Wire body: `['n', i]` a numbered message, `['e', i]` its echo. */
export type NumbersMessage = ['n' | 'e', number]

/**
 * A tiny user protocol, written with the public protocol API: the command
 * `{ type: 'numbers.send', peer, count, from? }` sends `count` numbered messages to `peer`;
 * each one received is output as `numbers.got {peer, n}` and, with `echo`, sent back, and an
 * echo received is output as `numbers.echoed {peer, n}`.
 */
export function numbersProtocol(options: { echo?: boolean } = {}) {
  const echo = options.echo ?? false
  const machine = setup({
    actions: {
      sendMany: enqueueActions(({ event, enqueue }) => {
        const e = event as unknown as { peer: string; count: number; from?: number }
        const from = e.from ?? 1
        for (let i = from; i < from + e.count; i++) enqueue.emit(toPeer(NUMBERS_ID, e.peer, ['n', i]) as never)
      }),
      receive: enqueueActions(({ event, enqueue }) => {
        const { peer, body } = event as unknown as { peer: string; body: NumbersMessage }
        if (body[0] === 'e') return enqueue.emit({ type: 'numbers.echoed', peer, n: body[1] } as never)
        enqueue.emit({ type: 'numbers.got', peer, n: body[1] } as never)
        if (echo) enqueue.emit(toPeer(NUMBERS_ID, peer, ['e', body[1]]) as never)
      }),
    },
  }).createMachine({
    id: 'numbers',
    on: {
      'numbers.send': { actions: 'sendMany' },
      message: { actions: 'receive' },
    },
  })
  return defineProtocol<NumbersMessage>({
    id: NUMBERS_ID,
    machine,
    parse: (body) =>
      Array.isArray(body) && body.length === 2 && (body[0] === 'n' || body[0] === 'e') && Number.isSafeInteger(body[1])
        ? (body as NumbersMessage)
        : undefined,
  })
}

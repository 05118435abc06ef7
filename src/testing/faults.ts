/**
 * Seeded faults for a simulated run: which ones (`parseFaults`), and a plan drawn from the seed
 * that the simulation carries out on virtual time (`planFaults`, `applyFaults`).
 *
 * | name      | what happens                                                                 |
 * |-----------|------------------------------------------------------------------------------|
 * | latency   | every link gets a base delay of 1-40 ms (fixed per link)                     |
 * | reorder   | a per-message jitter (mean 15 ms): messages of different connections overtake each other, never within one |
 * | reset     | now and then one node's connections to another are reset (both ends: connection-lost) |
 * | loss      | one message in 2,000 is lost and, as on a real transport, its connection breaks |
 * | partition | the nodes are split in two groups for a while, then healed                  |
 * | crash     | a node crashes (no goodbyes) and restarts 2-10 s later with its persisted state |
 * | skew      | every node's clock is off by up to ±30 s and drifts by up to ±1 %          |
 *
 * A plan is data (times and node indices), so a shrinker can drop faults one by one and a
 * report can print what happened.
 * @module
 */
import { createRng, nextFloat, nextInt } from '../../machines/lib/rng.js'
import type { SimNode } from './node.js'
import type { Simulation } from './simulation.js'

export const FAULTS = ['latency', 'reorder', 'reset', 'loss', 'partition', 'crash', 'skew'] as const
export type FaultName = (typeof FAULTS)[number]

/** `none`, `all`, or a comma-separated list of fault names. */
export function parseFaults(text: string): FaultName[] {
  if (text === 'none' || text === '') return []
  if (text === 'all') return [...FAULTS]
  const names = text.split(',').map((s) => s.trim())
  for (const name of names) {
    if (!(FAULTS as readonly string[]).includes(name)) {
      throw new RangeError(`unknown fault "${name}" (known: none, all, ${FAULTS.join(', ')})`)
    }
  }
  return FAULTS.filter((f) => names.includes(f))
}

/** One scheduled fault. */
export type FaultEvent =
  | { at: number; kind: 'reset'; a: number; b: number }
  | { at: number; kind: 'partition'; until: number; side: number[] }
  | { at: number; kind: 'crash'; node: number; restartAt: number }

export interface FaultPlan {
  faults: FaultName[]
  events: FaultEvent[]
  /** Per node: clock offset (ms) and drift, when `skew` is on. */
  skew: Array<{ offsetMs: number; drift: number }> | undefined
}

/** Draw the plan for `nodes` nodes over `durationMs` of virtual time from `seed`. */
export function planFaults(seed: number, faults: FaultName[], nodes: number, durationMs: number): FaultPlan {
  const rng = createRng(seed ^ 0x5eed_f417)
  const on = new Set(faults)
  const events: FaultEvent[] = []
  const when = (): number => 1_000 + Math.floor(nextFloat(rng) * Math.max(1, durationMs - 1_000))
  if (on.has('reset') && nodes > 1) {
    const count = 1 + nextInt(rng, 4)
    for (let k = 0; k < count; k++) {
      const a = nextInt(rng, nodes)
      events.push({ at: when(), kind: 'reset', a, b: (a + 1 + nextInt(rng, nodes - 1)) % nodes })
    }
  }
  if (on.has('partition') && nodes > 1) {
    const at = when()
    const side = Array.from({ length: nodes }, () => nextInt(rng, 2))
    events.push({ at, kind: 'partition', until: at + 2_000 + nextInt(rng, 15_000), side })
  }
  if (on.has('crash') && nodes > 1) {
    const at = when()
    events.push({ at, kind: 'crash', node: 1 + nextInt(rng, nodes - 1), restartAt: at + 2_000 + nextInt(rng, 8_000) })
  }
  events.sort((x, y) => x.at - y.at)
  const skew = on.has('skew')
    ? Array.from({ length: nodes }, () => ({ offsetMs: nextInt(rng, 60_001) - 30_000, drift: (nextInt(rng, 2_001) - 1_000) / 100_000 }))
    : undefined
  return { faults: [...faults], events, skew }
}

/** Latency and loss of the links for a set of faults. */
export function linkOptionsFor(faults: FaultName[]): { latency: { min: number; max: number; jitter: number }; loss: number } {
  const on = new Set(faults)
  return {
    latency: { min: on.has('latency') ? 1 : 0, max: on.has('latency') ? 40 : 0, jitter: on.has('reorder') ? 15 : 0 },
    loss: on.has('loss') ? 1 / 2_000 : 0,
  }
}

/** One line per fault, for reports. */
export function describeFault(event: FaultEvent): string {
  switch (event.kind) {
    case 'reset': return `${event.at} ms: reset n${event.a}-n${event.b}`
    case 'partition': return `${event.at} ms: partition {${event.side.map((s, i) => (s === 0 ? `n${i}` : '')).filter(Boolean).join(',')}} until ${event.until} ms`
    case 'crash': return `${event.at} ms: crash n${event.node}, restart at ${event.restartAt} ms`
  }
}

/**
 * Carry out the plan's scheduled faults on `sim` (latency, loss and skew are set up when the
 * simulation and its nodes are made). `onFault` hears each one as it happens.
 */
export function applyFaults(sim: Simulation, nodes: SimNode[], plan: FaultPlan, onFault: (line: string) => void = () => {}): void {
  for (const event of plan.events) {
    sim.scheduler.setTimeout(() => {
      onFault(describeFault(event))
      switch (event.kind) {
        case 'reset': {
          const a = nodes[event.a], b = nodes[event.b]
          if (a.alive && b.alive) sim.network.reset((x, y) => (x === a.linkId && y === b.linkId) || (x === b.linkId && y === a.linkId))
          return
        }
        case 'partition': {
          const sideOf = new Map(nodes.map((n) => [n.linkId, event.side[n.index]]))
          sim.links.partition((id) => sideOf.get(id) ?? -1)
          sim.scheduler.setTimeout(() => { onFault(`${event.until} ms: heal`); sim.links.heal() }, event.until - event.at)
          return
        }
        case 'crash': {
          const node = nodes[event.node]
          node.crash()
          sim.scheduler.setTimeout(() => { void node.restart() }, event.restartAt - event.at)
          return
        }
      }
    }, Math.max(0, event.at - sim.now()))
  }
}


/**
 * Scenarios and one run of a scenario: the simulator, its nodes, the faults drawn from the seed,
 * the steps, the invariants, and a report. `runScenario` is a function of its parameters: the
 * same scenario, seed, node count, steps and faults give the same report, byte for byte.
 *
 * A run: make the simulation (links per the faults) and the nodes (clock skew per the faults),
 * `start`, let it warm up, schedule the planned faults, take `steps` steps `stepMs` apart, heal
 * every partition, let the network settle for `settleMs`, then check the invariants.
 * @module
 */
import type { AnySwarmEvent as SwarmEvent } from '../swarm.js'
import { applyFaults, linkOptionsFor, planFaults, type FaultName, type FaultPlan } from './faults.js'
import { coreInvariants, type InvariantFactory, type Invariant, type LooseEvent } from './invariants.js'
import { SimNode, startNodes, type SimNodeOptions } from './node.js'
import { createSimulation, type Simulation } from './simulation.js'

/** What a run is a function of. */
export interface ScenarioParams {
  seed: number
  nodes: number
  steps: number
  faults: FaultName[]
}

/** A scenario: how to build the network and what to do in it. */
export interface Scenario {
  name: string
  defaults: { nodes: number; steps: number }
  /** Virtual time before the first step (ms). */
  warmupMs: number
  /** Virtual time between steps (ms). */
  stepMs: number
  /** Virtual time after the last step, faults healed, before the final checks (ms). */
  settleMs: number
  /** Options of node `i` (its seed and skew are the runner's); `before` are the nodes already made. */
  node(i: number, before: SimNode[], world: World): Omit<SimNodeOptions, 'seed' | 'skew'>
  /** Once, after every node started. */
  start?(world: World): void
  /** Each time a node starts listening: at the start and after every restart (subscribe, ...). */
  nodeStarted?(world: World, node: SimNode): void
  /** Step `k`: one action (publish, look up, ...), drawn from `world.random`. */
  step(world: World, k: number): void
  /** The scenario's own invariants (the core ones are always checked). */
  invariants: InvariantFactory[]
  /** Figures for the report (simulated time only: they must be a function of the parameters). */
  figures(world: World): Record<string, number | string>
}

export interface Failure { invariant: string; message: string; at: number }

export interface RunReport {
  scenario: string
  params: ScenarioParams
  failure: Failure | undefined
  simulatedMs: number
  events: number
  inputs: number
  faults: string[]
  figures: Record<string, number | string>
}

/** The running network a scenario and its invariants see. */
export class World {
  nodes: SimNode[] = []
  readonly faultLog: string[] = []
  events = 0
  failure: Failure | undefined
  /** Scratch space for a scenario's own bookkeeping (figures). */
  readonly data: Record<string, unknown> = {}
  private rngState: number
  /** Times when something broke (a disconnect seen anywhere, a crash, a partition's span). */
  private readonly disturbances: Array<[number, number]> = []
  /** Per node: the last time it had no peer (or started). */
  private readonly aloneAt = new Map<number, number>()

  constructor(
    readonly sim: Simulation,
    readonly params: ScenarioParams,
    readonly plan: FaultPlan,
    private readonly invariants: Invariant[],
    private readonly scenario: Scenario,
  ) {
    this.rngState = (params.seed ^ 0x2545f491) >>> 0 || 1
    for (const event of plan.events) {
      const end = event.kind === 'partition' ? event.until : event.kind === 'crash' ? event.restartAt : event.at
      this.disturbances.push([event.at, end])
    }
  }

  /** A number in [0, n) from the scenario's own seeded stream (xorshift32). */
  random(n: number): number {
    let x = this.rngState
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    this.rngState = x
    return x % n
  }

  /** Whether nothing broke between `from` and `to`. */
  quiet(from: number, to: number): boolean {
    return this.disturbances.every(([a, b]) => b < from || a > to)
  }

  /** Whether node `i` has had at least one peer all the time since `t`. */
  connectedSince(i: number, t: number): boolean {
    const node = this.nodes[i]
    return node.alive && node.swarm.peers().length > 0 && (this.aloneAt.get(i) ?? 0) < t
  }

  fail(invariant: string, message: string): void {
    this.failure ??= { invariant, message, at: this.sim.now() }
  }

  /** @internal every event every node hands out. */
  onEvent(node: SimNode, event: SwarmEvent): void {
    this.events++
    const now = this.sim.now()
    if (event.type === 'peer.disconnected') this.disturbances.push([now, now])
    if (event.type === 'swarm.listening') this.scenario.nodeStarted?.(this, node)
    if (event.type === 'swarm.listening' || (event.type === 'peer.disconnected' && node.swarm.peers().length === 0)) this.aloneAt.set(node.index, now)
    if (this.failure) return
    for (const inv of this.invariants) {
      const message = inv.onEvent?.(this, node, event as LooseEvent)
      if (message !== undefined) return this.fail(inv.name, message)
    }
  }

  /** @internal */
  afterStep(): void {
    if (this.failure) return
    for (const inv of this.invariants) {
      const message = inv.afterStep?.(this)
      if (message !== undefined) return this.fail(inv.name, message)
    }
  }

  /** @internal */
  checkAll(): void {
    if (this.failure) return
    for (const inv of this.invariants) {
      const message = inv.check?.(this)
      if (message !== undefined) return this.fail(inv.name, message)
    }
  }
}

/** Run `scenario` once with `params`; `extra` invariants are checked too. */
export async function runScenario(scenario: Scenario, params: ScenarioParams, extra: InvariantFactory[] = []): Promise<RunReport> {
  checkParams(params)
  const duration = scenario.warmupMs + params.steps * scenario.stepMs
  const plan = planFaults(params.seed, params.faults, params.nodes, duration)
  const sim = createSimulation({ seed: params.seed, links: linkOptionsFor(params.faults) })
  const invariants = [...coreInvariants, ...scenario.invariants, ...extra].map((make) => make())
  const world = new World(sim, params, plan, invariants, scenario)
  world.nodes = await startNodes(sim, params.nodes, (i, before) => ({
    ...scenario.node(i, before, world),
    seed: params.seed * 4096 + i,
    ...(plan.skew ? { skew: plan.skew[i] } : {}),
  }), (node, event) => world.onEvent(node, event))
  scenario.start?.(world)
  applyFaults(sim, world.nodes, plan, (line) => world.faultLog.push(line))
  await sim.run({ forMs: scenario.warmupMs, until: () => world.failure !== undefined })
  for (let k = 0; k < params.steps && !world.failure; k++) {
    scenario.step(world, k)
    await sim.run({ forMs: scenario.stepMs, until: () => world.failure !== undefined })
    world.afterStep()
  }
  // Let every planned fault end (restarts, heals), then settle.
  const lastFault = Math.max(0, ...plan.events.map((e) => (e.kind === 'partition' ? e.until : e.kind === 'crash' ? e.restartAt : e.at)))
  if (!world.failure) await sim.run({ forMs: Math.max(0, lastFault - sim.now()) + scenario.settleMs, until: () => world.failure !== undefined })
  world.checkAll()
  const report: RunReport = {
    scenario: scenario.name,
    params,
    failure: world.failure,
    simulatedMs: sim.now(),
    events: world.events,
    inputs: world.nodes.reduce((sum, n) => sum + n.swarm.stats().inputs, 0),
    faults: world.faultLog,
    figures: scenario.figures(world),
  }
  for (const node of world.nodes) node.crash()
  return report
}

function checkParams(p: ScenarioParams): void {
  if (!Number.isSafeInteger(p.seed) || p.seed < 0 || p.seed > 2 ** 32) throw new RangeError(`"seed" expected an integer in 0..2^32, got ${p.seed}`)
  if (!Number.isSafeInteger(p.nodes) || p.nodes < 1 || p.nodes > 10_000) throw new RangeError(`"nodes" expected an integer in 1..10000, got ${p.nodes}`)
  if (!Number.isSafeInteger(p.steps) || p.steps < 0 || p.steps > 1_000_000) throw new RangeError(`"steps" expected an integer in 0..1000000, got ${p.steps}`)
}

/**
 * Model-based testing of a statechart with `xstate/graph`, replayed on real actors: the shared
 * procedure behind the model tests of the reshaped charts (pubsub, root swarm).
 *
 * 1. `getAdjacencyMap` walks the model (the machine, usually with its data-mutating actions
 *    replaced by no-ops so that the walk does not share mutable data between branches) from its
 *    initial state with sample events, one or more per event type.
 * 2. Every edge (the shortest path to its source plus the edge's event) is replayed on a real
 *    actor of the unmodified machine, which must reach the state the model predicts.
 * 3. The `@xstate.microstep` inspection events of all replays must together have entered every
 *    state node and taken every transition definition of the machine (guarded branches
 *    included): the samples are chosen so that the real data makes each guard decide both ways.
 *
 * A sample may carry `before`: inputs the replay sends just before it (to prepare the data a
 * guard reads, e.g. subscribe once before "subscribe again"); the walk sees only the event.
 * @module
 */
import { expect } from 'vitest'
import type { AnyMachineSnapshot, AnyStateMachine, AnyTransitionDefinition, InspectionEvent } from 'xstate'
import { getAdjacencyMap, getShortestPaths, getStateNodes } from 'xstate/graph'

export type Ev = { type: string; [k: string]: unknown }
export type Sample = Ev & { before?: Ev[] }

export interface WalkSpec {
  /** The machine under test (replayed, and whose transitions must all be taken). */
  machine: AnyStateMachine
  /** What the graph walks (default: `machine`). */
  model?: AnyStateMachine
  input?: unknown
  /** Several inputs (e.g. configurations that decide an initial `always`): each is walked, and the coverage is their union. */
  inputs?: unknown[]
  /** Sample events for a model state. */
  samples(snapshot: AnyMachineSnapshot): Sample[]
  /** A model state as a string (default: its value). */
  serialize?(snapshot: AnyMachineSnapshot): string
  /**
   * Start a real actor with `inspect` as its inspection observer; `send` feeds one event
   * (`xstate.after.<delay>.<id>` means: let that delay pass); `snapshot` reads the actor of
   * `machine`.
   */
  start(inspect: (event: InspectionEvent) => void, input: unknown): { send(event: Ev): void; snapshot(): AnyMachineSnapshot }
}

export interface WalkResult { edges: number; states: number }

/** Every transition definition of the machine, with a readable name. */
function allTransitions(machine: AnyStateMachine): Map<AnyTransitionDefinition, string> {
  const out = new Map<AnyTransitionDefinition, string>()
  for (const node of [machine.root, ...getStateNodes(machine.root)]) {
    for (const [type, list] of node.transitions) list.forEach((t, i) => out.set(t, `${node.id} --${type}[${i}]${t.guard ? ` [${typeof t.guard === 'string' ? t.guard : (t.guard as { type?: string }).type ?? 'guard'}]` : ''}-->`))
    ;(node.always ?? []).forEach((t, i) => out.set(t, `${node.id} --always[${i}]-->`))
  }
  return out
}

/** Walk, replay every edge, and assert full state and transition coverage. */
export function walkAndReplay(spec: WalkSpec): WalkResult {
  const machine = spec.machine
  const serialize = spec.serialize ?? ((s: AnyMachineSnapshot) => JSON.stringify(s.value))
  const events = (s: AnyMachineSnapshot): Sample[] => (s.status === 'done' ? [] : spec.samples(s))
  const model = spec.model ?? machine
  const taken = new Set<AnyTransitionDefinition>()
  const entered = new Set<string>()
  const inspect = (ev: InspectionEvent): void => {
    if (ev.type !== '@xstate.microstep') return
    const snap = ev.snapshot as AnyMachineSnapshot
    if (snap.machine !== machine) return
    for (const t of (ev as unknown as { _transitions: AnyTransitionDefinition[] })._transitions) {
      taken.add(t)
      entered.add(t.source.id) // transient states are left within the same macrostep
    }
    for (const node of snap._nodes) entered.add(node.id)
  }
  let edges = 0
  let states = 0
  for (const input of spec.inputs ?? [spec.input]) {
    const options = { input, events, serializeState: serialize, limit: 10_000 }
    const adjacency = getAdjacencyMap(model, options as never)
    states += Object.keys(adjacency).length
    const shortest = new Map<string, Sample[]>()
    for (const path of getShortestPaths(model, options as never)) {
      shortest.set(serialize(path.state as AnyMachineSnapshot), path.steps.map((s) => s.event as Sample).filter((e) => e.type !== 'xstate.init'))
    }
    for (const [source, { transitions }] of Object.entries(adjacency)) {
      const head = shortest.get(source)
      expect(head, `no path to ${source}`).toBeDefined()
      for (const { event, state: target } of Object.values(transitions) as { event: Sample; state: AnyMachineSnapshot }[]) {
        const path = [...head!, event]
        const actor = spec.start(inspect, input)
        for (const node of actor.snapshot()._nodes) entered.add(node.id)
        for (const step of path) {
          for (const pre of step.before ?? []) actor.send(pre)
          const { before: _, ...plain } = step
          actor.send(plain)
        }
        const label = `${source} + ${event.type} (path: ${path.map((e) => e.type).join(' → ')})`
        expect(serialize(actor.snapshot()), label).toBe(serialize(target))
        edges++
      }
    }
  }
  const nodes = [machine.root, ...getStateNodes(machine.root)].map((n) => n.id)
  expect(nodes.filter((id) => !entered.has(id)), 'state nodes never entered').toEqual([])
  const missing = [...allTransitions(machine)].filter(([t]) => !taken.has(t)).map(([, label]) => label)
  expect(missing, 'transitions never taken').toEqual([])
  return { edges, states }
}

/** The machine with every named action replaced by a no-op (for the walk; guards stay real). */
export function withoutActions(machine: AnyStateMachine): AnyStateMachine {
  const noop = Object.fromEntries(Object.keys(machine.implementations.actions).map((name) => [name, () => {}]))
  return machine.provide({ actions: noop as never })
}

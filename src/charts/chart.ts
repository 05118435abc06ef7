/**
 * `chartOf(machine)`: the statechart of an XState machine as plain data: its states (nested,
 * with type, initial child, entry/exit actions and invoked actors) and every transition (event,
 * delayed, eventless, done) with its targets, guard and actions by name.
 *
 * Why: the generated editor source (source.ts), the SVG diagram (svg.ts) and the live page all
 * draw from this one model, and the export test compares the model of a machine with the model
 * of its generated source. It reads XState's parsed state-node tree (what actually runs, with
 * targets resolved), not `machine.toJSON()`, which drops `always` transitions.
 * Inline sources get names: a built-in action creator its kind (`assign`, `emit`, `raise`, …),
 * a named function its name, anything else `inline`; `not`/`and`/`or` guards read `not(x)`.
 * @module
 */
import type { AnyStateMachine } from 'xstate'

export type StateType = 'atomic' | 'compound' | 'parallel' | 'final' | 'history'

export interface ChartState {
  /** The state's id (`machineId.path.to.state`, or its own `id`). */
  id: string
  key: string
  type: StateType
  /** Id of the initial child (compound states). */
  initial?: string
  history?: 'shallow' | 'deep'
  /** Set when the state has an explicit `id` in its config. */
  ownId?: string
  description?: string
  tags: string[]
  entry: string[]
  exit: string[]
  invoke: { id: string; src: string }[]
  children: ChartState[]
}

export type TransitionKind = 'on' | 'after' | 'always' | 'done' | 'invoke.done' | 'invoke.error'

export interface ChartTransition {
  /** Id of the state the transition leaves from. */
  source: string
  kind: TransitionKind
  /** The event type as XState sees it (`xstate.after.<delay>.<state>` for delays, `` for always). */
  event: string
  /** For `after`: the delay's name or ms. For invoke done/error: the invoke id. */
  detail?: string | number
  targets: string[]
  guard?: GuardTree
  actions: string[]
  reenter: boolean
}

export interface Chart {
  id: string
  root: ChartState
  transitions: ChartTransition[]
  /** Named delays, guards, actions and actors the chart refers to (for generated sources). */
  names: { actions: string[]; guards: string[]; delays: string[]; actors: string[] }
}

/** A guard: a name, or a higher-order guard over guards. */
export type GuardTree = string | { op: 'not' | 'and' | 'or'; args: GuardTree[] } | { op: 'stateIn'; value: unknown }

type Fn = ((...args: unknown[]) => unknown) & { type?: string; guards?: unknown[]; stateValue?: unknown; check?: unknown }

/** The name an action reads as (see the module comment). */
export function actionName(action: unknown): string {
  if (typeof action === 'string') return action
  if (typeof action === 'function') {
    const fn = action as Fn
    if (typeof fn.type === 'string' && fn.type.startsWith('xstate.')) return fn.type.slice('xstate.'.length)
    return fn.name && !fn.name.startsWith('bound ') ? fn.name : 'inline'
  }
  if (action && typeof action === 'object' && typeof (action as { type?: unknown }).type === 'string') return (action as { type: string }).type
  return 'inline'
}

/** The guard as a tree of names (see GuardTree). */
export function guardTree(guard: unknown): GuardTree {
  if (typeof guard === 'function') {
    const fn = guard as Fn
    if (fn.check && Array.isArray(fn.guards) && (fn.name === 'not' || fn.name === 'and' || fn.name === 'or')) return { op: fn.name, args: fn.guards.map(guardTree) }
    if (fn.check && fn.stateValue !== undefined) return { op: 'stateIn', value: fn.stateValue }
    return fn.name && !fn.name.startsWith('bound ') ? fn.name : 'inline'
  }
  if (guard && typeof guard === 'object' && typeof (guard as { type?: unknown }).type === 'string') return (guard as { type: string }).type
  return typeof guard === 'string' ? guard : 'inline'
}

/** The text a guard reads as: `name`, `not(a)`, `and(a, b)`, `stateIn(…)`. */
export function guardLabel(tree: GuardTree): string {
  if (typeof tree === 'string') return tree
  if (tree.op === 'stateIn') return `stateIn(${JSON.stringify(tree.value)})`
  return `${tree.op}(${tree.args.map(guardLabel).join(', ')})`
}

/** The named guards of a guard tree (its leaves). */
export function guardNames(tree: GuardTree): string[] {
  if (typeof tree === 'string') return [tree]
  return tree.op === 'stateIn' ? [] : tree.args.flatMap(guardNames)
}

interface XTransition { target?: { id: string }[]; guard?: unknown; actions: unknown[]; reenter?: boolean; eventType: string; delay?: string | number }
interface XStateNode {
  id: string
  key: string
  type: StateType
  history: false | 'shallow' | 'deep'
  description?: string
  tags: string[]
  config: { id?: string; entry?: unknown; exit?: unknown; initial?: unknown; on?: Record<string, unknown>; onDone?: unknown }
  states: Record<string, XStateNode>
  initial?: { target: { id: string }[] }
  transitions: Map<string, XTransition[]>
  always?: XTransition[]
  after: XTransition[]
  invoke: { id: string; src: string | unknown; onDone?: unknown; onError?: unknown }[]
}

const list = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v])

/** The chart of `machine` (see the module comment). */
export function chartOf(machine: AnyStateMachine): Chart {
  const transitions: ChartTransition[] = []
  const names = { actions: new Set<string>(), guards: new Set<string>(), delays: new Set<string>(), actors: new Set<string>() }
  const visit = (node: XStateNode): ChartState => {
    const entry = list(node.config.entry).map(actionName)
    const exit = list(node.config.exit).map(actionName)
    for (const a of [...entry, ...exit]) names.actions.add(a)
    const invoke = node.invoke.map((inv) => ({ id: inv.id, src: typeof inv.src === 'string' ? inv.src : 'inline' }))
    for (const inv of invoke) names.actors.add(inv.src)
    const add = (kind: TransitionKind, t: XTransition, detail?: string | number): void => {
      const item: ChartTransition = {
        source: node.id,
        kind,
        event: t.eventType,
        targets: (t.target ?? []).map((s) => s.id),
        actions: list(t.actions).map(actionName),
        reenter: t.reenter ?? false,
      }
      if (detail !== undefined) item.detail = detail
      if (t.guard !== undefined) {
        item.guard = guardTree(t.guard)
        for (const g of guardNames(item.guard)) names.guards.add(g)
      }
      for (const a of item.actions) names.actions.add(a)
      transitions.push(item)
    }
    for (const [event, ts] of node.transitions) {
      if (event.startsWith('xstate.after.')) continue // below, with their delays
      const invokeDone = node.invoke.find((inv) => event === `xstate.done.actor.${inv.id}`)
      const invokeError = node.invoke.find((inv) => event === `xstate.error.actor.${inv.id}`)
      const kind: TransitionKind = event === `xstate.done.state.${node.id}` ? 'done' : invokeDone ? 'invoke.done' : invokeError ? 'invoke.error' : 'on'
      for (const t of ts) add(kind, t, (invokeDone ?? invokeError)?.id)
    }
    for (const t of node.after) {
      add('after', t, t.delay)
      if (typeof t.delay === 'string') names.delays.add(t.delay)
    }
    for (const t of node.always ?? []) add('always', t)
    const state: ChartState = {
      id: node.id,
      key: node.key,
      type: node.type,
      tags: [...node.tags],
      entry,
      exit,
      invoke,
      children: Object.values(node.states).map(visit),
    }
    if (node.type === 'compound' && node.initial?.target[0]) state.initial = node.initial.target[0].id
    if (node.type === 'history' && node.history) state.history = node.history
    if (node.config.id) state.ownId = node.config.id
    if (node.description) state.description = node.description
    return state
  }
  const root = visit(machine.root as unknown as XStateNode)
  const sorted = (s: Set<string>) => [...s].sort()
  return { id: machine.id, root, transitions, names: { actions: sorted(names.actions), guards: sorted(names.guards), delays: sorted(names.delays), actors: sorted(names.actors) } }
}

/** Every state of a chart, depth first. */
export function statesOf(chart: Chart): ChartState[] {
  const out: ChartState[] = []
  const walk = (s: ChartState): void => {
    out.push(s)
    s.children.forEach(walk)
  }
  walk(chart.root)
  return out
}

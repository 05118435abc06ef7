/**
 * Per-peer charts without an actor per peer (the protocol API's `handler`, like rust-libp2p's
 * ConnectionHandler): a small statechart, written with XState `setup().createMachine`, that
 * shows what a protocol does with ONE peer (or one (peer, topic) pair), stepped purely by the
 * protocol's behaviour actor with XState's `transition()`. Each peer's state is a plain entry in
 * a Map of the behaviour's context, so the inspector shows it as readable data
 * (`{ state: 'awaitingPong', timers: [...] }`), `xswarm export` draws the chart, and `xstate/graph`
 * walks it like any machine. No actor, mailbox or timer is created per peer.
 *
 * Chart and data: the chart is the machine (states, guards on the event, named actions, named
 * `after` delays). The data is the entry: the active state, the pending delays (input time when
 * each is due, and the event it raises), and any fields the behaviour adds to the entry. Rules
 * for a peer chart (checked where it is cheap):
 *  - no context: what differs per peer is data in the entry, and guards read the event (so the
 *    graph walk is exhaustive and a snapshot per state can be shared by all peers);
 *  - named actions only; the behaviour gives their implementations to `peerChart` (each gets the
 *    behaviour's own argument, the action's params and the event), and they run in order after
 *    the step, like an actor's actions;
 *  - `after` delays are coarse: a delay due at time T is delivered by the behaviour's next
 *    `tickPeerChart` at or after T (the behaviour calls it from its own timer, e.g. a heartbeat);
 *    or exact, when the behaviour passes `timers` and schedules each delay itself.
 *
 * Stepping is cheap, so a chart can sit on a hot path: XState selects the transition
 * (`getTransitionData`, the guards run on the event), and what taking that transition from that
 * state does (the next state, the actions in order: exits, the transition's, entries, delays
 * started and cancelled) is the same for every peer, so it is worked out once by XState's own
 * step (lib/pure-step.ts) and kept; only `after` delays are resolved again for each event (they
 * may read it). A chart with eventless (`always`) transitions or actions with computed params is
 * stepped by XState's step every time.
 * @module
 */
import type { AnyMachineSnapshot, AnyStateMachine, AnyTransitionDefinition, EventObject } from 'xstate'
import { pureInitial, pureStep, type SteppedAction } from './pure-step.js'

/** A pending `after` delay of one peer's chart. */
export interface PeerTimer {
  /** XState's id of the delayed event (`xstate.after.<delay>.<state>`). */
  id: string
  /** Input time at which it is due. */
  at: number
}

/** One peer's place in a peer chart: plain data, kept in the behaviour's Map. */
export interface PeerChartEntry {
  /** The active state: its name, or the JSON of a nested state value. */
  state: string
  /** Pending `after` delays, soonest first (absent when none). */
  timers?: PeerTimer[]
}

/** An action implementation: the behaviour's argument (its state, the peer...), params, event. */
export type PeerChartAction<TArg> = (arg: TArg, params: any, event: EventObject) => void

/**
 * Exact timers, for a behaviour that schedules each entry's delays itself (e.g. as its own
 * delayed events) instead of delivering them coarsely with `tickPeerChart`: the chart's `after`
 * delays then go to these, in order with its actions, and never into the entry.
 */
export interface PeerChartTimers<TArg> {
  /** Start the delay `id` (XState's id of the delayed event, also its event type) of `delay` ms. */
  schedule(arg: TArg, id: string, delay: number): void
  /** Cancel the delay `id` (its state was left). */
  cancel(arg: TArg, id: string): void
}

/** A peer chart ready to step: the machine and the implementations of its named actions. */
export interface PeerChart<TEvent extends EventObject = EventObject, TArg = unknown> {
  readonly machine: AnyStateMachine
  /** The name of the initial state (an entry in it with no timers is what "absent" means). */
  readonly initial: string
  /** Step `entry` (mutated in place) with `event` at input time `now`; runs the chart's actions with `arg`. */
  send(entry: PeerChartEntry, event: TEvent, now: number, arg: TArg): void
  /** A new entry in the initial state (its entry actions run with `arg`). */
  start(now: number, arg: TArg): PeerChartEntry
}

function stateKey(snapshot: AnyMachineSnapshot): string {
  return typeof snapshot.value === 'string' ? snapshot.value : JSON.stringify(snapshot.value)
}

/** The custom actions a machine's transitions and entry/exit name (for the implementation check). */
function namedActions(machine: AnyStateMachine): Set<string> {
  const names = new Set<string>()
  const visit = (list: unknown): void => {
    for (const a of Array.isArray(list) ? list : list === undefined ? [] : [list]) {
      const type = typeof a === 'string' ? a : (a as { type?: unknown })?.type
      if (typeof type === 'string' && !type.startsWith('xstate.')) names.add(type)
    }
  }
  const walk = (node: AnyStateMachine['root']): void => {
    visit(node.entry)
    visit(node.exit)
    for (const list of node.transitions.values()) for (const t of list) visit(t.actions)
    for (const t of node.always ?? []) visit(t.actions)
    for (const child of Object.values(node.states)) walk(child)
  }
  walk(machine.root)
  return names
}

/**
 * Make a peer chart of `machine` with the implementations of its named actions. Throws a
 * TypeError when an action the chart names has no implementation (a mistake in the protocol's
 * code, found when its module loads). With `timers`, the delays are the behaviour's to schedule.
 */
export function peerChart<TMachine extends AnyStateMachine, TArg>(
  machine: TMachine,
  actions: Record<string, PeerChartAction<TArg>>,
  timers?: PeerChartTimers<TArg>,
): PeerChart<Parameters<TMachine['transition']>[1], TArg> {
  for (const name of namedActions(machine)) {
    if (typeof actions[name] !== 'function') throw new TypeError(`peer chart ${machine.id}: no implementation of action "${name}"`)
  }
  // Peer charts have no context, so every peer in one state shares one snapshot.
  const logic = machine as AnyStateMachine
  const [first, firstActions] = pureInitial(logic)
  const snapshots = new Map<string, AnyMachineSnapshot>([[stateKey(first), first]])
  const initial = stateKey(first)
  const delays = afterDelays(logic)
  const planned = isPlannable(logic)
  const select = planned ? transitionSelector(logic) : undefined
  /** What taking a transition from a state does, by transition and source state. */
  const plans = new Map<AnyTransitionDefinition, Map<string, Plan>>()

  const apply = (entry: PeerChartEntry, list: readonly SteppedAction[], event: EventObject, now: number, arg: TArg): void => {
    for (const action of list) {
      const type = action.type
      if (type === 'xstate.raise') {
        const delay = action.params?.delay
        if (typeof delay !== 'number') continue
        if (timers) {
          timers.schedule(arg, action.params.id as string, delay)
          continue
        }
        const pending = (entry.timers ??= [])
        pending.push({ id: action.params.id as string, at: now + delay })
        pending.sort((a, b) => a.at - b.at)
      } else if (type === 'xstate.cancel') {
        if (timers) {
          timers.cancel(arg, action.params?.sendId as string)
          continue
        }
        if (!entry.timers) continue
        entry.timers = entry.timers.filter((t) => t.id !== action.params?.sendId)
        if (entry.timers.length === 0) delete entry.timers
      } else if (!type.startsWith('xstate.')) {
        actions[type](arg, action.params, event)
      }
    }
  }

  /** The snapshot of a state not stepped into yet (an entry made by the behaviour in that state). */
  const snapshotOf = (key: string): AnyMachineSnapshot => {
    let snapshot: AnyMachineSnapshot
    try {
      snapshot = logic.resolveState({ value: key.startsWith('{') ? JSON.parse(key) : key, context: undefined as never })
    } catch {
      throw new Error(`peer chart ${machine.id}: unknown state "${key}"`)
    }
    snapshots.set(key, snapshot)
    return snapshot
  }

  /** XState's step from `snapshot` (the state of `entry`): the next state's key and the actions. */
  const step = (snapshot: AnyMachineSnapshot, event: EventObject): Plan => {
    const [next, list] = pureStep(logic, snapshot, event)
    if (next.context !== snapshot.context) throw new Error(`peer chart ${machine.id}: a peer chart keeps no context (keep per-peer data in the entry)`)
    const key = stateKey(next)
    if (!snapshots.has(key)) snapshots.set(key, next)
    return { next: key, actions: list, timed: list.some((a) => a.type === 'xstate.raise' && delays.has(a.params?.id)) }
  }

  /** The plan's actions for this event: its `after` delays resolved with the event (undefined if one is not a number). */
  const resolved = (plan: Plan, event: EventObject): readonly SteppedAction[] | undefined => {
    if (!plan.timed) return plan.actions
    const out: SteppedAction[] = []
    for (const action of plan.actions) {
      const delayRef = action.type === 'xstate.raise' ? delays.get(action.params?.id) : undefined
      if (delayRef === undefined) {
        out.push(action)
        continue
      }
      const delay = resolveDelay(logic, delayRef, event)
      if (typeof delay !== 'number') return undefined
      out.push({ type: action.type, params: { ...action.params, delay } })
    }
    return out
  }

  return {
    machine,
    initial,
    start(now, arg) {
      const entry: PeerChartEntry = { state: initial }
      apply(entry, firstActions, { type: 'xstate.init' }, now, arg)
      return entry
    },
    send(entry, event, now, arg) {
      const snapshot = snapshots.get(entry.state) ?? snapshotOf(entry.state)
      // The transition XState would take (null: none), or undefined when it is not one alone.
      let taken: AnyTransitionDefinition | null | undefined
      if (planned) {
        taken = select?.(entry.state, snapshot, event)
        if (taken === undefined) {
          const list = logic.getTransitionData(snapshot as never, event)
          taken = list.length === 0 ? null : list.length === 1 ? list[0] : undefined
        }
      }
      if (taken === null) return
      let plan: Plan | undefined
      let list: readonly SteppedAction[] | undefined
      if (taken !== undefined) {
        let byState = plans.get(taken)
        if (!byState) plans.set(taken, (byState = new Map()))
        plan = byState.get(entry.state)
        if (!plan) byState.set(entry.state, (plan = step(snapshot, event)))
        list = resolved(plan, event)
      }
      if (list === undefined) {
        plan = step(snapshot, event)
        list = plan.actions
      }
      entry.state = plan!.next
      apply(entry, list, event, now, arg)
    },
  }
}

/** What taking one transition from one state does: the next state and the actions, in order. */
interface Plan {
  next: string
  actions: readonly SteppedAction[]
  /** Whether it starts an `after` delay (resolved again for each event). */
  timed?: boolean
}

/** Every `after` delay of the machine: the id of its delayed event → its delay (a name or ms). */
function afterDelays(machine: AnyStateMachine): Map<string, string | number> {
  const out = new Map<string, string | number>()
  const walk = (node: AnyStateMachine['root']): void => {
    for (const t of node.after) out.set(t.eventType, t.delay as string | number)
    for (const child of Object.values(node.states)) walk(child)
  }
  walk(machine.root)
  return out
}

/** A delay in ms, as XState resolves it for an `after` (a named delay may read the event). */
function resolveDelay(machine: AnyStateMachine, delay: string | number, event: EventObject): unknown {
  if (typeof delay === 'number') return delay
  const impl = (machine.implementations.delays as Record<string, unknown>)[delay]
  return typeof impl === 'function' ? impl({ context: undefined, event }, undefined) : impl
}

/**
 * Whether a transition's effect may be worked out once and kept: no eventless transitions (they
 * would be chosen after the step, by the event) and no action or guard params computed from it.
 */
function isPlannable(machine: AnyStateMachine): boolean {
  let ok = true
  const check = (list: unknown): void => {
    for (const a of Array.isArray(list) ? list : list === undefined ? [] : [list]) {
      if (typeof (a as { params?: unknown })?.params === 'function') ok = false
    }
  }
  const walk = (node: AnyStateMachine['root']): void => {
    if ((node.always ?? []).length > 0) ok = false
    check(node.entry)
    check(node.exit)
    for (const list of node.transitions.values()) for (const t of list) check(t.actions)
    for (const child of Object.values(node.states)) walk(child)
  }
  walk(machine.root)
  return ok
}

type Guard = (args: { context: unknown; event: EventObject }, params: undefined) => boolean
/** A candidate transition of a state for one event type, with its guard's implementation. */
interface Candidate { transition: AnyTransitionDefinition; guard: Guard | undefined }

/**
 * XState's choice of transition (`getTransitionData`) for a flat chart, without its per-call
 * work (a memo key string per step, the guard lookup by name): each atomic state's candidates
 * for an event type, resolved once, are tried in order, then the root's, and the first whose
 * guard passes is taken, as XState does. Only for a chart XState chooses that way for sure: its
 * states all direct children of the root and atomic, no wildcard event descriptors, every guard
 * absent, a name of a plain implementation, or a plain function (no params, no `and`/`or`/`not`,
 * no `stateIn`). Otherwise undefined, and XState chooses. Answers undefined for a state key it
 * does not know (a nested state value), null when no transition is enabled.
 */
function transitionSelector(machine: AnyStateMachine): ((state: string, snapshot: AnyMachineSnapshot, event: EventObject) => AnyTransitionDefinition | null | undefined) | undefined {
  const root = machine.root
  const guards = machine.implementations.guards as Record<string, unknown>
  const plain = (fn: unknown): fn is Guard => typeof fn === 'function' && !('check' in fn)
  const resolveGuard = (guard: unknown): Guard | undefined | false => {
    if (guard === undefined) return undefined
    if (typeof guard === 'string') return plain(guards[guard]) ? guards[guard] : false
    return plain(guard) ? guard : false
  }
  const nodes = [root, ...Object.values(root.states)]
  for (const node of nodes) {
    if (node !== root && Object.keys(node.states).length > 0) return undefined
    for (const [descriptor, list] of node.transitions) {
      if (descriptor === '*' || descriptor.endsWith('.*')) return undefined
      for (const t of list) if (resolveGuard(t.guard) === false) return undefined
    }
  }
  const byNode = new Map<AnyStateMachine['root'], Map<string, Candidate[]>>()
  const candidates = (node: AnyStateMachine['root'], type: string): Candidate[] => {
    let byType = byNode.get(node)
    if (!byType) byNode.set(node, (byType = new Map()))
    let list = byType.get(type)
    if (!list) byType.set(type, (list = (node.transitions.get(type) ?? []).map((transition) => ({ transition, guard: resolveGuard(transition.guard) as Guard | undefined }))))
    return list
  }
  const choose = (node: AnyStateMachine['root'], snapshot: AnyMachineSnapshot, event: EventObject): AnyTransitionDefinition | null => {
    for (const { transition, guard } of candidates(node, event.type)) {
      let passed: boolean
      try {
        passed = guard === undefined || guard({ context: snapshot.context, event }, undefined)
      } catch (err) {
        const name = typeof transition.guard === 'string' ? `'${transition.guard}' ` : ''
        throw new Error(`Unable to evaluate guard ${name}in transition for event '${event.type}' in state node '${node.id}':\n${(err as Error).message}`)
      }
      if (passed) return transition
    }
    return null
  }
  const children = new Map(Object.entries(root.states))
  return (state, snapshot, event) => {
    const node = children.get(state)
    if (node === undefined) return undefined
    return choose(node, snapshot, event) ?? choose(root, snapshot, event)
  }
}

/** Delays delivered per entry per tick at most (a chart whose delay re-enters its own state at once cannot loop). */
export const MAX_DELAYS_PER_TICK = 16

/** Deliver the delays of `entry` that are due at `now` (in order, at most MAX_DELAYS_PER_TICK); true when one was. */
export function tickPeerChart<TArg>(chart: PeerChart<any, TArg>, entry: PeerChartEntry, now: number, arg: TArg): boolean {
  let fired = false
  for (let n = 0; n < MAX_DELAYS_PER_TICK && entry.timers && entry.timers.length > 0 && entry.timers[0].at <= now; n++) {
    const timer = entry.timers.shift() as PeerTimer
    if (entry.timers.length === 0) delete entry.timers
    chart.send(entry, { type: timer.id }, now, arg)
    fired = true
  }
  return fired
}

/** Whether `entry` is back where every peer starts, with nothing pending (the behaviour may forget it). */
export function isAtRest(chart: PeerChart<any, any>, entry: PeerChartEntry): boolean {
  return entry.state === chart.initial && entry.timers === undefined
}

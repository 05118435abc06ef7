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
 *    `tickPeerChart` at or after T (the behaviour calls it from its own timer, e.g. a heartbeat).
 * @module
 */
import { initialTransition, transition, type AnyMachineSnapshot, type AnyStateMachine, type EventObject } from 'xstate'

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
 * code, found when its module loads).
 */
export function peerChart<TMachine extends AnyStateMachine, TArg>(
  machine: TMachine,
  actions: Record<string, PeerChartAction<TArg>>,
): PeerChart<Parameters<TMachine['transition']>[1], TArg> {
  for (const name of namedActions(machine)) {
    if (typeof actions[name] !== 'function') throw new TypeError(`peer chart ${machine.id}: no implementation of action "${name}"`)
  }
  // Peer charts have no context, so every peer in one state shares one snapshot.
  const logic = machine as AnyStateMachine
  const [first, firstActions] = initialTransition(logic)
  const snapshots = new Map<string, AnyMachineSnapshot>([[stateKey(first), first]])
  const initial = stateKey(first)

  const apply = (entry: PeerChartEntry, list: Array<{ type: string; params?: any }>, event: EventObject, now: number, arg: TArg): void => {
    for (const action of list) {
      const type = action.type
      if (type === 'xstate.raise') {
        const delay = action.params?.delay
        if (typeof delay !== 'number') continue
        const timers = (entry.timers ??= [])
        timers.push({ id: action.params.id as string, at: now + delay })
        timers.sort((a, b) => a.at - b.at)
      } else if (type === 'xstate.cancel') {
        if (!entry.timers) continue
        entry.timers = entry.timers.filter((t) => t.id !== action.params?.sendId)
        if (entry.timers.length === 0) delete entry.timers
      } else if (!type.startsWith('xstate.')) {
        actions[type](arg, action.params, event)
      }
    }
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
      const snapshot = snapshots.get(entry.state)
      if (!snapshot) throw new Error(`peer chart ${machine.id}: unknown state "${entry.state}"`)
      const [next, list] = transition(logic, snapshot, event) as [AnyMachineSnapshot, Array<{ type: string; params?: any }>]
      // A self-transition may give back the same snapshot, with actions: those still run.
      if (next === snapshot && list.length === 0) return
      if (next.context !== snapshot.context) throw new Error(`peer chart ${machine.id}: a peer chart keeps no context (keep per-peer data in the entry)`)
      const key = stateKey(next)
      if (!snapshots.has(key)) snapshots.set(key, next)
      entry.state = key
      apply(entry, list, event, now, arg)
    },
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

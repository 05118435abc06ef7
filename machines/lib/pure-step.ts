/**
 * XState's pure step without its per-call cost. `transition(logic, snapshot, event)` builds an
 * inert actor and system on every call (≈ 50 µs); `pureStep` calls `logic.transition` with one
 * actor scope per machine, made on first use, whose `actionExecutor` only collects the actions
 * (≈ 7 µs). Nothing is executed by XState: no timer is scheduled, nothing is sent or emitted;
 * the caller performs the returned actions itself (lib/peer-chart.ts, actors/pairs.ts).
 * @module
 */
import { createActor, type AnyActorScope, type AnyMachineSnapshot, type AnyStateMachine, type EventObject } from 'xstate'

/** An action the step asks for: its type (a chart's name, or `xstate.raise` / `xstate.cancel`) and params. */
export interface SteppedAction { type: string; params?: any }

const collected: SteppedAction[] = []
const scopes = new WeakMap<AnyStateMachine, AnyActorScope>()

function inertScope(machine: AnyStateMachine, input: unknown): AnyActorScope {
  let scope = scopes.get(machine)
  if (scope) return scope
  const self = createActor(machine, { input } as never)
  scope = {
    self, id: '', sessionId: '', system: self.system,
    defer: () => {}, logger: () => {}, stopChild: () => {}, emit: () => {},
    actionExecutor: (action: SteppedAction) => { collected.push({ type: action.type, params: action.params }) },
  } as unknown as AnyActorScope
  scopes.set(machine, scope)
  return scope
}

/**
 * The next snapshot of `machine` from `snapshot` on `event`, and the actions the step asks for
 * in order. `input` is what the machine's inert actor is made with (once; only its context
 * factory sees it).
 */
export function pureStep<TMachine extends AnyStateMachine>(
  machine: TMachine,
  snapshot: AnyMachineSnapshot,
  event: EventObject,
  input?: unknown,
): [AnyMachineSnapshot, SteppedAction[]] {
  const scope = inertScope(machine, input)
  collected.length = 0
  const next = machine.transition(snapshot as never, event as never, scope) as AnyMachineSnapshot
  return [next, collected.splice(0)]
}

/** The initial snapshot of `machine` (made with the same inert scope as `pureStep`). */
export function pureInitial<TMachine extends AnyStateMachine>(machine: TMachine, input?: unknown): [AnyMachineSnapshot, SteppedAction[]] {
  const scope = inertScope(machine, input)
  collected.length = 0
  const first = machine.getInitialSnapshot(scope, input as never) as AnyMachineSnapshot
  return [first, collected.splice(0)]
}

/**
 * `enqueueActions` as XState's, without its allocations: the machines' named actions that must
 * run while a transition is resolved (they spawn or message children, or emit) use this one.
 *
 * Why: XState's `enqueueActions` builds an `enqueue` function with eight methods, a `check`
 * closure and an action list on every call, about 450 bytes; every input of a swarm runs several
 * (the root routing it, the protocol actor's steps and `flush`). At 100 simulated nodes that was
 * 2.4 of the 23.6 KB allocated per input (bench/README.md, "Simulator: where the time goes").
 * Here the `enqueue` of each nesting depth is made once and reused (a callback can settle
 * another actor, whose actions run one level deeper), and the list is made only when something
 * is enqueued.
 *
 * It keeps XState's protocol for built-in actions (`resolve` returns the snapshot and the
 * actions to resolve next, in order), so what runs, and in which order, is what XState's
 * `enqueueActions` runs. Not supported: `check` (no machine uses it; it throws), and keeping
 * `enqueue` after the callback returned (it belongs to the next call at that depth).
 * @module
 */
import { assign, cancel, emit, enqueueActions as xstateEnqueueActions, raise, sendParent, sendTo, spawnChild, stopChild } from 'xstate'

type Fn = (...args: never[]) => unknown

/** The enqueuer of one nesting depth; `actions` is the list of the call running at that depth. */
interface Level {
  actions: unknown[] | undefined
  enqueue: ((action: unknown) => void) & Record<string, (...args: unknown[]) => void>
}

const levels: Level[] = []
let depth = 0

function makeLevel(): Level {
  const level: Level = { actions: undefined, enqueue: undefined as never }
  const push = (action: unknown): void => {
    if (level.actions === undefined) level.actions = [action]
    else level.actions.push(action)
  }
  const enqueue = ((action: unknown) => push(action)) as Level['enqueue']
  const creators: Record<string, Fn> = { assign, cancel, raise, sendTo, sendParent, spawnChild, stopChild, emit }
  for (const [name, create] of Object.entries(creators)) {
    enqueue[name] = (...args: unknown[]) => push((create as (...a: unknown[]) => unknown)(...args))
  }
  level.enqueue = enqueue
  return level
}

function check(): never {
  throw new Error('enqueueActions (machines/lib/enqueue.ts): check() is not supported; use a guarded transition or XState\'s enqueueActions')
}

interface ActionArgs { context: unknown; event: unknown; self: unknown; system: unknown }
type Collect = (args: ActionArgs & { enqueue: Level['enqueue']; check: typeof check }, params: unknown) => void

/** XState's `resolve` step of a built-in action: [snapshot, params, actions to resolve next]. */
function resolveCollected(_scope: unknown, snapshot: unknown, args: ActionArgs, params: unknown, action: { collect: Collect }): [unknown, undefined, unknown[] | undefined] {
  const level = (levels[depth] ??= makeLevel())
  const outer = level.actions
  level.actions = undefined
  depth++
  try {
    action.collect({ context: args.context, event: args.event, enqueue: level.enqueue, check, self: args.self, system: args.system }, params)
    return [snapshot, undefined, level.actions]
  } finally {
    depth--
    level.actions = outer
  }
}

/** Same signature and behaviour as XState's `enqueueActions` (see the module comment). */
export const enqueueActions: typeof xstateEnqueueActions = ((collect: Collect) => {
  function enqueueActions(): void {}
  enqueueActions.type = 'xstate.enqueueActions'
  enqueueActions.collect = collect
  enqueueActions.resolve = resolveCollected
  return enqueueActions
}) as never

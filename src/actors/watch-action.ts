/**
 * Death watch from inside a machine: `watchActor` and `unwatchActor`, action creators in the
 * style of XState's own `sendTo` (a target, or a function of `{ context, event }` giving it).
 *
 *   entry: watchActor(({ context }) => context.worker)      // later: 'actor.down' { address, reason }
 *   on: { 'actor.down': { target: 'replacing' } }
 *
 * The watching actor must live in a swarm's actor system (hosted with `swarm.actors.spawn`, or
 * spawned by a hosted machine): the action finds the swarm's actor layer through `self.system`.
 * The watch is queued like any send; its end (`actor.down {address, reason}`, exactly once, and
 * `actor.restarted {address, restarts}` after each supervised restart) is delivered to the
 * watching actor as an event, not put on the swarm's stream. Watching an address again is a
 * no-op (one watch, one `actor.down`); the watch ends with the watching actor.
 *
 * Plain action functions (what XState calls custom actions) rather than XState's internal
 * built-in action protocol (`resolve`/`execute`): they rely only on public API, across the
 * xstate versions this package supports. Name them in `setup({ actions })` to see them by name
 * in the inspector.
 * @module
 */
import type { ActionArgs, ActionFunction, AnyActorRef, EventObject, MachineContext, ParameterizedObject } from 'xstate'
import { actorsOfSystem, type ActorTarget } from './actors.js'

type Target<TContext extends MachineContext, TExpressionEvent extends EventObject, TEvent extends EventObject> =
  | ActorTarget
  | ((args: ActionArgs<TContext, TExpressionEvent, TEvent>) => ActorTarget)

function watchAction<TContext extends MachineContext, TExpressionEvent extends EventObject, TParams extends ParameterizedObject['params'] | undefined, TEvent extends EventObject>(
  what: 'watchActor' | 'unwatchActor',
  target: Target<TContext, TExpressionEvent, TEvent>,
): ActionFunction<TContext, TExpressionEvent, TEvent, TParams, never, never, never, never, never> {
  return (args) => {
    const self = args.self as AnyActorRef
    const actors = actorsOfSystem(self.system)
    if (!actors) throw new TypeError(`${what}: actor ${self.id} is not in a swarm's actor system (host it with swarm.actors.spawn)`)
    const resolved = typeof target === 'function' ? target(args) : target
    actors._watchBy(self, resolved as ActorTarget, what === 'watchActor')
  }
}

/** An action: the actor running it watches `target` (a ref, an address, or a function of `{ context, event }`). */
export function watchActor<TContext extends MachineContext, TExpressionEvent extends EventObject, TParams extends ParameterizedObject['params'] | undefined, TEvent extends EventObject>(
  target: Target<TContext, TExpressionEvent, TEvent>,
): ActionFunction<TContext, TExpressionEvent, TEvent, TParams, never, never, never, never, never> {
  return watchAction('watchActor', target)
}

/** An action: the actor running it stops watching `target` (no `actor.down` for it comes any more). */
export function unwatchActor<TContext extends MachineContext, TExpressionEvent extends EventObject, TParams extends ParameterizedObject['params'] | undefined, TEvent extends EventObject>(
  target: Target<TContext, TExpressionEvent, TEvent>,
): ActionFunction<TContext, TExpressionEvent, TEvent, TParams, never, never, never, never, never> {
  return watchAction('unwatchActor', target)
}

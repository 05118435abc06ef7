/**
 * Runtime seam: how actors below the root reach the shell's outbox, and the input time.
 *
 * Every actor of a swarm `emit`s its effects and swarm events. The shell subscribes the root
 * itself; actors created below it go through `spawnTracked`, which subscribes them to the same
 * sink when they are created, so the order of emitted events is the order of settling, and no
 * inspection observer is needed on the hot path.
 *
 * Actors are created with `createActor(logic, { parent })` rather than `spawnChild` because
 * XState copies its `children` object on every spawn and stop: with thousands of connections,
 * churn would cost O(n) per connect/disconnect. A parent keeps its own Map of refs instead.
 *
 * Time: machines have no clock. `inputTime(self)` is the time the shell stamped on the input
 * being settled (virtual under a simulated clock), so it is part of the input log and replays.
 * @module
 */
import { createActor, type AnyActorLogic, type AnyActorRef, type Actor } from 'xstate'

/** What the shell binds to an actor system. */
export interface Runtime {
  /** Receives every event emitted by every tracked actor, in order. */
  sink(event: { type: string }): void
  /** The time of the input being settled, in milliseconds (monotonic; virtual in simulation). */
  now(): number
}

const runtimes = new WeakMap<object, Runtime>()

/** Bind the shell's runtime to the system of `root` (before any child is spawned). */
export function bindRuntime(root: AnyActorRef, runtime: Runtime): void {
  runtimes.set(root.system, runtime)
}

/** The input time as seen by any actor of a bound system; 0 when none is bound (machine tests). */
export function inputTime(self: AnyActorRef): number {
  return runtimes.get(self.system)?.now() ?? 0
}

/**
 * Create and start an actor below `parent` in the same system, with its emitted events routed
 * to the runtime's sink. The caller keeps the ref (in a Map in its context) and stops it with
 * `ref.stop()` when done.
 */
export function spawnTracked<TLogic extends AnyActorLogic>(
  parent: AnyActorRef,
  logic: TLogic,
  options: { id: string; systemId?: string; input?: unknown },
): Actor<TLogic> {
  const child = createActor(logic, { ...options, parent } as never) as Actor<TLogic>
  // Looked up per event: the root's initial entry actions run while it is being constructed,
  // before the shell could bind its runtime.
  const system = parent.system
  child.on('*', ((event: { type: string }) => runtimes.get(system)?.sink(event)) as never)
  child.start()
  return child
}

/**
 * Stop an actor created with `spawnTracked`. XState reserves `stop()` for root actors and
 * stops children through the parent's internal scope, which a Map-kept child does not go
 * through; `_stop()` is the same procedure XState's own `stopChild` runs. Idempotent.
 */
export function stopTracked(ref: AnyActorRef): void {
  ;(ref as unknown as { _stop(): void })._stop()
}

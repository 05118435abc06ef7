/**
 * Hosting user logic: each hosted actor is an XState actor created in the swarm's actor
 * system (under `hostParent`, so it shares the swarm's clock and inspector), watched through
 * its own observers. What happens to it is queued for the actors protocol, never decided
 * here: a failure becomes `actors.failed` (supervision decides), an end `actors.exited`.
 *
 * A restart creates a fresh actor from the same logic and input, or from the snapshot the
 * user's `restore(name)` returns; `HostedActor.ref` is always the current one.
 * @module
 */
import { createActor, type AnyActor, type AnyActorLogic, type AnyActorRef, type Snapshot } from 'xstate'

export interface HostOptions {
  input?: unknown
  /** A snapshot to restart from (e.g. the last one the user persisted); default: the initial state. */
  restore?: (name: string) => Snapshot<unknown> | undefined
}

/** What the hosted actor's life is reported to. */
export interface HostEvents {
  /** A (new) actor was created for `name`, before it starts (whatever it sends at start knows its name). */
  created(name: string, actor: AnyActor): void
  failed(name: string): void
  exited(name: string, reason: 'stopped' | 'done'): void
}

export class HostedActor {
  readonly name: string
  readonly address: string
  readonly logic: AnyActorLogic
  readonly options: HostOptions
  #actor!: AnyActor
  readonly #parent: AnyActorRef
  readonly #events: HostEvents
  /** Stopped on purpose (by `stop` or close): its end is `stopped`, never a failure. */
  #stopping = false

  constructor(name: string, address: string, logic: AnyActorLogic, options: HostOptions, parent: AnyActorRef, events: HostEvents) {
    this.name = name
    this.address = address
    this.logic = logic
    this.options = options
    this.#parent = parent
    this.#events = events
  }

  /** The current XState actor (a new one after each restart). */
  get ref(): AnyActor {
    return this.#actor
  }

  get running(): boolean {
    return this.#actor?.getSnapshot().status === 'active'
  }

  /** Create and start the actor (again, for a restart). */
  start(restoring: boolean): void {
    const snapshot = restoring ? this.options.restore?.(this.name) : undefined
    const actor = createActor(this.logic, {
      parent: this.#parent,
      id: this.name,
      input: this.options.input,
      ...(snapshot ? { snapshot } : {}),
    } as never) as AnyActor
    this.#actor = actor
    this.#events.created(this.name, actor)
    actor.subscribe({
      error: () => { if (this.#actor === actor && !this.#stopping) this.#events.failed(this.name) },
      complete: () => {
        if (this.#actor !== actor) return
        this.#events.exited(this.name, actor.getSnapshot().status === 'done' ? 'done' : 'stopped')
      },
    })
    actor.start()
  }

  /** Stop it for good (its watchers see `stopped`). */
  stop(): void {
    this.#stopping = true
    if (this.#actor.getSnapshot().status === 'active') (this.#actor as unknown as { _stop(): void })._stop()
    else this.#events.exited(this.name, 'stopped')
  }
}

/**
 * A ref to an actor anywhere in the swarm, accepted by XState wherever an ActorRef goes.
 *
 * XState hands events to a target through `system._relay(source, target, event)`, which calls
 * `target._send(event)` (`sendTo`, delayed sends, `ref.send`); so an object with `_send`,
 * `send`, `id`, `sessionId`, `system`, `getSnapshot` and the rest of the ActorRef surface is a
 * target like any other. A RemoteRef's `_send` only queues an `actors.send` command: the
 * event goes through the swarm's one queue and the actors protocol like everything else. In
 * the swarm's own actor system the shell also learns the sending actor (see `Actors`), so
 * per-pair order and the sender's address travel with the event.
 *
 * Its snapshot is a stand-in (`status: 'active'`): a remote actor's state is not mirrored;
 * watch it to learn when it stops.
 * @module
 */
import type { ActorSystem, AnyActorRef, EventObject, Subscription } from 'xstate'

type AnyActorSystem = ActorSystem<any>

/** What a RemoteRef needs from the actor layer. */
export interface RefSender {
  send(source: AnyActorRef | undefined, address: string, event: EventObject, delivery: Delivery): void
  readonly system: AnyActorSystem | undefined
}

export type Delivery = 'at-most-once' | 'at-least-once'

const NO_SUBSCRIPTION: Subscription = { unsubscribe() {} }
const SNAPSHOT = Object.freeze({ status: 'active' as const, output: undefined, error: undefined, context: undefined })

export class RemoteRef {
  /** The actor's address (`<node>/actor/<name>`); also its id. */
  readonly address: string
  readonly id: string
  readonly src = 'xswarm.remote'
  readonly _parent = undefined
  readonly ref = this
  /** How events sent through this ref are delivered (see `atLeastOnce`). */
  readonly delivery: Delivery
  readonly #sender: RefSender
  #twin: RemoteRef | undefined

  constructor(sender: RefSender, address: string, delivery: Delivery = 'at-most-once') {
    this.#sender = sender
    this.address = address
    this.delivery = delivery
    this.id = address
    this.send = this.send.bind(this)
  }

  /** Unique per address and delivery (made when read: an ask's one-shot reply ref never needs it). */
  get sessionId(): string {
    return `remote:${this.address}${this.delivery === 'at-least-once' ? ':alo' : ''}`
  }

  /** The same actor, with the other delivery guarantee. */
  withDelivery(delivery: Delivery): RemoteRef {
    if (delivery === this.delivery) return this
    this.#twin ??= new RemoteRef(this.#sender, this.address, delivery)
    return this.#twin
  }

  get system(): AnyActorSystem {
    return this.#sender.system as AnyActorSystem
  }

  /** Send an event to the actor (queued; its outcome, if it fails, is `actor.undelivered`). */
  send<TEvent extends EventObject>(event: TEvent): void {
    if (typeof event !== 'object' || event === null || typeof event.type !== 'string') {
      throw new TypeError('"event" expected an object with a string "type"')
    }
    this.#sender.send(undefined, this.address, event, this.delivery)
  }

  /** @internal XState's delivery path (sendTo, delayed sends). */
  _send(event: EventObject): void {
    this.#sender.send(undefined, this.address, event, this.delivery)
  }

  /** @internal the actor layer's delivery path, with the sending actor. */
  _sendFrom(source: AnyActorRef | undefined, event: EventObject): void {
    this.#sender.send(source, this.address, event, this.delivery)
  }

  getSnapshot(): typeof SNAPSHOT { return SNAPSHOT }
  getPersistedSnapshot(): typeof SNAPSHOT { return SNAPSHOT }
  start(): void {}
  stop(): void {}
  subscribe(): Subscription { return NO_SUBSCRIPTION }
  on(): Subscription { return NO_SUBSCRIPTION }
  select<T>(selector: (snapshot: typeof SNAPSHOT) => T) {
    return { get: () => selector(SNAPSHOT), subscribe: () => NO_SUBSCRIPTION }
  }
  toJSON(): { xstate$$type: number; id: string } { return { xstate$$type: 1, id: this.id } }
  [Symbol.observable](): this { return this }
  ['@@observable'](): this { return this }
}

/**
 * A ref whose sends are delivered at least once (sequence numbers, acknowledgements,
 * redelivery across reconnects; see README "Actors"). Usable inside machines:
 * `sendTo(({ event }) => atLeastOnce(event.worker), { type: 'job', id })`. A local actor's
 * ref is returned as it is (delivery within a process does not get lost).
 */
export function atLeastOnce<T extends AnyActorRef>(ref: T): T {
  return (ref instanceof RemoteRef ? ref.withDelivery('at-least-once') : ref) as T
}

/** Whether a value is an XState actor ref (local, or a RemoteRef). */
export function isActorRef(value: unknown): value is AnyActorRef {
  return typeof value === 'object' && value !== null && typeof (value as AnyActorRef).send === 'function' &&
    typeof (value as AnyActorRef).sessionId === 'string' && typeof (value as AnyActorRef).getSnapshot === 'function'
}

/**
 * The parent every hosted actor is created under: it puts them in the swarm's actor system
 * (its clock, its inspector) without making them children of a machine. XState relays a
 * child's done/error events to its parent synchronously; the shell learns those through the
 * actor's own observers instead and queues them, so this parent ignores them.
 */
export function hostParent(system: AnyActorSystem): AnyActorRef {
  return {
    id: 'xswarm.actors',
    sessionId: (system as unknown as { _bookId(): string })._bookId(),
    src: 'xswarm.actors',
    system,
    send() {},
    _send() {},
    start() {},
    stop() {},
    getSnapshot: () => SNAPSHOT,
    getPersistedSnapshot: () => SNAPSHOT,
    subscribe: () => NO_SUBSCRIPTION,
    on: () => NO_SUBSCRIPTION,
    select: () => ({ get: () => undefined, subscribe: () => NO_SUBSCRIPTION }),
    [Symbol.observable]() { return this },
  } as unknown as AnyActorRef
}

/**
 * `swarm.actors`: the user's handle on the actor layer (see README "Actors").
 *
 * `spawn` hosts any XState logic under a name and returns its address and local ref; `ref`
 * makes a ref to an address that XState accepts anywhere (`ref.send`, `sendTo`, in events);
 * `ask` sends with a one-shot `replyTo` and settles with the reply or a typed XswarmError;
 * `watch` gives one `actor.down`; `spawnOn` starts an offered logic on another node; `lookup`
 * finds actors by name through discovery's DHT (lookup.ts); `stop`.
 *
 * Everything is queued for the actors protocol (machines/actors/), which decides; this shell
 * turns refs into addresses and back, runs the user's functions (`accept`, `restore`) and the
 * hosted actors, and settles promises when their answer is taken from the event stream (the
 * swarm must be driven: iterate it, as for every other outcome). In the swarm's actor system it
 * also learns which actor sent an event (it wraps the system's `_relay`, XState's one path from
 * a sender to a target), so per-pair order and the sender's address travel with it.
 * @module
 */
import type { Actor, ActorSystem, AnyActorLogic, AnyActorRef, AnyEventObject, EventObject } from 'xstate'

type AnyActorSystem = ActorSystem<any>
import { actorAddress, isReplySlot, nodeAddress, parseActorAddress, USER_NAME } from '../../machines/actors/address.js'
import { ACTORS_ID, type AcceptPolicy, type ActorsCommand, type DeliverAnswer, type Supervise } from '../../machines/actors/context.js'
import type { ActorSettings } from '../../machines/actors/options.js'
import type { RefPath } from '../../machines/actors/wire.js'
import { XswarmError, ErrorCodes } from '../errors.js'
import { HostedActor, type HostOptions } from './hosting.js'
import { ActorLookups, type LookupOptions } from './lookup.js'
import type { FoundProvider } from '../../machines/discovery/context.js'
import { DISCOVERY_ID } from '../../machines/discovery/context.js'
import { fromWire, toWire } from './refs.js'
import { hostParent, isActorRef, RemoteRef, type Delivery, type RefSender } from './remote-ref.js'

/** Who may send to an actor besides its own node: anyone, these peer ids, or your function. */
export type Accept = 'local' | 'any' | string[] | ((from: { peer: string; actor?: string }, event: EventObject) => boolean)

export interface SpawnOptions extends HostOptions {
  /** Unique on this node: 1-64 of A-Z a-z 0-9 . _ - */
  name: string
  /** Default `'local'`: only this node. */
  accept?: Accept
  /** Restart on error (default: never). */
  supervise?: Partial<Supervise>
}

/** A hosted actor: its address, and its current local ref (a new one after a restart). */
export interface Spawned<TRef extends AnyActorRef = AnyActorRef> { readonly name: string; readonly address: string; readonly ref: TRef }

export type ActorTarget = string | AnyActorRef | Spawned
export interface SendOptions { delivery?: Delivery }
export interface AskOptions { timeout?: number }

/** What the actor layer needs from its swarm. */
export interface ActorsPort {
  command(event: ActorsCommand): void
  addresses(): string[]
  closed(): boolean
  /** Send a command to discovery (`undefined`: the swarm runs without discovery). */
  discover?: (event: { type: string } & Record<string, unknown>) => void
}

/** One event the actors protocol hands over (machines/actors/inbound.ts). */
interface DeliverArgs { name: string; event: EventObject; refs: RefPath[]; peer: string; from: string; trace: string; check: boolean }

/** The actor layer of each swarm's actor system (for `watchActor`, which has only `self.system`). */
const bySystem = new WeakMap<object, Actors>()

/** @internal the actor layer whose swarm runs `system`, if any. */
export function actorsOfSystem(system: unknown): Actors | undefined {
  return typeof system === 'object' && system !== null ? bySystem.get(system) : undefined
}

const DEFAULT_SUPERVISE: Supervise = { restart: 'never', maxRestarts: 3, withinMs: 10_000, backoffMs: 100 }
const MAX_REMOTE_REFS = 10_000
/** No exposed names (shared: the actors protocol only reads a command's `expose`). */
const NO_NAMES: string[] = []
/** The ref paths of an ask whose event holds no other ref (shared: nothing writes to ref paths). */
const REPLY_REFS = Object.freeze([Object.freeze(['replyTo'])]) as unknown as RefPath[]
/** Commands per input (a burst of sends to one local actor stays within its mailbox). */
const MAX_BATCH = 256

export class Actors {
  readonly #peerId: string
  /** Trace ids this node starts: `<last 8 of its peer id>.<n>`. */
  readonly #tracePrefix: string
  readonly #settings: ActorSettings
  readonly #offered: Record<string, AnyActorLogic>
  #system: AnyActorSystem | undefined
  #parent: AnyActorRef | undefined
  #port!: ActorsPort
  readonly #hosted = new Map<string, HostedActor>()
  readonly #accept = new Map<string, Exclude<Accept, string | string[]>>()
  /** Local actors by ref (hosted, or exposed because a ref to them was sent): their names. */
  readonly #names = new WeakMap<AnyActorRef, string>()
  readonly #exposed = new Map<string, AnyActorRef>()
  readonly #remote = new Map<string, RemoteRef>()
  readonly #asks = new Map<number, { resolve: (e: EventObject) => void; reject: (e: Error) => void; address: string }>()
  readonly #spawns = new Map<number, { resolve: (r: RemoteRef) => void; reject: (e: Error) => void }>()
  #lookups: ActorLookups | undefined
  #seq = 0
  #trace: string | undefined
  readonly counters = { sent: 0, delivered: 0, undelivered: 0, dropped: 0 }
  /** @internal the swarm's metrics (when on) see each batch of events handed to hosted actors. */
  _onDeliver: ((items: readonly { name: string }[]) => void) | undefined = undefined

  /** @internal created by createSwarm */
  constructor(peerId: string, settings: ActorSettings, offered: Record<string, AnyActorLogic>) {
    this.#peerId = peerId
    this.#tracePrefix = peerId.slice(-8)
    this.#settings = settings
    this.#offered = offered
  }

  /** @internal the swarm's actor system is up. */
  _bind(system: AnyActorSystem, port: ActorsPort): void {
    this.#system = system
    this.#port = port
    bySystem.set(system, this)
    this.#parent = hostParent(system)
    this.#lookups = new ActorLookups({
      discover: port.discover,
      refsOf: (name, providers) => this.#refsOf(name, providers),
      defaultTimeout: () => this.#settings.timeouts.lookup,
      assertOpen: (what) => this.#assertOpen(what),
    })
    const s = system as unknown as { _relay(source: unknown, target: unknown, event: EventObject): void; _sendInspectionEvent(e: unknown): void }
    const relay = s._relay
    s._relay = (source, target, event) => {
      if (!(target instanceof RemoteRef)) return relay(source, target, event)
      s._sendInspectionEvent({ type: '@xstate.event', sourceRef: source, actorRef: target, event })
      target._sendFrom(source as AnyActorRef | undefined, event)
    }
  }

  /** @internal the functions the actors protocol asks the shell to run. */
  calls(): Record<string, (args: any) => unknown> {
    return {
      deliver: ({ items }: { items: DeliverArgs[] }) => {
        this._onDeliver?.(items)
        return this.#deliverAll(items)
      },
      restart: ({ name }: { name: string }) => {
        const h = this.#hosted.get(name)
        if (!h) return 'no-such-actor'
        h.start(true)
        return 'ok'
      },
      spawn: ({ logic, name, input, spawner }: { logic: string; name: string; input: unknown; spawner: string }) => {
        if (!Object.hasOwn(this.#offered, logic) || this.#hosted.has(name)) return 'rejected'
        this.spawn(this.#offered[logic], { name, input, accept: [spawner] })
        return 'ok'
      },
    }
  }

  get #node(): string {
    return nodeAddress(this.#peerId, this.#port.addresses())
  }

  /** Host `logic` as actor `name` on this node. */
  spawn<TLogic extends AnyActorLogic>(logic: TLogic, options: SpawnOptions): Spawned<Actor<TLogic>> {
    if (!logic || typeof (logic as { transition?: unknown }).transition !== 'function') throw new TypeError('"logic" expected XState actor logic (a machine, fromPromise, fromCallback, ...)')
    if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected an object with a "name"')
    const { name } = options
    if (typeof name !== 'string' || !USER_NAME.test(name)) throw new RangeError(`"name" expected 1-64 of A-Z a-z 0-9 . _ -, got ${JSON.stringify(name)}`)
    if (this.#hosted.has(name)) throw new RangeError(`"name" ${name} is already taken on this node`)
    if (this.#hosted.size + this.#exposed.size >= this.#settings.limits.maxActors) throw new XswarmError(ErrorCodes.OVERLOADED, `spawn ${name}: this node hosts maxActors (${this.#settings.limits.maxActors}) actors`)
    this.#assertOpen('spawn')
    const { accept, granted } = acceptPolicy(options.accept)
    const supervise = superviseOptions(options.supervise)
    const h = new HostedActor(name, actorAddress(this.#node, name), logic, { input: options.input, restore: options.restore }, this.#parent!, {
      created: (n, actor) => this.#names.set(actor, n),
      failed: (n) => this.#command({ type: 'actors.failed', name: n }),
      exited: (n, reason) => this.#command({ type: 'actors.exited', name: n, reason }),
    })
    this.#hosted.set(name, h)
    if (typeof options.accept === 'function') this.#accept.set(name, options.accept)
    // Registered before it starts: whatever it sends from its initial state comes after.
    this.#host({ type: 'actors.host', name, accept, granted, ...(supervise ? { supervise } : {}) })
    h.start(false)
    return { name, address: h.address, get ref() { return h.ref as Actor<TLogic> } }
  }

  /** Stop a hosted actor; its watchers see `actor.down` reason `stopped`. */
  stop(name: string): void {
    const h = this.#hosted.get(name)
    if (!h) throw new RangeError(`"name" ${JSON.stringify(name)} is not an actor of this node`)
    h.stop()
  }

  /** A ref to the actor at `address` (anywhere, this node included); `delivery` for what is sent through it. */
  ref(address: string, options: SendOptions = {}): RemoteRef {
    let ref = this.#remote.get(address) // a cached address was checked when it was cached
    if (!ref) {
      const parsed = parseActorAddress(address)
      if (!parsed) throw new RangeError(`"address" expected <node address>/actor/<name>, got ${JSON.stringify(address)}`)
      ref = this.#newRef(address, parsed.name.startsWith('~a'))
    }
    return ref.withDelivery(checkDelivery(options.delivery))
  }

  /**
   * A new ref to a valid address. An ask's reply slot (`~a<n>`) is used once: caching it would
   * keep every ask's ref alive long enough to be promoted out of the young generation
   * (old-space GC pauses, the ask p99).
   */
  #newRef(address: string, replySlot: boolean): RemoteRef {
    const ref = new RemoteRef(this._sender, address)
    if (replySlot) return ref
    if (this.#remote.size >= MAX_REMOTE_REFS) this.#remote.delete(this.#remote.keys().next().value!)
    this.#remote.set(address, ref)
    return ref
  }

  /** Send with an explicit delivery guarantee (`ref.send` is at most once). */
  send<TEvent extends EventObject>(target: ActorTarget, event: TEvent, options: SendOptions = {}): void {
    this.#send(undefined, this.#addressOf(target), checkEvent(event), checkDelivery(options.delivery))
  }

  /**
   * Send `event` with a one-shot `replyTo` and wait for the reply (default timeout 10 s). The
   * reply's type is the caller's to state (`ask<{ type: 'count'; n: number }>(...)`): it is
   * whatever the remote actor sent, not checked against it.
   */
  ask<TReply extends EventObject = AnyEventObject, TEvent extends EventObject = EventObject>(target: ActorTarget, event: TEvent, options: AskOptions = {}): Promise<TReply> {
    const address = this.#addressOf(target)
    checkEvent(event)
    const timeout = options.timeout ?? this.#settings.timeouts.ask
    if (!Number.isFinite(timeout) || timeout <= 0) throw new RangeError(`"timeout" expected a positive number of ms, got ${timeout}`)
    this.#assertOpen('ask')
    const askId = ++this.#seq
    const wire = toWire(event, this.#refAddress)
    ;(wire.event as Record<string, unknown>).replyTo = actorAddress(this.#node, `~a${askId}`)
    const refs = wire.refs.length === 0 ? REPLY_REFS : [...wire.refs, ['replyTo']]
    const promise = new Promise<TReply>((resolve, reject) => this.#asks.set(askId, { resolve: resolve as (e: EventObject) => void, reject, address }))
    this.#command({ type: 'actors.ask', askId, to: address, event: wire.event, refs, trace: this.#traceId(), timeout, expose: this.#takeExposed() })
    return promise
  }

  /** Watch an actor: one `actor.down {address, reason}` later. Returns a function that stops watching. */
  watch(target: ActorTarget): () => void {
    const address = this.#addressOf(target)
    this.#assertOpen('watch')
    const watchId = ++this.#seq
    this.#command({ type: 'actors.watch', watchId, address })
    return () => { if (!this.#port.closed()) this.#command({ type: 'actors.unwatch', watchId }) }
  }

  /** @internal `watchActor`/`unwatchActor`: a local actor (hosted or not) watches `target`, or stops. */
  _watchBy(watcher: AnyActorRef, target: ActorTarget, watch: boolean): void {
    const address = this.#addressOf(target)
    const by = this.#localName(watcher)
    if (watch) this.#command({ type: 'actors.watch', watchId: ++this.#seq, address, by, trace: this.#traceId() })
    else this.#command({ type: 'actors.unwatchBy', by, address })
  }

  /** Start logic `logic` (offered by that node) as actor `name` on `node` (a peer id or a node address). */
  spawnOn(node: string, logic: string, options: { name: string; input?: unknown }): Promise<RemoteRef> {
    if (typeof node !== 'string' || node.length === 0) throw new TypeError('"node" expected a peer id or a node address')
    if (typeof logic !== 'string' || logic.length === 0 || logic.length > 64) throw new TypeError('"logic" expected the name of a logic that node offers')
    if (typeof options?.name !== 'string' || !USER_NAME.test(options.name)) throw new RangeError(`"name" expected 1-64 of A-Z a-z 0-9 . _ -, got ${JSON.stringify(options?.name)}`)
    this.#assertOpen('spawnOn')
    const nodeAddr = node.includes('/p2p/') ? node : node === this.#peerId ? this.#node : `/p2p/${node}`
    const peer = nodeAddr.slice(nodeAddr.lastIndexOf('/p2p/') + 5)
    const reqId = ++this.#seq
    const promise = new Promise<RemoteRef>((resolve, reject) => this.#spawns.set(reqId, { resolve, reject }))
    this.#command({ type: 'actors.spawnOn', reqId, node: nodeAddr, peer, logic, name: options.name, input: options.input })
    return promise
  }

  /**
   * Refs to every actor named `name` in the network (this node's included), found through
   * discovery's DHT; see lookup.ts and README "Actors" for the guarantees.
   */
  lookup(name: string, options?: LookupOptions): Promise<RemoteRef[]> {
    return this.#lookups!.lookup(name, options)
  }

  /** Refs to actor `name` on this node (if it hosts one) and on each provider, one per node. */
  #refsOf(name: string, providers: readonly FoundProvider[]): RemoteRef[] {
    const addresses = new Map<string, string>()
    if (this.#hosted.has(name)) addresses.set(this.#peerId, actorAddress(this.#node, name))
    for (const p of providers) {
      if (addresses.has(p.peer)) continue
      const node = p.peer === this.#peerId ? this.#node : p.addresses[0]
      const address = node === undefined ? undefined : actorAddress(node, name)
      if (address !== undefined && parseActorAddress(address)?.peer === p.peer) addresses.set(p.peer, address)
    }
    return [...addresses.values()].map((a) => this.ref(a))
  }

  /** Names of the actors hosted on this node. */
  names(): string[] {
    return [...this.#hosted.keys()]
  }

  /** @internal how RemoteRefs reach the queue. */
  readonly _sender: RefSender = ((self: Actors) => ({
    send: (source: AnyActorRef | undefined, address: string, event: EventObject, delivery: Delivery) => self.#send(source, address, event, delivery),
    get system() { return self.#system },
  }))(this)

  #send(source: AnyActorRef | undefined, to: string, event: EventObject, delivery: Delivery): void {
    if (this.#port.closed()) {
      this.counters.dropped++
      return
    }
    const from = source ? (this.#names.get(source) ?? '') : ''
    const wire = toWire(event, this.#refAddress)
    this.counters.sent++
    this.#command({
      type: 'actors.send', to, from: from.startsWith('~') ? '' : from, event: wire.event, refs: wire.refs,
      trace: this.#traceId(), delivery, expose: this.#takeExposed(),
    })
  }

  #pendingExpose: string[] = []
  /** How each local actor was registered with the actors protocol (again after it restarts). */
  readonly #hostCommands = new Map<string, Extract<ActorsCommand, { type: 'actors.host' }>>()

  #host(command: Extract<ActorsCommand, { type: 'actors.host' }>): void {
    this.#hostCommands.set(command.name, command)
    this.#command(command)
  }

  /** The address a ref travels as; a local actor that has none yet is exposed under `~e<n>`. */
  readonly #refAddress = (ref: AnyActorRef): string => {
    if (ref instanceof RemoteRef) return ref.address
    const name = this.#localName(ref)
    this.#pendingExpose.push(name)
    return actorAddress(this.#node, name)
  }

  /** A local actor's name for the actors protocol: its hosted name, or `~e<n>` (registered the first time). */
  #localName(ref: AnyActorRef): string {
    let name = this.#names.get(ref)
    if (name === undefined) {
      name = `~e${++this.#seq}`
      this.#names.set(ref, name)
      this.#exposed.set(name, ref)
      if (this.#exposed.size > this.#settings.limits.maxActors / 2) this.#exposed.delete(this.#exposed.keys().next().value!)
      this.#host({ type: 'actors.host', name, accept: 'local', granted: [] })
      ref.subscribe({ complete: () => { if (this.#exposed.delete(name!)) this.#command({ type: 'actors.exited', name: name!, reason: 'stopped' }) }, error: () => {} })
    }
    return name
  }

  #takeExposed(): string[] {
    if (this.#pendingExpose.length === 0) return NO_NAMES
    const names = this.#pendingExpose
    this.#pendingExpose = []
    return names
  }

  /**
   * The ref for an address the actors protocol has already checked (a ref path of an event it
   * handed over, or of an answer: `checkEvent` in machines/actors/wire.ts), not parsed again.
   */
  readonly #refFor = (address: string): AnyActorRef => this.#remote.get(address) ?? this.#newRef(address, isReplySlot(address))

  #deliver(args: DeliverArgs): string {
    const target = this.#hosted.get(args.name)?.ref ?? this.#exposed.get(args.name)
    if (!target) return 'no-such-actor'
    if (target.getSnapshot().status !== 'active') return 'actor-stopped'
    const event = args.refs.length === 0 ? args.event : fromWire(args.event, args.refs, this.#refFor)
    if (args.check) {
      const accept = this.#accept.get(args.name)
      const node = args.peer === this.#peerId ? this.#node : `/p2p/${args.peer}`
      try {
        if (!accept?.({ peer: args.peer, ...(args.from ? { actor: actorAddress(node, args.from) } : {}) }, event)) return 'rejected'
      } catch {
        return 'rejected'
      }
    }
    const outer = this.#trace
    this.#trace = args.trace
    try {
      target.send(event)
    } finally {
      this.#trace = outer
    }
    this.counters.delivered++
    return 'ok'
  }

  /** A trace id: the one of the event being handled (a causal chain), or a new one. */
  #traceId(): string {
    return this.#trace ?? `${this.#tracePrefix}.${++this.#seq}`
  }

  /** @internal every event as the swarm settles it (bookkeeping that must not wait for the reader). */
  _observe(event: { type: string; [key: string]: unknown }): void {
    if (event.type === 'actor.undelivered') this.counters.undelivered++
    else if (event.type === 'actors.released') {
      this.#hosted.delete(event.name as string)
      this.#hostCommands.delete(event.name as string)
    } else if (event.type === 'protocol.restarted' && event.protocol === DISCOVERY_ID) {
      // Discovery forgot its state: the lookups it ran, and what this node provides.
      this.#lookups?.failAll(ErrorCodes.NOT_FOUND, 'discovery restarted')
      this.#command({ type: 'actors.reprovide' })
    } else if (event.type === 'protocol.restarted' && event.protocol === ACTORS_ID) {
      // The actors protocol actor was restarted with empty state: tell it again what is hosted
      // here, and that discovery may still protect peers for the actor before it.
      for (const [name, command] of this.#hostCommands) if (this.#hosted.has(name) || this.#exposed.has(name)) this.#command(command)
      this.#command({ type: 'actors.adoptProtections' })
    }
    else if (event.type === 'swarm.closed') {
      for (const h of this.#hosted.values()) if (h.running) h.stop()
      const closed = () => new XswarmError(ErrorCodes.SWARM_CLOSED, 'the swarm closed')
      for (const ask of this.#asks.values()) ask.reject(closed())
      for (const spawn of this.#spawns.values()) spawn.reject(closed())
      this.#lookups?.failAll(ErrorCodes.SWARM_CLOSED, 'the swarm closed')
      this.#asks.clear()
      this.#spawns.clear()
    }
  }

  /** @internal an internal event reached the reader: settle its promise. True: not for the user. */
  _settle(event: { type: string; [key: string]: unknown }): boolean {
    if (!event.type.startsWith('actors.')) return this.#lookups?.settle(event) ?? false
    if (event.type === 'actors.answer') {
      const ask = this.#asks.get(event.askId as number)
      if (!ask) return true
      this.#asks.delete(event.askId as number)
      if (event.code !== undefined) ask.reject(new XswarmError(event.code as string, `ask ${ask.address}: ${String(event.code)}`))
      else ask.resolve(fromWire(event.event as EventObject, event.refs as RefPath[], this.#refFor))
    } else if (event.type === 'actors.spawned') {
      const spawn = this.#spawns.get(event.reqId as number)
      if (!spawn) return true
      this.#spawns.delete(event.reqId as number)
      if (event.code !== undefined) spawn.reject(new XswarmError(event.code as string, `spawnOn: ${String(event.code)}`))
      else spawn.resolve(this.ref(event.address as string))
    }
    return true
  }

  /** @internal close: stop every hosted actor (their watchers elsewhere see `node-closed`). */
  _stopAll(): void {
    for (const h of this.#hosted.values()) if (h.running) h.stop()
  }

  #addressOf(target: ActorTarget): string {
    if (typeof target === 'string') return this.ref(target).address
    if (target instanceof RemoteRef) return target.address
    if (typeof target === 'object' && target !== null && typeof (target as Spawned).address === 'string') return (target as Spawned).address
    if (isActorRef(target)) {
      const name = this.#names.get(target)
      if (name !== undefined && !name.startsWith('~')) return actorAddress(this.#node, name)
    }
    throw new TypeError('"target" expected an actor address, a ref from actors.ref, or a hosted actor')
  }

  /**
   * Queue a command for the actors protocol. Commands are batched until the current task ends
   * (one input, so the envelopes of a burst of sends leave in few frames), in order. After
   * close there is nobody to take them: dropped, counted.
   */
  #command(event: ActorsCommand): void {
    if (this.#port.closed()) {
      this.counters.dropped++
      return
    }
    if (this.#during !== undefined) {
      this.#during.push(event)
      return
    }
    if (this.#batch.length === 0) queueMicrotask(() => this.#flush())
    this.#batch.push(event)
  }

  #batch: ActorsCommand[] = []
  /** Commands queued while a `deliver` call runs (they travel back with its answer). */
  #during: ActorsCommand[] | undefined = undefined

  /**
   * Hand one settle's events to their actors. What the actors send while handling them (a
   * reply, above all) goes back with the outcomes, in the answer of this call: one input
   * instead of two. What was queued before goes first, as an input of its own, so commands
   * keep their order; beyond one batch, the rest follows as usual, after the answer.
   */
  #deliverAll(items: DeliverArgs[]): DeliverAnswer {
    this.#flush()
    const sent: ActorsCommand[] = []
    this.#during = sent
    let results: string[]
    try {
      results = items.map((item) => this.#deliver(item))
    } catch (error) {
      this.#during = undefined
      for (const c of sent) this.#command(c) // nothing sent is lost: it follows the (failed) answer
      throw error
    }
    this.#during = undefined
    for (const c of sent.splice(MAX_BATCH)) this.#command(c)
    return { results, commands: sent }
  }

  #flush(): void {
    const commands = this.#batch
    this.#batch = []
    if (commands.length === 0) return
    if (this.#port.closed()) {
      this.counters.dropped += commands.length
      return
    }
    for (let i = 0; i < commands.length; i += MAX_BATCH) {
      const chunk = commands.slice(i, i + MAX_BATCH)
      this.#port.command(chunk.length === 1 ? chunk[0] : { type: 'actors.batch', commands: chunk })
    }
  }

  #assertOpen(what: string): void {
    if (this.#port.closed()) throw new XswarmError(ErrorCodes.SWARM_CLOSED, `cannot ${what}: the swarm is closed`)
  }
}

function checkDelivery(delivery: Delivery | undefined): Delivery {
  if (delivery === undefined || delivery === 'at-most-once' || delivery === 'at-least-once') return delivery ?? 'at-most-once'
  throw new RangeError(`"delivery" expected 'at-most-once' or 'at-least-once', got ${String(delivery)}`)
}

function checkEvent(event: EventObject): EventObject {
  if (typeof event !== 'object' || event === null || typeof event.type !== 'string') throw new TypeError('"event" expected an object with a string "type"')
  return event
}

function acceptPolicy(accept: Accept | undefined): { accept: AcceptPolicy; granted: string[] } {
  if (accept === undefined || accept === 'local') return { accept: 'local', granted: [] }
  if (accept === 'any') return { accept: 'any', granted: [] }
  if (typeof accept === 'function') return { accept: 'custom', granted: [] }
  if (Array.isArray(accept) && accept.every((p) => typeof p === 'string')) return { accept: 'local', granted: [...accept] }
  throw new TypeError(`"accept" expected 'local', 'any', an array of peer ids or a function, got ${String(accept)}`)
}

function superviseOptions(s: Partial<Supervise> | undefined): Supervise | undefined {
  if (s === undefined) return undefined
  if (typeof s !== 'object' || s === null) throw new TypeError('"supervise" expected an object')
  const out = { ...DEFAULT_SUPERVISE, restart: 'on-error' as const, ...s }
  if (out.restart !== 'on-error' && out.restart !== 'never') throw new RangeError(`"supervise.restart" expected 'on-error' or 'never', got ${String(out.restart)}`)
  for (const key of ['maxRestarts', 'withinMs', 'backoffMs'] as const) {
    if (!Number.isFinite(out[key]) || out[key] < 0) throw new RangeError(`"supervise.${key}" expected a number >= 0, got ${String(out[key])}`)
  }
  return out
}

export { ACTORS_ID }

/**
 * Swarm: the user's handle on a node. Iterate it to drive it; query it for what you were told.
 *
 * The swarm advances while it is driven: taking an event (`for await (const e of swarm)`,
 * `swarm.next()`, or `swarm.take()` in a simulation) takes inputs off the queue and settles
 * them until an event comes out. `isConnected`/`peers` read a view that changes only as
 * events are handed out, so what a user can query and the events they have taken never
 * disagree. Commands (`dial`, `publish`, ...) validate their arguments at once (TypeError /
 * RangeError / AddressError) and are otherwise queued: their outcome arrives as an event.
 * @module
 */
import type { ProtocolEvent } from '../machines/vocab.js'
import type { CommandFor, SwarmEvent } from './events.js'
import { ErrorCodes, XswarmError } from './errors.js'
import { parseDialAddress } from './identity/address.js'
import { InOrder } from './in-order.js'
import type { Driver } from './runtime/driver.js'
import { nextTurn } from './runtime/clock.js'
import { InputQueue } from './runtime/queue.js'
import type { Actors } from './actors/actors.js'

export type { SwarmEvent }

/** Any event a swarm may hand out, whatever its protocols: the type of `Swarm` without parameters. */
export type AnySwarmEvent = SwarmEvent | ProtocolEvent

const PUBSUB_ID = '/xswarm/pubsub/1'
const DISCOVERY_ID = '/xswarm/discovery/1'

/** Where `findPeer` found a peer. */
export interface FoundPeer { peer: string; addresses: string[]; rounds: number }
/** Events handed out before the consumer yields to the event loop once (so IO keeps flowing). */
const EVENTS_PER_TURN = 1024
/** Inputs settled per pump before yielding to the event loop. */
const STEPS_PER_TURN = 512
/** `#nextNow` found no event it could hand out without waiting. */
const NOT_NOW = Symbol('not-now')

/**
 * `E` is the union of events this swarm hands out and `C` its commands by protocol id, both
 * inferred by `createSwarm` from its protocols (see src/events.ts).
 */
export class Swarm<E extends { type: string } = AnySwarmEvent, C extends object = any> implements AsyncIterable<E> {
  /** This node's peer id (base58 of sha256 of its ed25519 public key). */
  readonly peerId: string
  readonly #driver: Driver
  readonly #events = new InputQueue<AnySwarmEvent>(Number.MAX_SAFE_INTEGER)
  readonly #connected = new Set<string>()
  readonly #protocols: ReadonlySet<string>
  #addresses: string[] = []
  #rootClosed = false
  #ended = false
  #closing: Promise<void> | null = null
  #signal: { promise: Promise<void>; resolve: () => void } | null = null
  /** The iterator that reads this swarm's events, from its first `next()` to its end (one reader). */
  #reader: object | null = null
  /** A `next()` is waiting for an event. */
  #waiting = false
  #handedOut = 0
  /** Inputs settled since the consumer last yielded to the event loop (across wake-ups). */
  #stepsSinceYield = 0
  #pubsubSeq = 0
  /** Events put in the stream so far (the position of the latest one). */
  #pushed = 0
  readonly #inOrder = new InOrder()
  #querySeq = 0
  readonly #queries = new Map<number, { resolve: (found: FoundPeer) => void; reject: (error: Error) => void }>()

  readonly #actors: Actors | undefined
  /** Protocols given up after too many restarts (machines/protocol-restart.ts). */
  readonly #failedProtocols = new Set<string>()

  /** @internal use createSwarm */
  constructor(peerId: string, driver: Driver, protocols: ReadonlySet<string>, actors?: Actors) {
    this.peerId = peerId
    this.#driver = driver
    this.#protocols = protocols
    this.#actors = actors
  }

  /** The actor layer (README "Actors"): spawn, ref, ask, watch, spawnOn, stop. */
  get actors(): Actors {
    if (!this.#actors) throw new RangeError('swarm.actors: the actor layer is off on this swarm (createSwarm({ actors: false }))')
    return this.#actors
  }

  /** Full dialable addresses, each ending in /p2p/<peerId>. */
  get addresses(): string[] {
    return [...this.#addresses]
  }

  /** @internal createSwarm gives the addresses as soon as the listeners are up. */
  _listening(addresses: readonly string[]): void {
    this.#addresses = [...addresses]
  }

  /** @internal called by the driver for every swarm event, in order. */
  _event(event: { type: string; [key: string]: unknown }): void {
    if (event.type === 'swarm.listening') this.#addresses = [...(event as unknown as { addresses: string[] }).addresses]
    this.#events.push(event as AnySwarmEvent)
    this.#pushed++
    this.#actors?._observe(event)
    if (event.type === 'swarm.error' && event.code === 'protocol-failed' && event.final === true) this.#failedProtocols.add(String(event.protocol))
    if (event.type === 'discovery.peer.found' || event.type === 'discovery.peer.notFound') this.#answer(event)
    if (event.type === 'swarm.closed') {
      for (const query of this.#queries.values()) {
        this._settleInOrder(() => query.reject(new XswarmError(ErrorCodes.SWARM_CLOSED, 'findPeer: the swarm closed')))
      }
      this.#queries.clear()
      this.#rootClosed = true
      this._input() // wake a close() that waits for input: nothing more will come
    }
  }

  /** @internal set by a simulation that drives this swarm: told when an input is queued. */
  _onInput: (() => void) | undefined = undefined

  /** @internal called by the driver when an input is queued. */
  _input(): void {
    this._onInput?.()
    const signal = this.#signal
    if (signal) {
      this.#signal = null
      signal.resolve()
    }
  }

  /** Dial an address (`ws://host:port/p2p/<id>` or its multiaddr form). The outcome is `peer.connected` or `dial.failed`. */
  dial(address: string): void {
    const parsed = parseDialAddress(address)
    this.#assertOpen('dial')
    this.#driver.push({ type: 'cmd.dial', address, url: parsed.url, ...(parsed.peerId ? { peer: parsed.peerId } : {}) })
  }

  /** Close the connection to a peer; `peer.disconnected` follows. */
  hangUp(peer: string, reason = 'hung-up'): void {
    if (typeof peer !== 'string') throw new TypeError(`"peer" expected a peer id string, got ${typeof peer}`)
    if (typeof reason !== 'string' || reason.length > 100) throw new RangeError('"reason" expected a string of at most 100 characters')
    this.#assertOpen('hangUp')
    this.#driver.push({ type: 'cmd.hangUp', peer, reason })
  }

  /** Whether `peer` is connected, as of the last event taken. */
  isConnected(peer: string): boolean {
    return this.#connected.has(peer)
  }

  /** Connected peer ids, as of the last event taken. */
  peers(): string[] {
    return [...this.#connected]
  }

  /** Send a command to a protocol's actor (its user API); e.g. `command('/xswarm/ping/1', { type: 'ping.send', peer })`. */
  command<P extends string>(protocol: P, event: CommandFor<C, P>): void {
    this.#command(protocol, event as unknown as { type: string } & Record<string, unknown>)
  }

  #command(protocol: string, event: { type: string } & Record<string, unknown>): void {
    if (!this.#protocols.has(protocol)) {
      throw new RangeError(`"protocol" ${JSON.stringify(protocol)} is not running on this swarm (running: ${[...this.#protocols].join(', ')})`)
    }
    if (typeof event !== 'object' || event === null || typeof event.type !== 'string') {
      throw new TypeError('"event" expected an object with a string "type"')
    }
    if (this.#failedProtocols.has(protocol)) {
      throw new XswarmError(ErrorCodes.PROTOCOL_FAILED, `protocol ${protocol} failed past its restart budget and is stopped (see the swarm.error event)`)
    }
    this.#assertOpen('command')
    this.#driver.push({ type: 'cmd.protocol', protocol, event })
  }

  /** Join a pubsub topic; `pubsub.subscribed` follows. */
  subscribe(topic: string): void {
    this.#command(PUBSUB_ID, { type: 'pubsub.subscribe', topic: checkTopic(topic) })
  }

  /** Leave a pubsub topic. */
  unsubscribe(topic: string): void {
    this.#command(PUBSUB_ID, { type: 'pubsub.unsubscribe', topic: checkTopic(topic) })
  }

  /** Publish bytes to a topic; returns a local id echoed by `pubsub.published` or `pubsub.publish.failed`. */
  publish(topic: string, data: Uint8Array): number {
    if (!(data instanceof Uint8Array)) throw new TypeError(`"data" expected Uint8Array, got ${typeof data}`)
    const publishId = ++this.#pubsubSeq
    this.#command(PUBSUB_ID, { type: 'pubsub.publish', topic: checkTopic(topic), data, publishId })
    return publishId
  }

  /**
   * Find a peer's addresses with iterative Kademlia lookups (discovery must be on). Like
   * everything, the lookup runs through the queue, and the promise settles in order with the
   * events: when you take its answer (`discovery.peer.found` / `discovery.peer.notFound`), so
   * it never tells of a state your event stream has not reached. Rejects with XswarmError
   * `not-found` (the message says why), or `swarm-closed` when you take `swarm.closed` first.
   */
  findPeer(peer: string): Promise<FoundPeer> {
    if (typeof peer !== 'string' || peer.length === 0 || peer.length > 128) throw new TypeError('"peer" expected a peer id string')
    const queryId = ++this.#querySeq
    this.#command(DISCOVERY_ID, { type: 'discovery.findPeer', peer, queryId })
    return new Promise((resolve, reject) => this.#queries.set(queryId, { resolve, reject }))
  }

  #answer(event: { type: string; [key: string]: unknown }): void {
    const query = this.#queries.get(event.queryId as number)
    if (!query) return
    this.#queries.delete(event.queryId as number)
    if (event.type === 'discovery.peer.found') {
      const found = { peer: event.peer as string, addresses: event.addresses as string[], rounds: event.rounds as number }
      this._settleInOrder(() => query.resolve(found))
    } else {
      const error = new XswarmError(ErrorCodes.NOT_FOUND, `findPeer ${String(event.peer)}: ${String(event.reason ?? 'not-found')} after ${String(event.rounds)} rounds`)
      this._settleInOrder(() => query.reject(error))
    }
  }

  /**
   * @internal Settle a promise in order with the events: `settle` runs when the consumer takes
   * the event most recently put in the stream (call it from `_event`, right after the answer's
   * event), or at once if that event was already taken. See src/in-order.ts.
   */
  _settleInOrder(settle: () => void): void {
    this.#inOrder.at(this.#pushed, settle)
  }

  /** Ids of the protocols this swarm runs (built-ins and yours). */
  get protocols(): string[] {
    return [...this.#protocols]
  }

  /** Counters: inputs settled, frames and bytes in and out, sends dropped, sockets paused. */
  stats(): Readonly<Driver['stats']> & { queued: number; pendingEvents: number } {
    return { ...this.#driver.stats, queued: this.#driver.queued, pendingEvents: this.#events.length }
  }

  /**
   * Take the next event without waiting: settle inputs until one comes out, or return
   * `undefined` when the queue is empty. For simulations and tests that drive time themselves.
   * Throws XswarmError `reader-busy` while a `for await` loop or a `next()` reads the swarm.
   */
  take(maxSteps = Number.MAX_SAFE_INTEGER): E | undefined {
    this.#checkReader(null, 'take')
    return this.#take(maxSteps)
  }

  #take(maxSteps: number): E | undefined {
    for (let steps = 0; ; steps++) {
      while (this.#events.length > 0) {
        const event = this.#handOut()
        if (event) return event
      }
      if (steps >= maxSteps || !this.#driver.step()) return undefined
    }
  }

  /**
   * Wait for the next event; `undefined` once the stream has ended (after `swarm.closed`).
   * A swarm has one reader: while a `next()` waits or a `for await` loop runs, another
   * `next()` rejects at once with XswarmError `reader-busy`.
   */
  next(): Promise<E | undefined> {
    return this.#next(null)
  }

  async #next(owner: object | null): Promise<E | undefined> {
    this.#checkReader(owner, 'next')
    this.#waiting = true
    try {
      return await this.#nextEvent()
    } finally {
      this.#waiting = false
    }
  }

  /**
   * The next event when it can be had without waiting or yielding to the event loop: the event,
   * `undefined` at the end of the stream, or NOT_NOW (then `#nextEvent` waits or yields). The
   * same steps as `#nextEvent`, so a busy reader's `next()` costs one promise instead of one per
   * async layer.
   */
  #nextNow(): E | undefined | typeof NOT_NOW {
    if (this.#handedOut + 1 >= EVENTS_PER_TURN) return NOT_NOW
    if (this.#ended) return undefined
    if (this.#stepsSinceYield >= STEPS_PER_TURN) return NOT_NOW
    const event = this.#takeThisTurn()
    if (!event) return NOT_NOW
    this.#handedOut++
    return event
  }

  /** Settle inputs, within what is left of this turn's STEPS_PER_TURN, until an event comes out. */
  #takeThisTurn(): E | undefined {
    const before = this.#driver.stats.inputs
    const event = this.#take(STEPS_PER_TURN - this.#stepsSinceYield)
    this.#stepsSinceYield += this.#driver.stats.inputs - before
    return event
  }

  async #nextEvent(): Promise<E | undefined> {
    if (++this.#handedOut >= EVENTS_PER_TURN) {
      this.#handedOut = 0
      await yieldToEventLoop()
    }
    for (;;) {
      if (this.#ended) return undefined
      // Inputs that arrive by microtask (the in-memory transport) never let timers and IO run
      // on their own: yield once per STEPS_PER_TURN inputs, whatever woke us.
      if (this.#stepsSinceYield >= STEPS_PER_TURN) {
        this.#stepsSinceYield = 0
        await yieldToEventLoop()
      }
      const event = this.#takeThisTurn()
      if (event) return event
      if (this.#driver.queued > 0) {
        this.#stepsSinceYield = 0
        await yieldToEventLoop()
      } else {
        await this.#waitForInput()
      }
    }
  }

  /**
   * The events as an async iterator. The loop is the swarm's one reader from its first step
   * until it ends (`break`, `return`, a throw, or the end of the stream); a second loop started
   * meanwhile throws XswarmError `reader-busy` at once.
   */
  [Symbol.asyncIterator](): AsyncIterator<E> {
    const owner = {}
    const release = (): void => {
      if (this.#reader === owner) this.#reader = null
    }
    const result = (event: E | undefined): IteratorResult<E> => {
      if (event !== undefined) return { done: false, value: event }
      release()
      return { done: true, value: undefined }
    }
    return {
      next: () => {
        try {
          this.#checkReader(owner, 'for await')
          this.#reader = owner
          const now = this.#nextNow()
          if (now !== NOT_NOW) return Promise.resolve(result(now))
        } catch (error) {
          return Promise.reject(error)
        }
        return this.#next(owner).then(result)
      },
      return: async () => {
        release()
        return { done: true, value: undefined }
      },
    }
  }

  /** One reader at a time (like rust-libp2p's Swarm): a second one is told at once, never silently split. */
  #checkReader(owner: object | null, what: string): void {
    if (this.#waiting || (this.#reader !== null && this.#reader !== owner)) {
      throw new XswarmError(ErrorCodes.READER_BUSY, `${what}: this swarm already has a reader (a swarm has one reader: one for-await loop or one pending next() at a time; hand its events on from that loop)`)
    }
  }

  /**
   * Close gracefully: protocols say goodbye, peers are told (`swarm-closed`), listeners stop.
   * Idempotent. Resolves when everything is released; the event stream then ends with
   * `swarm.closed` (events not yet taken stay available).
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing
    this.#closing = (async () => {
      if (!this.#rootClosed) this.#driver.push({ type: 'cmd.close' })
      while (!this.#rootClosed) {
        let steps = 0
        while (!this.#rootClosed && steps++ < STEPS_PER_TURN && this.#driver.step()) { /* settle */ }
        if (this.#rootClosed) break
        if (this.#driver.queued > 0) await yieldToEventLoop()
        else await this.#waitForInput()
      }
      await this.#driver.shutdown()
    })()
    return this.#closing
  }

  /** Whether `close()` has been called (or the swarm closed by itself). */
  get closed(): boolean {
    return this.#closing !== null || this.#rootClosed
  }

  /** The next event for the user, or `undefined` if it settled a promise instead (`actors.*`). */
  #handOut(): E | undefined {
    const event = this.#events.shift()!
    this.#inOrder.took()
    if (this.#actors?._settle(event as never)) return undefined
    switch (event.type) {
      case 'peer.connected': this.#connected.add((event as { peer: string }).peer); break
      case 'peer.disconnected': this.#connected.delete((event as { peer: string }).peer); break
      case 'swarm.closed': this.#ended = true; this.#connected.clear(); break
    }
    return event as unknown as E
  }

  #waitForInput(): Promise<void> {
    if (!this.#signal) {
      let resolve!: () => void
      const promise = new Promise<void>((r) => { resolve = r })
      this.#signal = { promise, resolve }
    }
    return this.#signal.promise
  }

  #assertOpen(what: string): void {
    if (this.#closing || this.#rootClosed) {
      throw new XswarmError(ErrorCodes.SWARM_CLOSED, `cannot ${what}: the swarm is closed`)
    }
  }
}

function checkTopic(topic: string): string {
  if (typeof topic !== 'string') throw new TypeError(`"topic" expected a string, got ${typeof topic}`)
  if (topic.length === 0 || topic.length > 256) throw new RangeError(`"topic" expected 1 to 256 characters, got ${topic.length}`)
  return topic
}

/** Let timers and IO run (src/runtime/clock.ts `nextTurn`). */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => nextTurn(resolve))

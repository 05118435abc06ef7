/**
 * `swarm.actors.lookup(name)`: the actors of that name anywhere in the network, found through
 * provider records in discovery's Kademlia DHT (machines/discovery/providers.ts).
 *
 * A node announces each actor others may reach by name (machines/actors/names.ts) under the
 * SHA-256 key of its name, and republishes while it lives. A lookup asks discovery for the key's
 * providers (`discovery.findProviders`: an iterative GET_PROVIDERS lookup, ended by its timeout
 * at the latest), and turns every provider into a ref to `<its address>/actor/<name>`; this
 * node's own actor of that name is always among them. Answers come back as
 * `discovery.providers.found` / `.failed` events with this layer's query ids (`actors:<n>`);
 * they settle the promise when the reader takes them, in order with the other events, and are
 * not handed out.
 * @module
 */
import { actorNameKey } from '../../machines/actors/names.js'
import { USER_NAME } from '../../machines/actors/address.js'
import { MAX_PROVIDERS_TIMEOUT } from '../../machines/discovery/providers.js'
import type { FoundProvider } from '../../machines/discovery/context.js'
import { ErrorCodes, XswarmError } from '../errors.js'
import type { RemoteRef } from './remote-ref.js'

export interface LookupOptions {
  /** The lookup ends by then (ms; default the actors' `timeouts.lookup`, 10 s). */
  timeout?: number
}

/** What lookups need from the actor layer. */
export interface LookupPort {
  /** Send a command to discovery; `undefined` when the swarm runs without it. */
  discover: ((event: { type: string } & Record<string, unknown>) => void) | undefined
  /** Refs to the actors named `name` on these providers (and on this node, if it hosts one). */
  refsOf(name: string, providers: readonly FoundProvider[]): RemoteRef[]
  defaultTimeout(): number
  assertOpen(what: string): void
}

interface Pending { name: string; resolve: (refs: RemoteRef[]) => void; reject: (error: Error) => void }

const QUERY_PREFIX = 'actors:'

/** Why discovery could not run a lookup, as an error code. */
const FAILURE_CODES: Record<string, string> = {
  'too-many-lookups': ErrorCodes.OVERLOADED,
  closed: ErrorCodes.SWARM_CLOSED,
  cancelled: ErrorCodes.SWARM_CLOSED,
}

export class ActorLookups {
  readonly #pending = new Map<string, Pending>()
  #seq = 0

  constructor(private readonly port: LookupPort) {}

  lookup(name: string, options: LookupOptions = {}): Promise<RemoteRef[]> {
    if (typeof name !== 'string' || !USER_NAME.test(name)) throw new RangeError(`"name" expected 1-64 of A-Z a-z 0-9 . _ -, got ${JSON.stringify(name)}`)
    if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected an object')
    const timeout = options.timeout ?? this.port.defaultTimeout()
    if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 1 || timeout > MAX_PROVIDERS_TIMEOUT) {
      throw new RangeError(`"timeout" expected an integer number of ms in 1..${MAX_PROVIDERS_TIMEOUT}, got ${String(timeout)}`)
    }
    const discover = this.port.discover
    if (!discover) throw new RangeError('lookup: discovery is off on this swarm (createSwarm({ discovery: false })); lookups need its DHT')
    this.port.assertOpen('lookup')
    const queryId = `${QUERY_PREFIX}${++this.#seq}`
    const promise = new Promise<RemoteRef[]>((resolve, reject) => this.#pending.set(queryId, { name, resolve, reject }))
    discover({ type: 'discovery.findProviders', key: actorNameKey(name), queryId, timeout })
    return promise
  }

  /** An event taken by the reader: settle the lookup it answers. True: it was one of ours (not for the user). */
  settle(event: { type: string; [key: string]: unknown }): boolean {
    if (event.type !== 'discovery.providers.found' && event.type !== 'discovery.providers.failed') return false
    const queryId = event.queryId
    if (typeof queryId !== 'string' || !queryId.startsWith(QUERY_PREFIX)) return false
    const pending = this.#pending.get(queryId)
    if (!pending) return true
    this.#pending.delete(queryId)
    if (event.type === 'discovery.providers.failed') {
      const reason = String(event.reason)
      pending.reject(new XswarmError(FAILURE_CODES[reason] ?? ErrorCodes.NOT_FOUND, `lookup ${pending.name}: ${reason}`))
      return true
    }
    const refs = this.port.refsOf(pending.name, event.providers as FoundProvider[])
    if (refs.length === 0 && event.timedOut === true) {
      pending.reject(new XswarmError(ErrorCodes.TIMEOUT, `lookup ${pending.name}: no provider found before the timeout (${String(event.rounds)} rounds)`))
    } else pending.resolve(refs)
    return true
  }

  /** Every pending lookup fails (the swarm closed, or discovery restarted and forgot them). */
  failAll(code: string, message: string): void {
    for (const p of this.#pending.values()) p.reject(new XswarmError(code, `lookup ${p.name}: ${message}`))
    this.#pending.clear()
  }
}

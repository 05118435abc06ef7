/**
 * The discovery actor's context, its events and commands, and the outputs its handlers ask for.
 *
 * The steps behind the machine's named actions and guards (exchange.ts, connections.ts,
 * queries.ts) are plain functions of the context, the event and the input time. They update the
 * context in place (peer store, routing table and rng are large, mutable and owned by this one
 * actor) and push `Out` items to `context.out`, which the machine's `flush` action performs as
 * `emit` / `sendTo` / `spawnChild` / `stopChild` at the end of each transition.
 * @module
 */
import { splitAddress, type DialRequest, type FromSwarm, type HangUpRequest, type ProtocolInput } from '../lib/protocol.js'
import { createRng, firstPeriodDelay, type Rng } from '../lib/rng.js'
import type { SendEffect } from '../vocab.js'
import { createTable, peerKey, type Key, type RoutingTable } from './kbucket.js'
import type { LookupEvent, LookupInput, LookupOutput, LookupQuery } from './lookup.machine.js'
import type { DiscoveryMessage } from './messages.js'
import { providerSweepInterval, resolveOptions, type DiscoveryOptions, type ResolvedDiscoveryOptions } from './options.js'
import { createPeerStore, importPeers, rememberPeer, type ExportedPeer, type PeerStore } from './peer-store.js'
import { createProviderStore, type ProviderStore } from './provider-store.js'

/** The protocol id. */
export const DISCOVERY_ID = '/xswarm/discovery/1'

/** Close reasons of discovery's connection manager: above the high watermark; a lookup's connection no longer used. */
export const TRIMMED = 'trimmed'
export const LOOKUP_DONE = 'lookup-done'

/** User commands (sent with `cmd.protocol` to `/xswarm/discovery/1`). */
export type DiscoveryCommand =
  /** Find a peer's addresses; answered by `discovery.peer.found` or `discovery.peer.notFound`. */
  | { type: 'discovery.findPeer'; peer: string; queryId: string | number }
  /** Ask for the peer store's contents; answered by `discovery.exported`. */
  | { type: 'discovery.export' }
  /** Never trim this peer (`tag` lets several owners protect independently; default `user`). */
  | { type: 'discovery.protect'; peer: string; tag?: string }
  /** Withdraw one protection tag (default `user`). */
  | { type: 'discovery.unprotect'; peer: string; tag?: string }
  /** This node provides `key` (32 bytes): announce it to the k closest peers, and republish until `unprovide`. */
  | { type: 'discovery.provide'; key: Uint8Array }
  /** Stop providing `key` (not republished; the records elsewhere expire after their TTL). */
  | { type: 'discovery.unprovide'; key: Uint8Array }
  /**
   * Who provides `key`: an iterative GET_PROVIDERS lookup ending at the latest after `timeout`
   * ms; answered by `discovery.providers.found` or `discovery.providers.failed`.
   */
  | { type: 'discovery.findProviders'; key: Uint8Array; queryId: string | number; timeout?: number }

/** Events discovery hands to the user. */
export type DiscoveryUserEvent =
  /** A peer learned from the network for the first time, with its dialable addresses. */
  | { type: 'peer.discovered'; peer: string; addresses: string[] }
  /** Answer to `discovery.findPeer`. */
  | { type: 'discovery.peer.found'; queryId: string | number; peer: string; addresses: string[]; rounds: number }
  /** Answer to `discovery.findPeer` (`reason`: not-found, invalid-peer, no-peers, too-many-lookups, cancelled, disabled, closed). */
  | { type: 'discovery.peer.notFound'; queryId: string | number; peer: string; rounds: number; reason: string }
  /** The peer store, for persistence (answer to `discovery.export`, and sent once on `swarm.closing`). */
  | { type: 'discovery.exported'; peers: ExportedPeer[] }
  /**
   * Answer to `discovery.findProviders`: the providers found (this node included when it
   * provides the key), `timedOut` when the lookup was cut short by its timeout.
   */
  | { type: 'discovery.providers.found'; queryId: string | number; key: string; providers: FoundProvider[]; rounds: number; timedOut: boolean }
  /** Answer to `discovery.findProviders` (`reason`: invalid-key, too-many-lookups, disabled, closed, cancelled). */
  | { type: 'discovery.providers.failed'; queryId: string | number; reason: string }
  /** A node refused to store our provider record for `key` (hex) (`reason`: key-full, peer-full, store-full, no-address, too-many-provided). */
  | { type: 'discovery.provide.refused'; key: string; peer: string; reason: string }

/** A provider as a lookup found it. */
export interface FoundProvider { peer: string; addresses: string[] }

/** A finished (or failed) lookup child. */
export interface LookupDone { type: `xstate.done.actor.${string}` | `xstate.error.actor.${string}`; output?: LookupOutput }

export type DiscoveryEvent = FromSwarm<DiscoveryMessage, DiscoveryCommand> | LookupQuery | LookupDone

/** What a handler asks the machine to do, in order. */
export type Out =
  | { kind: 'emit'; event: SendEffect | DiscoveryUserEvent }
  | { kind: 'swarm'; event: DialRequest | HangUpRequest }
  | { kind: 'lookup'; id: string; event: LookupEvent }
  | { kind: 'spawn'; id: string; input: LookupInput }
  /** Remove a finished lookup child (XState keeps done children in the snapshot otherwise). */
  | { kind: 'stop'; id: string }

export interface ConnectionInfo {
  /** Input time it opened. */
  since: number
  /** Its `hello` arrived (only one is accepted per connection). */
  greeted: boolean
  /**
   * We dialed it only to query it for a lookup: closed once idle for `lookupLinger`
   * (connections.ts `releaseLookupConnections`), trimmed first.
   */
  transient: boolean
  /** The lookup that last sent a query over it, while that lookup runs. */
  usedBy: string | undefined
  /** Input time it opened, or the last lookup that used it ended: its idle time counts from there. */
  lastUsed: number
  /** The address the connection runs over (the remote's source, or the one we dialed): its k-bucket group. */
  address: string
}

export interface LookupInfo {
  /** FIND_NODE lookups (`self`, `walk`, `find`, and `provide`: the k closest to a key we announce) or GET_PROVIDERS (`providers`). */
  kind: 'self' | 'walk' | 'find' | 'provide' | 'providers'
  target: Key
  targetPeer?: string
  queryId?: string | number
  /** For `providers`: this node's own providers of the key (peer → addresses), at most maxProvidersPerKey. */
  providers?: Map<string, string[]>
  /**
   * For `providers`: what each answer named (valid addresses only), one list per answer, at
   * most maxProvidersPerKey each and MAX_PROVIDER_ANSWERS lists; chosen from in turn at the end.
   */
  answers?: FoundProvider[][]
}

/** A key this node provides. */
export interface Provided { key: Key; /** Waiting to be announced (new, or the republish interval passed). */ due: boolean }

export interface DialInfo {
  address: string
  since: number
  /** Why: for a lookup's query, to fill the low watermark, or a bootstrap address. */
  purpose: 'lookup' | 'fill' | 'bootstrap'
  /** It replaced a dial of the same peer at another address (whose failure is then not about this one). */
  replaced?: boolean
}

export interface DiscoveryContext {
  peerId: string
  selfKey: Key
  options: ResolvedDiscoveryOptions
  rng: Rng
  /** Our own dialable addresses (with /p2p/<self>). */
  addresses: string[]
  store: PeerStore
  table: RoutingTable
  connected: Map<string, ConnectionInfo>
  /** Connections in `connected` that are `transient` (the chart's `lookupConnections` region reads it). */
  lookupConnections: number
  /** Peers we asked the swarm to hang up on, until their `peer.disconnected`. */
  hangingUp: Set<string>
  /** Dials in flight, by peer id (or `addr:<address>` for a bootstrap address without /p2p). */
  dialing: Map<string, DialInfo>
  /** Protection tags per peer (`user`, `pubsub`, ...). */
  protections: Map<string, Set<string>>
  bootstrapPeers: Set<string>
  bootstrapUrls: Set<string>
  bootstrapAttempt: number
  bootstrapDelay: number
  /**
   * The wait before the manager's next tick: a point of the first tickInterval drawn from the
   * seeded rng, then tickInterval, so nodes started together do not all tick in the same ms.
   */
  tickDelay: number
  /** The current refresh period (refreshInterval with jitter). */
  refreshDelay: number
  /** Refreshes so far (they alternate between a random walk and a self-lookup). */
  refreshCount: number
  lookups: Map<string, LookupInfo>
  /** FIND_NODE and GET_PROVIDERS requests in flight, by request id. */
  pending: Map<number, { lookupId: string; peer: string }>
  /** Lookups waiting for a dial to a peer before they can query it. */
  awaiting: Map<string, string[]>
  nextRequestId: number
  nextLookupId: number
  /** Provider records others announced to us. */
  providerStore: ProviderStore
  /** Keys this node provides, by hex. */
  provided: Map<string, Provided>
  /**
   * The waits before the next republish of the provided keys and the next sweep of expired
   * provider records: a point of the first republishInterval (of the first sweep period) drawn
   * from the seeded rng, then the full period, so nodes started together do not all republish
   * (sweep) in the same ms.
   */
  republishDelay: number
  sweepDelay: number
  /** The lookup announcing a provided key (one at a time), if any. */
  announcing: string | undefined
  /** `provide` messages waiting for a dial to the peer (peer → key hexes). */
  offers: Map<string, string[]>
  /** What the actions of the current input asked for, performed in order by the `flush` action. */
  out: Out[]
}

/** At most this many peers carry protection tags (commands come from local code, but bound anyway). */
export const MAX_PROTECTED = 4_096

const encoder = new TextEncoder()

/** Build the initial context from the protocol input. */
export function createContext(input: ProtocolInput<DiscoveryOptions>, now: number): DiscoveryContext {
  const options = resolveOptions(input.options ?? {})
  const selfKey = peerKey(input.peerId) ?? input.crypto.sha256(encoder.encode(input.peerId))
  const store = createPeerStore(options.maxPeers, options.maxAddresses)
  const rng = createRng(input.seed)
  const ctx: DiscoveryContext = {
    peerId: input.peerId,
    selfKey,
    options,
    rng,
    addresses: ownAddresses(input.peerId, input.addresses ?? []),
    store,
    table: createTable(selfKey, options.k),
    connected: new Map(),
    lookupConnections: 0,
    hangingUp: new Set(),
    dialing: new Map(),
    protections: new Map(),
    bootstrapPeers: new Set(),
    bootstrapUrls: new Set(),
    bootstrapAttempt: 0,
    bootstrapDelay: options.bootstrapBackoff.base,
    tickDelay: firstPeriodDelay(rng, options.tickInterval),
    refreshDelay: options.refreshInterval,
    refreshCount: 1,
    lookups: new Map(),
    pending: new Map(),
    awaiting: new Map(),
    nextRequestId: 1,
    nextLookupId: 1,
    providerStore: createProviderStore({
      maxPerKey: options.maxProvidersPerKey, maxPerPeer: options.maxProviderRecordsPerPeer,
      maxRecords: options.maxProviderRecords, ttl: options.providerTtl, diversity: options.diversity,
    }),
    provided: new Map(),
    // Drawn after tickDelay (createContext's only other draw), so the draws before keep their order.
    republishDelay: firstPeriodDelay(rng, options.republishInterval),
    sweepDelay: firstPeriodDelay(rng, providerSweepInterval(options)),
    announcing: undefined,
    offers: new Map(),
    out: [],
  }
  for (const address of options.bootstrap) {
    const split = splitAddress(address)
    if (!split) continue
    ctx.bootstrapUrls.add(split.url)
    const key = split.peer === undefined ? undefined : peerKey(split.peer)
    if (!split.peer || !key || split.peer === input.peerId) continue
    ctx.bootstrapPeers.add(split.peer)
    rememberPeer(store, split.peer, key, [address], true)
  }
  importPeers(store, options.knownPeers, input.peerId, now)
  return ctx
}

/** Those of `addresses` that are ours to announce (they name our peer id). */
export function ownAddresses(peerId: string, addresses: readonly string[]): string[] {
  return addresses.filter((a) => splitAddress(a)?.peer === peerId).slice(0, 4)
}

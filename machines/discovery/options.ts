/**
 * Discovery options: every knob with its documented default, checked once at the boundary.
 *
 * `resolveOptions` throws TypeError/RangeError with a titled message for a bad value (the
 * machine itself never throws); the resolved form is plain data, passed to the machine as
 * `ProtocolInput.options`.
 * @module
 */
import { splitAddress } from '../lib/protocol.js'
import { checkBackoff, type BackoffOptions } from './backoff.js'
import type { ExportedPeer } from './peer-store.js'
import { parseAllowlist } from '../lib/ip.js'
import type { Diversity } from './diversity.js'

export interface DiscoveryOptions {
  /** `false`: static mode (no bootstrap walk, no peer exchange, no lookups). Default `true`. */
  enabled?: boolean
  /** Addresses dialed at start, and again whenever the node has no connection. Default `[]`. */
  bootstrap?: string[]
  /** Peers persisted by an earlier run (`discovery.exported`), dialed when below the low watermark. */
  knownPeers?: ExportedPeer[]
  /** Below this many connections, dial known peers. Default 8. */
  lowWatermark?: number
  /** Above this many connections, hang up on unprotected peers down to `lowWatermark`. Default 16. */
  highWatermark?: number
  /** Dials discovery keeps in flight at once. Default 8. */
  maxDials?: number
  /** A connection younger than this is never trimmed (ms). Default 30 s. */
  gracePeriod?: number
  /** Period of the connection manager's check (ms). Default 10 s. */
  tickInterval?: number
  /** Period of random-walk lookups (ms); 0 disables them. Default 5 min (libp2p's default). */
  refreshInterval?: number
  /** Bucket size and lookup result size. Default 20. */
  k?: number
  /** FIND_NODE queries in flight per lookup round. Default 3. */
  alpha?: number
  /** Rounds after which a lookup gives up. Default 20. */
  maxRounds?: number
  /** Time a lookup round waits for its queries (dial included) (ms). Default 10 s. */
  queryTimeout?: number
  /** Time one query of a lookup may take (dial included) before the next candidate is asked instead (ms). Default 3 s. */
  contactTimeout?: number
  /**
   * A connection discovery opened only to query a peer for a lookup is closed once it has been
   * idle this long (ms): no query in flight or waiting on it. It stays, as an ordinary
   * connection, when the peer is protected (a pubsub mesh, `discovery.protect`) or the node is at
   * its low watermark. Default 2 s (a follow-up query within it reuses the connection).
   */
  lookupLinger?: number
  /** Disjoint paths of a lookup (S/Kademlia): a peer serves one path, α is shared among them, and each path runs until its own k closest have answered (about d times the queries). Default 1. */
  disjointPaths?: number
  /** Lookups running at once (findPeer beyond this is answered `too-many-lookups`). Default 4. */
  maxLookups?: number
  /** Records in the peer store. Default 1000. */
  maxPeers?: number
  /** A peer first heard of in a lookup answer is forgotten after this long unless it was connected or claimed its addresses itself (ms). Default 2 min (the libp2p DHT's TempAddrTTL). */
  heardPeerTtl?: number
  /** Peers sent in a peer exchange. Default 16 (at most 32, the parser's bound). */
  exchangeSize?: number
  /** Addresses kept and accepted per peer. Default 4. */
  maxAddresses?: number
  /** Redial schedule of the bootstrap addresses. Default base 1 s, max 60 s, jitter 0.2. */
  bootstrapBackoff?: Partial<BackoffOptions>
  /** Backoff of a peer after failed dials. Default base 5 s, max 10 min, jitter 0.2. */
  dialBackoff?: Partial<BackoffOptions>
  /** Peers of one IP address (IPv6: one /64) in a k-bucket and in a lookup. Default 2 (diversity.ts). */
  maxPeersPerIp?: number
  /** Peers of one network (IPv4 /24, IPv6 /48) in a k-bucket and in a lookup. Default 4. */
  maxPeersPerSubnet?: number
  /** Addresses and CIDR prefixes exempt from those two bounds. Default loopback: `['127.0.0.0/8', '::1']`. */
  diversityAllowlist?: string[]
  /** Lifetime of a provider record this node stores, after its last announcement (ms). Default 5 min. */
  providerTtl?: number
  /** How often this node announces again the keys it provides (ms); below `providerTtl`. Default 2 min. */
  republishInterval?: number
  /** Providers stored per key, and sent in one answer. Default 32 (at most 32, the parser's bound). */
  maxProvidersPerKey?: number
  /** Provider records stored per announcing peer. Default 256. */
  maxProviderRecordsPerPeer?: number
  /** Provider records stored in all. Default 10,000. */
  maxProviderRecords?: number
  /** Keys this node itself provides (announces and republishes). Default 1024. */
  maxProvidedKeys?: number
}

export interface ResolvedDiscoveryOptions {
  enabled: boolean
  bootstrap: string[]
  knownPeers: ExportedPeer[]
  lowWatermark: number
  highWatermark: number
  maxDials: number
  gracePeriod: number
  tickInterval: number
  refreshInterval: number
  k: number
  alpha: number
  maxRounds: number
  queryTimeout: number
  contactTimeout: number
  disjointPaths: number
  lookupLinger: number
  maxLookups: number
  maxPeers: number
  heardPeerTtl: number
  exchangeSize: number
  maxAddresses: number
  bootstrapBackoff: BackoffOptions
  dialBackoff: BackoffOptions
  diversity: Diversity
  providerTtl: number
  republishInterval: number
  maxProvidersPerKey: number
  maxProviderRecordsPerPeer: number
  maxProviderRecords: number
  maxProvidedKeys: number
}

export const DISCOVERY_DEFAULTS: ResolvedDiscoveryOptions = {
  enabled: true,
  bootstrap: [],
  knownPeers: [],
  lowWatermark: 8,
  highWatermark: 16,
  maxDials: 8,
  gracePeriod: 30_000,
  tickInterval: 10_000,
  refreshInterval: 300_000,
  k: 20,
  alpha: 3,
  maxRounds: 20,
  queryTimeout: 10_000,
  contactTimeout: 3_000,
  disjointPaths: 1,
  lookupLinger: 2_000,
  maxLookups: 4,
  maxPeers: 1_000,
  heardPeerTtl: 120_000,
  exchangeSize: 16,
  maxAddresses: 4,
  bootstrapBackoff: { base: 1_000, max: 60_000, jitter: 0.2 },
  dialBackoff: { base: 5_000, max: 600_000, jitter: 0.2 },
  diversity: { maxPeersPerIp: 2, maxPeersPerSubnet: 4, allowlist: parseAllowlist(['127.0.0.0/8', '::1']) },
  providerTtl: 300_000,
  republishInterval: 120_000,
  maxProvidersPerKey: 32,
  maxProviderRecordsPerPeer: 256,
  maxProviderRecords: 10_000,
  maxProvidedKeys: 1_024,
}

function int(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`"${name}" expected an integer, got ${String(value)}`)
  if (value < min || value > max) throw new RangeError(`"${name}" expected an integer in ${min}..${max}, got ${value}`)
  return value
}

/** The diversity bounds of `options`, over `base` (resolved options are resolved again by the actor). */
function resolveDiversity(options: DiscoveryOptions, base: Diversity): Diversity {
  return {
    maxPeersPerIp: int('maxPeersPerIp', options.maxPeersPerIp ?? base.maxPeersPerIp, 1, 1_000),
    maxPeersPerSubnet: int('maxPeersPerSubnet', options.maxPeersPerSubnet ?? base.maxPeersPerSubnet, 1, 1_000),
    allowlist: options.diversityAllowlist === undefined ? base.allowlist : parseAllowlist(options.diversityAllowlist),
  }
}

/**
 * How often expired provider records are swept (a quarter of providerTtl, at least 1 s).
 * Expired records are skipped when read; the sweep frees their memory.
 */
export function providerSweepInterval(options: Pick<ResolvedDiscoveryOptions, 'providerTtl'>): number {
  return Math.max(1_000, Math.floor(options.providerTtl / 4))
}

/** Apply defaults to `options` and check every value. */
export function resolveOptions(options: DiscoveryOptions = {}): ResolvedDiscoveryOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('"discovery options" expected an object')
  const d = DISCOVERY_DEFAULTS
  const o = { ...d, ...options }
  if (typeof o.enabled !== 'boolean') throw new TypeError(`"enabled" expected a boolean, got ${String(o.enabled)}`)
  if (!Array.isArray(o.bootstrap)) throw new TypeError('"bootstrap" expected an array of addresses')
  for (const a of o.bootstrap) {
    if (!splitAddress(a)) throw new RangeError(`"bootstrap" expected dialable addresses (ws://host:port/p2p/<id>), got ${JSON.stringify(a)}`)
  }
  if (!Array.isArray(o.knownPeers)) throw new TypeError('"knownPeers" expected an array')
  const low = int('lowWatermark', o.lowWatermark, 0, 10_000)
  const high = int('highWatermark', o.highWatermark, 1, 10_000)
  if (high < low) throw new RangeError(`"highWatermark" expected ≥ lowWatermark (${low}), got ${high}`)
  const providerTtl = int('providerTtl', o.providerTtl, 1_000, 7 * 86_400_000)
  const republishInterval = int('republishInterval', o.republishInterval, 100, 7 * 86_400_000)
  if (republishInterval >= providerTtl) throw new RangeError(`"republishInterval" expected < providerTtl (${providerTtl}), got ${republishInterval}`)
  return {
    enabled: o.enabled,
    bootstrap: o.bootstrap.slice(),
    knownPeers: o.knownPeers.slice(),
    lowWatermark: low,
    highWatermark: high,
    maxDials: int('maxDials', o.maxDials, 1, 1_000),
    gracePeriod: int('gracePeriod', o.gracePeriod, 0, 86_400_000),
    tickInterval: int('tickInterval', o.tickInterval, 10, 86_400_000),
    refreshInterval: int('refreshInterval', o.refreshInterval, 0, 86_400_000),
    k: int('k', o.k, 1, 20),
    alpha: int('alpha', o.alpha, 1, 20),
    maxRounds: int('maxRounds', o.maxRounds, 1, 256),
    queryTimeout: int('queryTimeout', o.queryTimeout, 10, 600_000),
    contactTimeout: int('contactTimeout', o.contactTimeout, 10, 600_000),
    disjointPaths: int('disjointPaths', o.disjointPaths, 1, 20),
    lookupLinger: int('lookupLinger', o.lookupLinger, 10, 600_000),
    maxLookups: int('maxLookups', o.maxLookups, 1, 64),
    maxPeers: int('maxPeers', o.maxPeers, 1, 100_000),
    heardPeerTtl: int('heardPeerTtl', o.heardPeerTtl, 1_000, 86_400_000),
    exchangeSize: int('exchangeSize', o.exchangeSize, 0, 32),
    maxAddresses: int('maxAddresses', o.maxAddresses, 1, 4),
    bootstrapBackoff: checkBackoff('bootstrapBackoff', { ...d.bootstrapBackoff, ...options.bootstrapBackoff }),
    dialBackoff: checkBackoff('dialBackoff', { ...d.dialBackoff, ...options.dialBackoff }),
    diversity: resolveDiversity(options, (options as Partial<ResolvedDiscoveryOptions>).diversity ?? d.diversity),
    providerTtl,
    republishInterval,
    maxProvidersPerKey: int('maxProvidersPerKey', o.maxProvidersPerKey, 1, 32),
    maxProviderRecordsPerPeer: int('maxProviderRecordsPerPeer', o.maxProviderRecordsPerPeer, 1, 100_000),
    maxProviderRecords: int('maxProviderRecords', o.maxProviderRecords, 1, 1_000_000),
    maxProvidedKeys: int('maxProvidedKeys', o.maxProvidedKeys, 1, 100_000),
  }
}

/**
 * The provider store: which peers said they provide a key (ADD_PROVIDER), until when.
 *
 * Kademlia provider records, as in the libp2p kad-dht spec: a record binds a 32-byte key to the
 * peer that announced it (the authenticated sender, never a field of the payload) and the
 * addresses it gave for itself, and it expires `ttl` after its last announcement (the provider
 * republishes well within it). The TTL is this node's, not the announcer's: a peer cannot make
 * its record live longer.
 *
 * Pure data plus functions, mutated in place inside the discovery actor's context (like the
 * peer store). Every dimension a peer controls is bounded, and a refusal says which bound:
 *  - `key-full`: `maxPerKey` providers of one key (a refresh of a record already held always fits),
 *    or as many providers of this key from the announcer's IP address (IPv6 /64) or network
 *    (IPv4 /24, IPv6 /48) as the diversity bounds allow (diversity.ts; the group is the address
 *    the announcing connection runs over): Sybil identities minted on one host cannot take a
 *    key's places from its honest providers;
 *  - `peer-full`: `maxPerPeer` records announced by one peer;
 *  - `store-full`: `maxRecords` records in all.
 * Keys are checked for their size by the wire parser (32 bytes) before they get here.
 * @module
 */
import type { Key } from './kbucket.js'
import { fits, type Diversity, type Group } from './diversity.js'

/** One provider of a key. */
export interface ProviderRecord {
  peer: string
  /** Its dialable addresses (each ending in /p2p/<peer>), as it announced them. */
  addresses: string[]
  /** Input time after which the record is gone unless republished. */
  expires: number
  /** The announcer's address group (null: not bounded, e.g. loopback). */
  group: Group | null
}

export interface ProviderLimits {
  /** Providers kept per key. */
  maxPerKey: number
  /** Records kept per announcing peer. */
  maxPerPeer: number
  /** Records kept in all. */
  maxRecords: number
  /** Lifetime of a record after its last announcement (ms). */
  ttl: number
  /** Providers of one key per address group (absent: not bounded). */
  diversity?: Diversity
}

export interface ProviderStore {
  readonly limits: ProviderLimits
  /** key (hex) → provider peer → record. */
  readonly byKey: Map<string, Map<string, ProviderRecord>>
  /** Records per announcing peer. */
  readonly perPeer: Map<string, number>
  size: number
}

/** Why a record was refused. */
export type ProviderRefusal = 'key-full' | 'peer-full' | 'store-full'

export function createProviderStore(limits: ProviderLimits): ProviderStore {
  return { limits, byKey: new Map(), perPeer: new Map(), size: 0 }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** The map key of a Kademlia key. */
export function keyHex(key: Key): string {
  let s = ''
  for (const b of key) s += HEX[b]
  return s
}

/**
 * Store (or refresh) `peer`'s record for `key`, expiring `ttl` after `now`. Returns `'added'`,
 * `'refreshed'`, or the bound that refused it.
 */
export function addProvider(
  store: ProviderStore, key: Key, peer: string, addresses: readonly string[], now: number, group: Group | null = null,
): 'added' | 'refreshed' | ProviderRefusal {
  const hex = keyHex(key)
  const providers = store.byKey.get(hex)
  const existing = providers?.get(peer)
  const expires = now + store.limits.ttl
  if (existing && existing.expires > now) {
    existing.addresses = addresses.slice()
    existing.expires = expires
    return 'refreshed'
  }
  if (existing) remove(store, hex, providers!, peer) // expired: counts as new against the bounds
  const live = store.byKey.get(hex)
  if (live && (live.size >= store.limits.maxPerKey || !fitsKey(store, live, group))) {
    dropExpired(store, hex, live, now)
    if (live.size >= store.limits.maxPerKey || !fitsKey(store, live, group)) return 'key-full'
  }
  if ((store.perPeer.get(peer) ?? 0) >= store.limits.maxPerPeer) return 'peer-full'
  if (store.size >= store.limits.maxRecords) {
    expireProviders(store, now)
    if (store.size >= store.limits.maxRecords) return 'store-full'
  }
  let map = store.byKey.get(hex)
  if (!map) store.byKey.set(hex, (map = new Map()))
  map.set(peer, { peer, addresses: addresses.slice(), expires, group })
  store.perPeer.set(peer, (store.perPeer.get(peer) ?? 0) + 1)
  store.size++
  return 'added'
}

function fitsKey(store: ProviderStore, providers: Map<string, ProviderRecord>, group: Group | null): boolean {
  if (store.limits.diversity === undefined) return true
  return fits([...providers.values()].map((r) => r.group), group, store.limits.diversity)
}

/** The live providers of `key` at `now` (at most `max`, soonest to expire last). */
export function providersOf(store: ProviderStore, key: Key, now: number, max = store.limits.maxPerKey): ProviderRecord[] {
  const providers = store.byKey.get(keyHex(key))
  if (!providers) return []
  const out: ProviderRecord[] = []
  for (const r of providers.values()) if (r.expires > now) out.push(r)
  out.sort((a, b) => b.expires - a.expires)
  return out.slice(0, max)
}

/** Drop every record expired at `now`; returns how many went. */
export function expireProviders(store: ProviderStore, now: number): number {
  const before = store.size
  for (const [hex, providers] of store.byKey) dropExpired(store, hex, providers, now)
  return before - store.size
}

function dropExpired(store: ProviderStore, hex: string, providers: Map<string, ProviderRecord>, now: number): void {
  for (const r of [...providers.values()]) if (r.expires <= now) remove(store, hex, providers, r.peer)
}

function remove(store: ProviderStore, hex: string, providers: Map<string, ProviderRecord>, peer: string): void {
  if (!providers.delete(peer)) return
  if (providers.size === 0) store.byKey.delete(hex)
  store.size--
  const n = (store.perPeer.get(peer) ?? 1) - 1
  if (n <= 0) store.perPeer.delete(peer)
  else store.perPeer.set(peer, n)
}

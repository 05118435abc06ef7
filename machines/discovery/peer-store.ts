/**
 * The peer store: what discovery knows about peers (addresses, last seen, dial failures and
 * backoff), bounded in size, with an export/import form the shell can persist.
 *
 * Pure data plus functions; the store lives in the discovery actor's context and is mutated in
 * place (like the rng state), so a 1,000-entry store is not copied on every event. Records also
 * sit in a dense `ids` array so a random sample costs O(sample), not O(store).
 *
 * Times are input times (`inputTime(self)`). The export form carries `age` (ms since last seen)
 * instead of a time, because the next process's input clock starts elsewhere.
 * @module
 */
import { splitAddress } from '../lib/protocol.js'
import { nextInt, type Rng } from '../lib/rng.js'
import { peerKey, type Key } from './kbucket.js'

/** Everything known about one peer. */
export interface PeerRecord {
  peer: string
  key: Key
  /**
   * Dialable addresses with `/p2p/<peer>`, preferred first, at most `maxAddresses`. The array is
   * a value: it is replaced, never changed in place, so it may be shared (in messages, events).
   */
  addresses: string[]
  /**
   * How many of `addresses`, from the front, the peer claimed itself (its `hello`), a connection
   * we dialed proved, or the user gave (`knownPeers`); the rest were heard from other peers, who
   * may lie (connections.ts `countFailedDial` drops those that fail).
   */
  own: number
  /**
   * A peer first heard of in a lookup answer is forgotten at this input time unless it proves
   * itself first (a connection, its own claim); Infinity: kept (see `expireHeard`).
   */
  heardUntil: number
  /** Input time we last had a connection to it (-Infinity: never). */
  lastSeen: number
  /** Dial failures since the last successful connection. */
  failures: number
  /** No dial before this input time. */
  backoffUntil: number
  /** Index in `PeerStore.ids`. */
  slot: number
}

export interface PeerStore {
  readonly max: number
  readonly maxAddresses: number
  readonly records: Map<string, PeerRecord>
  readonly ids: string[]
}

/** A peer as exported for persistence and accepted as `options.knownPeers`. */
export interface ExportedPeer {
  peer: string
  addresses: string[]
  /** Milliseconds since it was last seen connected (absent: never). */
  age?: number
  failures?: number
}

export function createPeerStore(max: number, maxAddresses: number): PeerStore {
  return { max, maxAddresses, records: new Map(), ids: [] }
}

/**
 * The addresses in `addresses` that are dialable addresses of `peer` (a `/p2p/<peer>` part is
 * required and must name that peer), deduplicated, at most `max`.
 */
export function addressesOf(peer: string, addresses: readonly unknown[], max: number): string[] {
  const out: string[] = []
  for (const a of addresses) {
    if (out.length >= max) break
    if (typeof a !== 'string' || out.includes(a)) continue
    if (splitAddress(a)?.peer === peer) out.push(a)
  }
  return out
}

/**
 * Add `peer` or merge `addresses` into its record (`preferred`: the peer's own claim, placed
 * first; otherwise appended while there is room). Returns the record and whether it is new.
 */
export function rememberPeer(
  store: PeerStore, peer: string, key: Key, addresses: readonly string[], preferred: boolean,
): { record: PeerRecord; added: boolean } {
  let record = store.records.get(peer)
  if (record) {
    const current = record.addresses
    const known = preferred
      ? addresses.every((a, i) => current[i] === a)
      : addresses.every((a) => current.includes(a)) || current.length >= store.maxAddresses
    if (preferred) record.heardUntil = Infinity
    if (known) {
      if (preferred) record.own = Math.max(record.own, addresses.length)
      return { record, added: false }
    }
    if (preferred) {
      // The claim goes first, then the earlier own addresses it left out, then heard ones.
      const ownBefore = current.slice(0, record.own).filter((a) => !addresses.includes(a)).length
      record.addresses = [...addresses, ...current.filter((a) => !addresses.includes(a))].slice(0, store.maxAddresses)
      record.own = Math.min(record.addresses.length, addresses.length + ownBefore)
    } else {
      record.addresses = [...current, ...addresses.filter((a) => !current.includes(a))].slice(0, store.maxAddresses)
    }
    return { record, added: false }
  }
  const kept = addresses.slice(0, store.maxAddresses)
  record = { peer, key, addresses: kept, own: preferred ? kept.length : 0, heardUntil: Infinity, lastSeen: -Infinity, failures: 0, backoffUntil: 0, slot: store.ids.length }
  store.records.set(peer, record)
  store.ids.push(peer)
  return { record, added: true }
}

/** Drop `address` from the peer's addresses (a value: the array is replaced). */
export function dropAddress(record: PeerRecord, address: string): void {
  const i = record.addresses.indexOf(address)
  if (i < 0) return
  record.addresses = record.addresses.filter((a) => a !== address)
  if (i < record.own) record.own--
}

export function forgetPeer(store: PeerStore, peer: string): boolean {
  const record = store.records.get(peer)
  if (!record) return false
  store.records.delete(peer)
  const last = store.ids.pop()!
  if (last !== peer) {
    store.ids[record.slot] = last
    store.records.get(last)!.slot = record.slot
  }
  return true
}

/** A connection to the peer opened or closed now: it is alive, its failures are forgiven. */
export function markSeen(record: PeerRecord, now: number): void {
  record.heardUntil = Infinity
  record.lastSeen = Math.max(record.lastSeen, now)
  record.failures = 0
  record.backoffUntil = 0
}

/** A dial failed: count it and hold further dials back until `now + delay`. */
export function markFailed(record: PeerRecord, now: number, delay: number): void {
  record.failures = Math.min(record.failures + 1, 1_000)
  record.backoffUntil = now + delay
}

/**
 * When the store holds more than `max` records, drop the least useful tenth of the records
 * `keep` does not protect (most failures first, then least recently seen). Amortized O(1) per
 * insertion. Returns the dropped peers.
 */
export function evictOverflow(store: PeerStore, keep: (record: PeerRecord) => boolean): string[] {
  if (store.records.size <= store.max) return []
  const batch = Math.max(1, Math.floor(store.max / 10))
  const target = store.max - batch
  const candidates = [...store.records.values()].filter((r) => !keep(r))
  candidates.sort((a, b) => (b.failures - a.failures) || (a.lastSeen - b.lastSeen) || (a.peer < b.peer ? -1 : 1))
  const dropped: string[] = []
  for (const r of candidates) {
    if (store.records.size <= target) break
    forgetPeer(store, r.peer)
    dropped.push(r.peer)
  }
  return dropped
}

/**
 * Forget the records heard of in lookup answers that never proved themselves by `now` (and that
 * `keep` does not protect): as the libp2p DHT keeps the addresses in FIND_NODE answers for a
 * short TTL only, so the fake peers Sybils name do not stay in the store and are not passed on.
 * Returns the dropped peers.
 */
export function expireHeard(store: PeerStore, now: number, keep: (record: PeerRecord) => boolean): string[] {
  const dropped: string[] = []
  for (const r of [...store.records.values()]) {
    if (r.heardUntil > now || keep(r)) continue
    forgetPeer(store, r.peer)
    dropped.push(r.peer)
  }
  return dropped
}

/**
 * Up to `n` distinct random records that `accept` takes. Probes random slots (O(n) expected when
 * most records qualify) and falls back to one shuffled pass when probing finds too few.
 */
export function randomPeers(store: PeerStore, rng: Rng, n: number, accept: (record: PeerRecord) => boolean): PeerRecord[] {
  const size = store.ids.length
  const out: PeerRecord[] = []
  if (n <= 0 || size === 0) return out
  const chosen = new Set<string>()
  for (let tries = 0; tries < 4 * n && out.length < n; tries++) {
    const id = store.ids[nextInt(rng, size)]
    if (chosen.has(id)) continue
    chosen.add(id)
    const r = store.records.get(id)!
    if (accept(r)) out.push(r)
  }
  if (out.length < n) {
    const start = nextInt(rng, size)
    for (let i = 0; i < size && out.length < n; i++) {
      const id = store.ids[(start + i) % size]
      if (chosen.has(id)) continue
      const r = store.records.get(id)!
      if (accept(r)) out.push(r)
    }
  }
  return out
}

/**
 * The store as plain data, most recently seen first. Imported again, its addresses count as the
 * peers' own, so only what we would vouch for goes out: a peer's own addresses when it has any,
 * and no peer still on probation from a lookup answer (`heardUntil`).
 */
export function exportPeers(store: PeerStore, now: number): ExportedPeer[] {
  const records = [...store.records.values()].filter((r) => r.addresses.length > 0 && r.heardUntil === Infinity)
  records.sort((a, b) => (b.lastSeen - a.lastSeen) || (a.peer < b.peer ? -1 : 1))
  return records.map((r) => {
    const out: ExportedPeer = { peer: r.peer, addresses: r.own > 0 ? r.addresses.slice(0, r.own) : r.addresses.slice() }
    if (Number.isFinite(r.lastSeen)) out.age = Math.max(0, now - r.lastSeen)
    if (r.failures > 0) out.failures = r.failures
    return out
  })
}

/**
 * Load exported peers (e.g. from a file written by an earlier run) into the store. Entries that
 * do not validate are skipped, never thrown on: the file may be stale or hand-edited.
 */
export function importPeers(store: PeerStore, peers: readonly unknown[], self: string, now: number): number {
  let count = 0
  for (const p of peers) {
    if (store.records.size >= store.max) break
    if (typeof p !== 'object' || p === null) continue
    const { peer, addresses, age, failures } = p as Partial<ExportedPeer>
    if (typeof peer !== 'string' || peer === self || !Array.isArray(addresses)) continue
    const key = peerKey(peer)
    const valid = addressesOf(peer, addresses, store.maxAddresses)
    if (!key || valid.length === 0) continue
    const { record } = rememberPeer(store, peer, key, valid, true) // the user vouches for them, as for the peer's own claim
    if (typeof age === 'number' && Number.isFinite(age) && age >= 0) record.lastSeen = Math.max(record.lastSeen, now - age)
    if (typeof failures === 'number' && Number.isInteger(failures) && failures > 0) record.failures = Math.min(failures, 1_000)
    count++
  }
  return count
}

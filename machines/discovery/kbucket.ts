/**
 * Kademlia keys, XOR distance and the k-bucket routing table: pure functions, bounded state.
 *
 * A peer id is the sha256 digest of its public key, printed in base58btc (or unpadded
 * lowercase base32); its 32 bytes are its Kademlia key, so no further hashing is needed
 * (the libp2p spec hashes arbitrary keys; ours are already uniform digests).
 *
 * The table keeps one bucket per common-prefix length with our own key (0..255, the
 * "unfolded" form of the libp2p spec), at most `k` entries each, so at most 256·k entries.
 * A bucket is ordered least-recently-seen first. When a full bucket meets a new peer, the
 * caller decides with `canEvict(lrs)` whether the least-recently-seen entry may go. We do not
 * ping before evicting: the discovery machine treats a peer it is connected to as alive
 * (its connection has a keep-alive) and lets only disconnected least-recently-seen entries be
 * replaced, which is the ping-before-evict rule with the ping done by the connection.
 * @module
 */
import { base32nopad, base58 } from '@scure/base'

/** Bytes in a key (sha256). */
export const KEY_BYTES = 32
/** Bits in a key, and so the number of buckets. */
export const KEY_BITS = 256

/** A 32-byte Kademlia key. */
export type Key = Uint8Array

/** The key of a peer id text (base58btc, or 52-character lowercase base32); `undefined` if invalid. */
export function peerKey(peer: string): Key | undefined {
  if (typeof peer !== 'string' || peer.length < 32 || peer.length > 64) return undefined
  try {
    const bytes = peer.length === 52 && /^[a-z2-7]+$/.test(peer)
      ? base32nopad.decode(peer.toUpperCase())
      : base58.decode(peer)
    return bytes.length === KEY_BYTES ? bytes : undefined
  } catch {
    return undefined
  }
}

/** The base58btc peer id text of a key (for tests and simulations). */
export function keyToPeerId(key: Key): string {
  return base58.encode(key)
}

/** XOR distance of two keys. */
export function distance(a: Key, b: Key): Uint8Array {
  const out = new Uint8Array(KEY_BYTES)
  for (let i = 0; i < KEY_BYTES; i++) out[i] = a[i] ^ b[i]
  return out
}

/** Compare two distances (big-endian unsigned): negative when `a` is smaller. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return a[i] - b[i]
  }
  return 0
}

/** Compare the distances of `a` and `b` to `target` without allocating: negative when `a` is closer. */
export function compareDistance(a: Key, b: Key, target: Key): number {
  for (let i = 0; i < KEY_BYTES; i++) {
    const da = a[i] ^ target[i]
    const db = b[i] ^ target[i]
    if (da !== db) return da - db
  }
  return 0
}

/** Number of leading bits `a` and `b` share (256 when equal). */
export function commonPrefixLength(a: Key, b: Key): number {
  for (let i = 0; i < KEY_BYTES; i++) {
    const x = a[i] ^ b[i]
    if (x !== 0) return i * 8 + Math.clz32(x) - 24
  }
  return KEY_BITS
}

/** One routing table entry. */
export interface TableEntry { peer: string; key: Key; lastSeen: number }

/** k-buckets around `self`; `buckets[i]` holds peers sharing exactly i leading bits with `self`. */
export interface RoutingTable {
  readonly self: Key
  readonly k: number
  readonly buckets: (TableEntry[] | undefined)[]
  readonly byPeer: Map<string, TableEntry>
}

export function createTable(self: Key, k = 20): RoutingTable {
  if (self.length !== KEY_BYTES) throw new RangeError(`"self" expected Uint8Array of length 32, got length=${self.length}`)
  if (!Number.isInteger(k) || k < 1 || k > 256) throw new RangeError(`"k" expected an integer in 1..256, got ${k}`)
  return { self, k, buckets: new Array(KEY_BITS).fill(undefined), byPeer: new Map() }
}

/** What `touch` did. */
export type TouchResult = 'added' | 'updated' | 'replaced' | 'rejected' | 'self'

/**
 * Record that `peer` was seen at `now`: move it to the tail of its bucket, or insert it. A full
 * bucket evicts its least-recently-seen entry only if `canEvict(entry)` says so; otherwise the
 * newcomer is rejected (Kademlia's preference for long-lived peers).
 */
export function touch(
  table: RoutingTable, peer: string, key: Key, now: number,
  canEvict: (lrs: TableEntry) => boolean = () => true,
): { result: TouchResult; evicted?: string } {
  const index = commonPrefixLength(table.self, key)
  if (index >= KEY_BITS) return { result: 'self' }
  const bucket = table.buckets[index] ?? (table.buckets[index] = [])
  const existing = table.byPeer.get(peer)
  if (existing) {
    existing.lastSeen = Math.max(existing.lastSeen, now)
    const at = bucket.indexOf(existing)
    if (at >= 0 && at !== bucket.length - 1) { bucket.splice(at, 1); bucket.push(existing) }
    return { result: 'updated' }
  }
  const entry: TableEntry = { peer, key, lastSeen: now }
  if (bucket.length < table.k) {
    bucket.push(entry)
    table.byPeer.set(peer, entry)
    return { result: 'added' }
  }
  const lrs = bucket[0]
  if (!canEvict(lrs)) return { result: 'rejected' }
  bucket.shift()
  table.byPeer.delete(lrs.peer)
  bucket.push(entry)
  table.byPeer.set(peer, entry)
  return { result: 'replaced', evicted: lrs.peer }
}

/** Remove `peer`; `true` if it was there. */
export function removePeer(table: RoutingTable, peer: string): boolean {
  const entry = table.byPeer.get(peer)
  if (!entry) return false
  table.byPeer.delete(peer)
  const bucket = table.buckets[commonPrefixLength(table.self, entry.key)]
  if (bucket) {
    const at = bucket.indexOf(entry)
    if (at >= 0) bucket.splice(at, 1)
  }
  return true
}

export function tableSize(table: RoutingTable): number {
  return table.byPeer.size
}

/**
 * The `n` entries closest to `target`, closest first, skipping those `skip` rejects. Visits
 * buckets in distance order (bucket cpl(self,target) first, then the farther-from-self ones that
 * all share cpl(self,target) bits with the target, then the nearer ones in decreasing order), so
 * it sorts only the groups it needs.
 */
export function closest(table: RoutingTable, target: Key, n: number, skip?: (entry: TableEntry) => boolean): TableEntry[] {
  const out: TableEntry[] = []
  if (n <= 0) return out
  const c = commonPrefixLength(table.self, target)
  const take = (group: TableEntry[]): void => {
    const kept = skip ? group.filter((e) => !skip(e)) : group.slice()
    kept.sort((a, b) => compareDistance(a.key, b.key, target))
    for (const e of kept) out.push(e)
  }
  if (c < KEY_BITS) {
    take(table.buckets[c] ?? [])
    if (out.length < n) {
      const farther: TableEntry[] = []
      for (let i = c + 1; i < KEY_BITS; i++) {
        const b = table.buckets[i]
        if (b) for (const e of b) farther.push(e)
      }
      take(farther)
    }
  }
  for (let i = Math.min(c, KEY_BITS) - 1; i >= 0 && out.length < n; i--) {
    const b = table.buckets[i]
    if (b && b.length > 0) take(b)
  }
  return out.length > n ? out.slice(0, n) : out
}

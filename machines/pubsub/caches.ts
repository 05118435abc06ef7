/**
 * The two message caches of a gossipsub router, as plain mutable data plus pure helpers.
 *
 * - SeenCache: every message id we have handled (own, valid, invalid, ignored or waiting for
 *   the validator), with its receipt time and the peers that sent it. It deduplicates *before*
 *   any signature check, remembers invalid ids so replays cost nothing but a penalty, and is
 *   bounded twice: by TTL (`seenTtl`) and by size (`maxSeen`, oldest dropped first).
 * - MessageCache: the last `mcacheLength` heartbeat windows of valid messages, served to IWANT
 *   and advertised in IHAVE for the newest `mcacheGossip` windows (gossipsub v1.0 mcache).
 * Both keep insertion order (the seen cache one Map, the message cache a Map per window);
 * since input time never goes back, that is time order.
 * @module
 */
import type { WireMessage } from './wire.js'
import { createSlab, slabPart, type Slab } from '../lib/slab.js'

/** Where a seen message stands. */
export type SeenStatus = 'pending' | 'valid' | 'invalid' | 'ignored'

export interface SeenEntry {
  /** Input time the first copy arrived (or we published it). */
  at: number
  status: SeenStatus
  topic: string
  /** When validation finished (for the P3 delivery window). */
  validatedAt: number
  /** The first few peers that sent a copy: not forwarded to, and credited for P3. */
  senders: string[]
}

/** Senders remembered per message (enough for a full mesh plus a few gossip copies). */
export const MAX_SENDERS = 16

export interface SeenCache { entries: Map<string, SeenEntry>; max: number }

export function createSeenCache(max: number): SeenCache {
  return { entries: new Map(), max }
}

/** Record a new id (the caller checked it is not there); drops the oldest entry when full. */
export function seenAdd(cache: SeenCache, hex: string, entry: SeenEntry): void {
  if (cache.entries.size >= cache.max) {
    const oldest = cache.entries.keys().next().value
    if (oldest !== undefined) cache.entries.delete(oldest)
  }
  cache.entries.set(hex, entry)
}

/** Remember one more sender of a message (bounded). */
export function seenSender(entry: SeenEntry, peer: string): boolean {
  if (entry.senders.includes(peer)) return false
  // A copy one longer rather than a push: a push grows the list to room for 17, and the entry
  // keeps that for the seen cache's two minutes (the copies made meanwhile die young).
  if (entry.senders.length < MAX_SENDERS) entry.senders = entry.senders.concat(peer)
  return true
}

/** Forget ids older than `ttl`, except those still waiting for the validator. */
export function seenExpire(cache: SeenCache, now: number, ttl: number): void {
  for (const [hex, entry] of cache.entries) {
    if (entry.at + ttl > now) break
    if (entry.status !== 'pending') cache.entries.delete(hex)
  }
}

export interface CachedMessage {
  /** Its hex id (the key in `entries`). */
  hex: string
  id: Uint8Array
  msg: WireMessage
  /**
   * Times it was sent to each peer in answer to IWANT (bounded by gossipRetransmission); made
   * on the first IWANT, since most cached messages are never asked for.
   */
  served?: Map<string, number>
  /** Mesh peers it was announced to (IANNOUNCE) that have not asked for it yet (announce.ts). */
  announcedTo?: Set<string>
}

/**
 * One heartbeat window of the message cache: its messages by hex id, in the order cached, and
 * by a 30-bit prefix of their signature, so a copy of a cached message is recognised without
 * rebuilding its signed bytes and hashing them (`mcacheKnownCopy`; only a hint: a copy is taken
 * as known only when it equals the cached message field by field).
 */
export interface CacheWindow {
  byHex: Map<string, CachedMessage>
  bySignature: Map<number, CachedMessage>
}

/**
 * The last heartbeat windows, newest first. A window's Maps only grow, and are dropped whole
 * when it is the oldest. (One Map of all cached messages, ids coming and going, rehashed its
 * table again and again: about 0.75 KB per delivery of tables dying in old space.)
 */
export interface MessageCache {
  /** Null for a window that cached nothing (a node at rest keeps no empty Maps). */
  windows: (CacheWindow | null)[]
  /** Messages in all windows (at most `max`). */
  size: number
  max: number
  /** The shared buffers small cached messages' data and signature are copied into (`keepBytes`). */
  slab: Slab
}

export function createMessageCache(length: number, max: number): MessageCache {
  return { windows: Array.from({ length }, () => null), size: 0, max, slab: createSlab(SLAB_BYTES) }
}

/** Bytes per shared buffer of cached message bytes (as Node's Buffer pool). */
const SLAB_BYTES = 8192
/** Data and signature up to this many bytes are copied into the shared buffer. */
const KEPT_MAX_BYTES = 4096

/**
 * A small message's data and signature, copied into the cache's current shared buffer and
 * swapped into `msg`: a received frame is decrypted into Node's buffer pool (src/crypto/sodium.ts),
 * and a cached view of it would keep a whole pool slab (and the frame's other copies) for the
 * cache's seconds. A shared buffer lives while any message in it is cached; the cache drops
 * messages oldest first, so that is about what the cache holds plus one buffer. Larger
 * messages arrive in frames of their own memory and stay as they are.
 */
function keepBytes(cache: MessageCache, msg: WireMessage): void {
  const { d, s } = msg
  const size = d.length + s.length
  if (size > KEPT_MAX_BYTES) return
  const kept = slabPart(cache.slab, size)
  kept.set(d, 0)
  kept.set(s, d.length)
  msg.d = kept.subarray(0, d.length)
  msg.s = kept.subarray(d.length)
}

/**
 * The first 30 bits of a signature as a small integer (the `bySignature` key): V8 keeps it
 * unboxed, so a lookup allocates nothing. Only a hint (see CacheWindow): two cached signatures
 * sharing it (about 1 in 10^9 per pair) leave the older unfindable by prefix, and a copy of it
 * is then recognised by its id instead.
 */
function signatureKey(signature: Uint8Array): number {
  return signature[0] | (signature[1] << 8) | (signature[2] << 16) | ((signature[3] & 0x3f) << 24)
}

/** The cached message of id `hex`, if any (newest window first). */
export function mcacheGet(cache: MessageCache, hex: string): CachedMessage | undefined {
  for (const window of cache.windows) {
    const entry = window?.byHex.get(hex)
    if (entry !== undefined) return entry
  }
  return undefined
}

/**
 * Cache a valid message for IWANT and IHAVE; a full cache takes nothing more until it shifts.
 * A small message's data and signature are swapped for copies the cache owns (`keepBytes`).
 */
export function mcachePut(cache: MessageCache, hex: string, id: Uint8Array, msg: WireMessage): void {
  if (cache.size >= cache.max || isCached(cache, hex, msg)) return
  keepBytes(cache, msg)
  const entry: CachedMessage = { hex, id, msg }
  const window = (cache.windows[0] ??= { byHex: new Map(), bySignature: new Map() })
  window.byHex.set(hex, entry)
  cache.size++
  if (msg.s.length >= 4) window.bySignature.set(signatureKey(msg.s), entry)
}

/**
 * Whether id `hex` is cached. A message whose signature prefix no window holds is not (each
 * cached message's prefix went into its window's `bySignature`, a later one with the same
 * prefix keeps the key there, and windows only grow until dropped whole), so a new message
 * costs a few integer lookups instead of a walk over the windows by its id text.
 */
function isCached(cache: MessageCache, hex: string, msg: WireMessage): boolean {
  if (msg.s.length >= 4) {
    const key = signatureKey(msg.s)
    let hinted = false
    for (const window of cache.windows) if (window?.bySignature.has(key)) { hinted = true; break }
    if (!hinted) return false
  }
  return mcacheGet(cache, hex) !== undefined
}

/**
 * The hex id of `msg` if an identical message (same author id, seqno, topic, data and
 * signature: everything its id is computed from) is cached, else undefined. Exact: a copy that
 * differs in any of those bytes is not recognised, and its id is then computed in full.
 */
export function mcacheKnownCopy(cache: MessageCache, msg: WireMessage): string | undefined {
  if (msg.s.length < 4) return undefined
  const key = signatureKey(msg.s)
  // Newest first: a copy mostly arrives within the window its first copy was cached in.
  for (const window of cache.windows) {
    const entry = window?.bySignature.get(key)
    if (entry === undefined) continue
    const cached = entry.msg
    if (cached.n !== msg.n || cached.f !== msg.f || cached.t !== msg.t) return undefined
    return bytesEqual(cached.s, msg.s) && bytesEqual(cached.d, msg.d) ? entry.hex : undefined
  }
  return undefined
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/**
 * Byte equality, a 32-bit word at a time over the bulk: aligned words of `a` against words of
 * `b` read aligned and shifted into place when the two are not equally aligned (little-endian
 * hosts; elsewhere byte by byte).
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length
  if (n !== b.length) return false
  if (a === b) return true
  let i = 0
  // Below a few hundred bytes the two word views cost more than they save.
  if (n >= 256) {
    for (; (a.byteOffset + i) & 3; i++) if (a[i] !== b[i]) return false
    const shift = ((b.byteOffset + i) & 3) * 8
    if (shift === 0) {
      const words = (n - i) >>> 2
      const wa = new Int32Array(a.buffer, a.byteOffset + i, words)
      const wb = new Int32Array(b.buffer, b.byteOffset + i, words)
      for (let w = 0; w < words; w++) if (wa[w] !== wb[w]) return false
      i += words * 4
    } else if (LITTLE_ENDIAN) {
      // Word k of b (from b.byteOffset + i) = (aligned word k >>> shift) | (word k+1 << 32-shift);
      // one word fewer, so the last aligned read stays inside b.
      const words = ((n - i) >>> 2) - 1
      const wa = new Int32Array(a.buffer, a.byteOffset + i, words)
      const wb = new Int32Array(b.buffer, b.byteOffset + i - shift / 8, words + 1)
      const back = 32 - shift
      for (let w = 0; w < words; w++) if (wa[w] !== ((wb[w] >>> shift) | (wb[w + 1] << back))) return false
      i += words * 4
    }
  }
  for (; i < n; i++) if (a[i] !== b[i]) return false
  return true
}

/** Ids of `topic` in the newest `gossip` windows, at most `max` (the newest first). */
export function mcacheGossipIds(cache: MessageCache, topic: string, gossip: number, max: number): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let w = 0; w < gossip && w < cache.windows.length; w++) {
    const window = cache.windows[w]
    if (window === null) continue
    const entries = [...window.byHex.values()]
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i]
      if (entry.msg.t === topic) {
        out.push(entry.id)
        if (out.length >= max) return out
      }
    }
  }
  return out
}

/** Topics with messages in the newest `gossip` windows. */
export function mcacheTopics(cache: MessageCache, gossip: number): Set<string> {
  const topics = new Set<string>()
  for (let w = 0; w < gossip && w < cache.windows.length; w++) {
    const window = cache.windows[w]
    if (window !== null) for (const entry of window.byHex.values()) topics.add(entry.msg.t)
  }
  return topics
}

/** Heartbeat: drop the oldest window whole and open a new one. */
export function mcacheShift(cache: MessageCache): void {
  const dropped = cache.windows.pop()
  if (dropped) cache.size -= dropped.byHex.size
  cache.windows.unshift(null)
}

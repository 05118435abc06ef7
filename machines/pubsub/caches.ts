/**
 * The two message caches of a gossipsub router, as plain mutable data plus pure helpers.
 *
 * - SeenCache: every message id we have handled (own, valid, invalid, ignored or waiting for
 *   the validator), with its receipt time and the peers that sent it. It deduplicates *before*
 *   any signature check, remembers invalid ids so replays cost nothing but a penalty, and is
 *   bounded twice: by TTL (`seenTtl`) and by size (`maxSeen`, oldest dropped first).
 * - MessageCache: the last `mcacheLength` heartbeat windows of valid messages, served to IWANT
 *   and advertised in IHAVE for the newest `mcacheGossip` windows (gossipsub v1.0 mcache).
 * Both are Maps in insertion order; since input time never goes back, that is time order.
 * @module
 */
import type { WireMessage } from './wire.js'

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
  if (entry.senders.length < MAX_SENDERS) entry.senders.push(peer)
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
  id: Uint8Array
  msg: WireMessage
  /** Times it was sent to each peer in answer to IWANT (bounded by gossipRetransmission). */
  served: Map<string, number>
}

export interface MessageCache {
  /** Heartbeat windows of hex ids, newest first. */
  windows: string[][]
  entries: Map<string, CachedMessage>
  max: number
}

export function createMessageCache(length: number, max: number): MessageCache {
  return { windows: Array.from({ length }, () => []), entries: new Map(), max }
}

/** Cache a valid message for IWANT and IHAVE; a full cache takes nothing more until it shifts. */
export function mcachePut(cache: MessageCache, hex: string, id: Uint8Array, msg: WireMessage): void {
  if (cache.entries.has(hex) || cache.entries.size >= cache.max) return
  cache.entries.set(hex, { id, msg, served: new Map() })
  cache.windows[0].push(hex)
}

/** Ids of `topic` in the newest `gossip` windows, at most `max` (the newest first). */
export function mcacheGossipIds(cache: MessageCache, topic: string, gossip: number, max: number): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let w = 0; w < gossip && w < cache.windows.length; w++) {
    const window = cache.windows[w]
    for (let i = window.length - 1; i >= 0; i--) {
      const entry = cache.entries.get(window[i])
      if (entry && entry.msg.t === topic) {
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
    for (const hex of cache.windows[w]) {
      const entry = cache.entries.get(hex)
      if (entry) topics.add(entry.msg.t)
    }
  }
  return topics
}

/** Heartbeat: drop the oldest window and open a new one. */
export function mcacheShift(cache: MessageCache): void {
  const dropped = cache.windows.pop() ?? []
  for (const hex of dropped) cache.entries.delete(hex)
  cache.windows.unshift([])
}

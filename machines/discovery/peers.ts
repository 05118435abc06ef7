/**
 * Peer bookkeeping shared by the discovery handlers: remembering peers (with the one-time
 * `peer.discovered` event and the store's bound), routing-table admission, protection, and
 * starting dials within the concurrency cap and the per-peer backoff.
 * @module
 */
import { dialRequest } from '../lib/protocol.js'
import { commonPrefixLength, touch, removePeer, type Key } from './kbucket.js'
import { fits, groupOf } from './diversity.js'
import { evictOverflow, expireHeard, rememberPeer, type PeerRecord } from './peer-store.js'
import type { DialInfo, DiscoveryContext, Out } from './context.js'

/** Connections that count for the watermarks (hang-ups in flight do not). */
export function liveConnections(ctx: DiscoveryContext): number {
  return ctx.connected.size - ctx.hangingUp.size
}

/** A connection to `peer` a query can use now (open, not being hung up). */
export function isUsable(ctx: DiscoveryContext, peer: string): boolean {
  return ctx.connected.has(peer) && !ctx.hangingUp.has(peer)
}

/** Bootstrap peers and peers with a protection tag are never trimmed. */
export function isProtected(ctx: DiscoveryContext, peer: string): boolean {
  return ctx.bootstrapPeers.has(peer) || ctx.protections.has(peer)
}

/** Peers a lookup is waiting on (not trimmed while it waits). */
export function isBusy(ctx: DiscoveryContext, peer: string): boolean {
  if (ctx.awaiting.has(peer)) return true
  for (const q of ctx.pending.values()) if (q.peer === peer) return true
  return false
}

/**
 * Remember `addresses` (already validated) for `peer`. A peer new to the store is announced with
 * `peer.discovered` when `announce` (it was learned from the network), and the store is trimmed
 * back to its bound, never dropping peers in use (evicted peers also leave the routing table).
 */
export function remember(
  ctx: DiscoveryContext, peer: string, key: Key, addresses: readonly string[],
  preferred: boolean, announce: boolean, out: Out[],
): PeerRecord | undefined {
  const { record, added } = rememberPeer(ctx.store, peer, key, addresses, preferred)
  if (!added) return record
  if (announce) out.push({ kind: 'emit', event: { type: 'peer.discovered', peer, addresses: record.addresses.slice() } })
  const dropped = evictOverflow(ctx.store, (r) => r.peer === peer || isInUse(ctx, r.peer))
  for (const p of dropped) removePeer(ctx.table, p)
  return ctx.store.records.get(peer)
}

/** A peer connected, being dialed, protected or awaited by a lookup: its record is never dropped. */
function isInUse(ctx: DiscoveryContext, peer: string): boolean {
  return ctx.connected.has(peer) || ctx.dialing.has(peer) || isProtected(ctx, peer) || ctx.awaiting.has(peer)
}

/** The tick: forget peers heard of in lookup answers that never proved themselves (peer-store.ts `expireHeard`). */
export function expireHeardPeers(ctx: DiscoveryContext, now: number): void {
  for (const p of expireHeard(ctx.store, now, (r) => isInUse(ctx, r.peer))) removePeer(ctx.table, p)
}

/**
 * Put a peer we have been connected to in the routing table (only with a dialable address:
 * others could not use it). A full bucket replaces its least-recently-seen entry only when
 * that one is not connected (a connection is our liveness check; see kbucket.ts).
 */
export function admit(ctx: DiscoveryContext, record: PeerRecord, now: number): void {
  if (record.addresses.length === 0) return
  if (!ctx.table.byPeer.has(record.peer) && !fitsBucket(ctx, record)) return
  touch(ctx.table, record.peer, record.key, now, (lrs) => !ctx.connected.has(lrs.peer))
}

/**
 * Whether the bucket `record` belongs in has room for one more peer of its address group
 * (diversity.ts). A connected peer is grouped by the address its connection runs over, which
 * it cannot choose the way it chooses the addresses it claims.
 */
function fitsBucket(ctx: DiscoveryContext, record: PeerRecord): boolean {
  const diversity = ctx.options.diversity
  const groupOfPeer = (peer: string): ReturnType<typeof groupOf> => {
    const observed = ctx.connected.get(peer)?.address
    return groupOf(observed !== undefined ? [observed] : ctx.store.records.get(peer)?.addresses, diversity)
  }
  const group = groupOfPeer(record.peer)
  if (group === null) return true
  const bucket = ctx.table.buckets[commonPrefixLength(ctx.table.self, record.key)] ?? []
  return fits(bucket.map((e) => groupOfPeer(e.peer)), group, diversity)
}

/** The address to try next: rotate through a peer's addresses as its dials fail. */
export function nextAddress(record: PeerRecord): string {
  return record.addresses[record.failures % record.addresses.length]
}

/** Ask the swarm to dial (bookkeeping under `dialKey`, a peer id or `addr:<address>`). */
export function startDial(
  ctx: DiscoveryContext, dialKey: string, address: string, now: number, purpose: DialInfo['purpose'], out: Out[],
): void {
  ctx.dialing.set(dialKey, { address, since: now, purpose })
  out.push({ kind: 'swarm', event: dialRequest(address) })
}

/** Can discovery dial this known peer now (not us, not connected, no dial, no backoff, a free slot)? */
export function canDial(ctx: DiscoveryContext, record: PeerRecord, now: number): boolean {
  return record.peer !== ctx.peerId
    && record.addresses.length > 0
    && !ctx.connected.has(record.peer)
    && !ctx.dialing.has(record.peer)
    && record.backoffUntil <= now
    && ctx.dialing.size < ctx.options.maxDials
}

/** Dial a known peer if `canDial` allows it. */
export function dialKnown(ctx: DiscoveryContext, record: PeerRecord, now: number, purpose: DialInfo['purpose'], out: Out[]): boolean {
  if (!canDial(ctx, record, now)) return false
  startDial(ctx, record.peer, nextAddress(record), now, purpose, out)
  return true
}

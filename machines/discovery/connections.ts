/**
 * The connection manager: connection facts in, dials and hang-ups out.
 *
 * - Lookup connections (dialed only to query a peer) are closed (`lookup-done`) once idle for
 *   `lookupLinger`, unless protected or needed for the low watermark (then kept as ordinary).
 * - Watermarks: above `highWatermark` live connections, hang up (`hangUpRequest(peer,
 *   'trimmed')`) down to `lowWatermark`; never on protected peers (bootstrap peers, peers
 *   protected by `discovery.protect`, e.g. pubsub mesh peers) or on peers a lookup is waiting
 *   for. Connections opened only for a lookup's query go first; others are chosen at random
 *   (seeded rng) among those older than `gracePeriod`, which keeps the overlay well mixed and
 *   favours no region of the key space.
 * - Below `lowWatermark`, dial random known peers (not us, not connected, not being dialed,
 *   not in backoff), at most `maxDials` dials in flight.
 * - A failed dial counts against the peer (exponential backoff with jitter, rotating through its
 *   addresses) and drops it from the routing table (Kademlia drops unresponsive contacts).
 * - Bootstrap addresses are dialed while the node has no connection at all, with their own
 *   backoff (the machine's `bootstrap` region schedules the retries).
 * @module
 */
import { hangUpRequest, splitAddress } from '../lib/protocol.js'
import { sample } from '../lib/rng.js'
import { backoffDelay } from './backoff.js'
import { peerKey, removePeer } from './kbucket.js'
import { dropAddress, forgetPeer, markFailed, markSeen, randomPeers } from './peer-store.js'
import { LOOKUP_DONE, MAX_PROTECTED, TRIMMED, type DiscoveryContext, type Out } from './context.js'
import { admit, canDial, isBusy, isProtected, liveConnections, nextAddress, remember, startDial } from './peers.js'
import { failQueriesTo } from './queries.js'
import type { Direction } from '../vocab.js'

/** A new connection: track it (a dial of ours for a lookup makes it transient). */
export function trackConnection(ctx: DiscoveryContext, peer: string, address: string, direction: Direction, now: number): void {
  const transient = direction === 'outbound' && ctx.dialing.get(peer)?.purpose === 'lookup'
  ctx.dialing.delete(peer)
  ctx.dialing.delete(`addr:${address}`)
  ctx.connected.set(peer, { since: now, greeted: false, transient, address, usedBy: undefined, lastUsed: now })
  if (transient) ctx.lookupConnections++
  const split = splitAddress(address)
  if (direction === 'outbound' && split && ctx.bootstrapUrls.has(split.url)) ctx.bootstrapPeers.add(peer)
}

/** Remember the address we dialed a peer at (proved by the connection), and admit it to the routing table. */
export function rememberConnectedPeer(
  ctx: DiscoveryContext, peer: string, address: string, direction: Direction, now: number, out: Out[],
): void {
  let record = ctx.store.records.get(peer)
  const split = splitAddress(address)
  if (direction === 'outbound' && split?.peer === peer) {
    const key = record?.key ?? peerKey(peer)
    if (key) record = remember(ctx, peer, key, [address], true, false, out) ?? record
  }
  if (record) {
    markSeen(record, now)
    admit(ctx, record, now)
  }
}

/** A tracked connection is gone. */
export function untrackConnection(ctx: DiscoveryContext, peer: string, now: number): void {
  if (ctx.connected.get(peer)?.transient) ctx.lookupConnections--
  ctx.connected.delete(peer)
  ctx.hangingUp.delete(peer)
  const record = ctx.store.records.get(peer)
  if (record) record.lastSeen = Math.max(record.lastSeen, now)
}

/** Which of our dials a `dial.failed` is about: by peer id, else by address; undefined if none. */
export function failedDialKey(ctx: DiscoveryContext, address: string, peer: string | undefined): string | undefined {
  const dial = peer === undefined ? undefined : ctx.dialing.get(peer)
  if (dial && (!dial.replaced || dial.address === address)) return peer
  for (const [k, d] of ctx.dialing) if (d.address === address) return k
  return undefined
}

/** The dial of a bootstrap address without a peer id, or of a peer connected anyway: nothing to hold against it. */
export function isHarmlessDialFailure(ctx: DiscoveryContext, key: string): boolean {
  return key.startsWith('addr:') || ctx.connected.has(key)
}

/** A failed dial counts against the peer (backoff) and drops it from the routing table. */
export function backOffPeer(ctx: DiscoveryContext, key: string, now: number): void {
  const record = ctx.store.records.get(key)
  if (!record) return
  markFailed(record, now, backoffDelay(record.failures, ctx.options.dialBackoff, ctx.rng))
  removePeer(ctx.table, key)
}

/**
 * A dial of the known peer `key` failed at `address`. An address heard from other peers (not
 * the peer's own claim, nor proven by a connection, nor given in `knownPeers`) is dropped from
 * its record, and counts nothing against a peer that has addresses of its own: anyone can name
 * an honest peer at a black hole, and that must neither back it off nor take it out of the
 * routing table. A peer known only by hearsay is forgotten with its last address (a fake peer
 * learned from Sybils goes at its first failed dial instead of staying in the store and being
 * passed on in hellos). Otherwise the peer backs off.
 */
export function countFailedDial(ctx: DiscoveryContext, key: string, address: string, now: number): void {
  const record = ctx.store.records.get(key)
  if (!record) return
  const dialed = ctx.dialing.get(key)?.address ?? address
  const i = record.addresses.indexOf(dialed)
  const heard = i < 0 || i >= record.own
  if (heard && i >= 0) dropAddress(record, dialed)
  if (heard && record.own > 0) return
  if (record.addresses.length === 0) {
    forgetPeer(ctx.store, key)
    removePeer(ctx.table, key)
    return
  }
  backOffPeer(ctx, key, now)
}

/**
 * A dial of `peer` at `address` failed after a newer dial of it replaced it (a lookup trying the
 * next address claimed for its target): nothing counts against the peer, but an address others
 * named for it that does not answer is dropped while it has another.
 */
export function dropHeardAddress(ctx: DiscoveryContext, peer: string, address: string): void {
  const record = ctx.store.records.get(peer)
  if (!record || record.addresses.length < 2) return
  if (record.addresses.indexOf(address) >= record.own) dropAddress(record, address)
}

/** A dial failed (ours if it matches a dial in flight by peer id or by address). */
export function onDialFailed(ctx: DiscoveryContext, address: string, peer: string | undefined, now: number, out: Out[]): void {
  const key = failedDialKey(ctx, address, peer)
  if (key === undefined) return
  if (isHarmlessDialFailure(ctx, key)) {
    ctx.dialing.delete(key)
    return
  }
  countFailedDial(ctx, key, address, now)
  failQueriesTo(ctx, key, out)
  ctx.dialing.delete(key)
  fill(ctx, now, out) // replace the failed dial with another candidate (the failed one is in backoff)
}

/** Dial every bootstrap address not connected or being dialed (per-peer backoff does not apply). */
export function dialBootstrap(ctx: DiscoveryContext, now: number, out: Out[]): void {
  for (const address of ctx.options.bootstrap) {
    const split = splitAddress(address)
    if (!split || split.peer === ctx.peerId) continue
    const key = split.peer ?? `addr:${address}`
    if (ctx.connected.has(key) || ctx.dialing.has(key)) continue
    startDial(ctx, key, address, now, 'bootstrap', out)
  }
}

/** Dial random known peers while below the low watermark. */
export function fill(ctx: DiscoveryContext, now: number, out: Out[]): void {
  const { lowWatermark, maxDials } = ctx.options
  const n = Math.min(lowWatermark - liveConnections(ctx) - ctx.dialing.size, maxDials - ctx.dialing.size)
  if (n <= 0) return
  for (const r of randomPeers(ctx.store, ctx.rng, n, (r) => canDial(ctx, r, now))) {
    startDial(ctx, r.peer, nextAddress(r), now, 'fill', out)
  }
}

/**
 * Above the high watermark: hang up on unprotected, idle peers down to low. Connections we
 * opened only for a lookup's query go first (no grace period: their query is done); then random
 * others older than the grace period.
 */
export function trim(ctx: DiscoveryContext, now: number, out: Out[]): void {
  const { highWatermark, lowWatermark, gracePeriod } = ctx.options
  const live = liveConnections(ctx)
  if (live <= highWatermark) return
  const transient: string[] = []
  const settled: string[] = []
  for (const [peer, c] of ctx.connected) {
    if (ctx.hangingUp.has(peer) || isProtected(ctx, peer) || isBusy(ctx, peer)) continue
    if (c.transient) transient.push(peer)
    else if (now - c.since >= gracePeriod) settled.push(peer)
  }
  const excess = live - lowWatermark
  const chosen = sample(ctx.rng, transient, excess)
  if (chosen.length < excess) chosen.push(...sample(ctx.rng, settled, excess - chosen.length))
  for (const peer of chosen) {
    ctx.hangingUp.add(peer)
    out.push({ kind: 'swarm', event: hangUpRequest(peer, TRIMMED) })
  }
}

/**
 * Connections we opened only for lookup queries, idle for `lookupLinger` (no query in flight or
 * waiting, no provider record waiting): closed (`lookup-done`), so lookups do not leave the node
 * above its watermarks for the next trim. One another use keeps (a protection tag: a pubsub
 * mesh, the user), or one the node needs to stay at its low watermark, becomes an ordinary
 * connection instead.
 */
export function releaseLookupConnections(ctx: DiscoveryContext, now: number, out: Out[]): void {
  for (const [peer, c] of ctx.connected) {
    if (!c.transient || c.usedBy !== undefined || ctx.hangingUp.has(peer) || now - c.lastUsed < ctx.options.lookupLinger) continue
    if (isBusy(ctx, peer) || ctx.offers.has(peer)) continue
    if (isProtected(ctx, peer) || liveConnections(ctx) <= ctx.options.lowWatermark) {
      c.transient = false
      ctx.lookupConnections--
      continue
    }
    ctx.hangingUp.add(peer)
    out.push({ kind: 'swarm', event: hangUpRequest(peer, LOOKUP_DONE) })
  }
}

/** Forget dials the swarm never answered (a bound on `dialing`; it should not happen). */
export function purgeStaleDials(ctx: DiscoveryContext, now: number, out: Out[]): void {
  const limit = Math.max(60_000, 3 * ctx.options.queryTimeout)
  for (const [key, d] of [...ctx.dialing]) {
    if (now - d.since > limit) onDialFailed(ctx, d.address, key.startsWith('addr:') ? undefined : key, now, out)
  }
}

function tagOf(tag: unknown): string | undefined {
  if (tag === undefined) return 'user'
  return typeof tag === 'string' && tag.length > 0 && tag.length <= 64 ? tag : undefined
}

export function protect(ctx: DiscoveryContext, peer: unknown, tag: unknown): void {
  const t = tagOf(tag)
  if (typeof peer !== 'string' || peer.length === 0 || peer.length > 64 || t === undefined) return
  const tags = ctx.protections.get(peer)
  if (tags) tags.add(t)
  else if (ctx.protections.size < MAX_PROTECTED) ctx.protections.set(peer, new Set([t]))
}

export function unprotect(ctx: DiscoveryContext, peer: unknown, tag: unknown): void {
  const t = tagOf(tag)
  if (typeof peer !== 'string' || t === undefined) return
  const tags = ctx.protections.get(peer)
  if (!tags) return
  tags.delete(t)
  if (tags.size === 0) ctx.protections.delete(peer)
}

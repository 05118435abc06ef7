/**
 * Lookups as seen from the discovery actor: starting lookup children (self-lookup on joining,
 * random walks, findPeer), carrying out their `lookup.query` requests (send FIND_NODE to a
 * connected peer, or dial it first), failing queries whose peer is gone, and turning a finished
 * lookup into the answer to `discovery.findPeer` (provider lookups end in providers.ts).
 *
 * Bounds: at most `maxLookups` lookups; each has at most α queries in a round, so `pending`
 * and `awaiting` hold at most maxLookups·α entries per round, and both are cleared of a
 * lookup's entries when it ends. Request ids are a 32-bit counter (never 0).
 * @module
 */
import { splitAddress, toPeer } from '../lib/protocol.js'
import { nextU32 } from '../lib/rng.js'
import { closest, peerKey, type Key } from './kbucket.js'
import type { LookupOutput, LookupQuery } from './lookup.machine.js'
import { DISCOVERY_ID, LOOKUP_DONE, TRIMMED, type DiscoveryContext, type LookupInfo, type Out } from './context.js'
import { dialKnown, isUsable, startDial } from './peers.js'
import { finishAnnounce, finishProvidersLookup } from './providers.js'

/**
 * Start a lookup child for `target`, seeded with the k closest peers of the routing table.
 * Returns `too-many-lookups` or `no-peers` when it cannot start.
 */
export function startLookup(ctx: DiscoveryContext, info: LookupInfo, out: Out[], deadline?: number): string | 'too-many-lookups' | 'no-peers' {
  // The one announce lookup (providers.ts) runs besides the maxLookups others.
  if (ctx.lookups.size - (ctx.announcing === undefined ? 0 : 1) >= ctx.options.maxLookups && info.kind !== 'provide') return 'too-many-lookups'
  const seeds = closest(ctx.table, info.target, ctx.options.k).map((e) => ({
    peer: e.peer, key: e.key, addresses: ctx.store.records.get(e.peer)?.addresses, proven: true, connected: isUsable(ctx, e.peer),
  }))
  if (seeds.length === 0) return 'no-peers'
  const id = `lookup:${ctx.nextLookupId++}`
  ctx.lookups.set(id, info)
  const { alpha, k, maxRounds, queryTimeout, contactTimeout, disjointPaths: paths, diversity } = ctx.options
  const preferConnected = info.kind === 'self' || info.kind === 'walk'
  out.push({ kind: 'spawn', id, input: { lookupId: id, target: info.target, targetPeer: info.targetPeer, seeds, alpha, k, maxRounds, queryTimeout, contactTimeout, paths, diversity, preferConnected, ...(deadline === undefined ? {} : { deadline }) } })
  return id
}

/** A random 32-byte key drawn from the rng (random-walk target). */
export function randomKey(ctx: DiscoveryContext): Key {
  const key = new Uint8Array(32)
  const view = new DataView(key.buffer)
  for (let i = 0; i < 32; i += 4) view.setUint32(i, nextU32(ctx.rng))
  return key
}

function sendFind(ctx: DiscoveryContext, lookupId: string, peer: string, out: Out[]): void {
  const info = ctx.lookups.get(lookupId)
  if (!info) return
  const id = ctx.nextRequestId
  ctx.nextRequestId = id >= 0xffff_ffff ? 1 : id + 1
  ctx.pending.set(id, { lookupId, peer })
  const connection = ctx.connected.get(peer)
  if (connection) connection.usedBy = lookupId
  const request = info.kind === 'providers' ? { t: 'getp', id, key: info.target } : { t: 'find', id, target: info.target }
  out.push({ kind: 'emit', event: toPeer(DISCOVERY_ID, peer, request) })
}

function fail(lookupId: string, peer: string, out: Out[]): void {
  out.push({ kind: 'lookup', id: lookupId, event: { type: 'lookup.failed', peer } })
}

/**
 * A lookup asks to query `peers`: now if connected, after a dial if we can dial, else failed. A
 * peer with an address in `event.dial` (the target of a findPeer, at an address someone claimed
 * for it) is dialed there whatever its backoff: the lookup bounds those attempts.
 */
export function onLookupQuery(ctx: DiscoveryContext, event: LookupQuery, now: number, out: Out[]): void {
  if (!ctx.lookups.has(event.lookupId)) return
  for (const peer of event.peers) {
    if (peer !== ctx.peerId && isUsable(ctx, peer)) {
      sendFind(ctx, event.lookupId, peer, out)
      continue
    }
    // We are hanging up on it (a trim): the query waits, and the peer is dialed again once the
    // connection is gone (redialForWork).
    if (ctx.hangingUp.has(peer)) { awaitPeer(ctx, peer, event.lookupId); continue }
    const record = ctx.store.records.get(peer)
    const claimed = event.dial?.[peer]
    const reachable = !ctx.connected.has(peer) && peer !== ctx.peerId && (claimed !== undefined
      ? dialClaimed(ctx, peer, claimed, now, out)
      : ctx.dialing.has(peer) || (record !== undefined && dialKnown(ctx, record, now, 'lookup', out)))
    if (!reachable) { fail(event.lookupId, peer, out); continue }
    awaitPeer(ctx, peer, event.lookupId)
  }
}

/** `lookupId` waits for a connection to `peer` before it can query it. */
function awaitPeer(ctx: DiscoveryContext, peer: string, lookupId: string): void {
  const waiting = ctx.awaiting.get(peer)
  if (!waiting) ctx.awaiting.set(peer, [lookupId])
  else if (!waiting.includes(lookupId)) waiting.push(lookupId)
}

/**
 * Dial `peer` at an address claimed for it (one that names it), if a dial slot is free. A dial
 * of the peer at another address still in flight (a black hole that never answers) is left
 * to fail on its own: this one replaces it as the peer's dial.
 */
function dialClaimed(ctx: DiscoveryContext, peer: string, address: string, now: number, out: Out[]): boolean {
  const current = ctx.dialing.get(peer)
  if (current?.address === address) return true
  if (splitAddress(address)?.peer !== peer || (!current && ctx.dialing.size >= ctx.options.maxDials)) return false
  startDial(ctx, peer, address, now, 'lookup', out)
  if (current) ctx.dialing.get(peer)!.replaced = true
  return true
}

/** `peer` is connected now: send the queries that waited for it. */
export function flushAwaiting(ctx: DiscoveryContext, peer: string, out: Out[]): void {
  const waiting = ctx.awaiting.get(peer)
  if (!waiting) return
  ctx.awaiting.delete(peer)
  for (const lookupId of waiting) sendFind(ctx, lookupId, peer, out)
}

/** `peer` is gone or could not be dialed: fail its in-flight and waiting queries. */
export function failQueriesTo(ctx: DiscoveryContext, peer: string, out: Out[]): void {
  ctx.offers.delete(peer) // provider records waiting for it: the next republish tries again
  const waiting = ctx.awaiting.get(peer)
  if (waiting) {
    ctx.awaiting.delete(peer)
    for (const lookupId of waiting) fail(lookupId, peer, out)
  }
  for (const [id, q] of ctx.pending) {
    if (q.peer !== peer) continue
    ctx.pending.delete(id)
    fail(q.lookupId, peer, out)
  }
}

/**
 * Close reasons of a connection manager (ours or the remote's: `trimmed`, `lookup-done`): the
 * connection was closed by a decision about connection counts, which says nothing about the
 * peer's health.
 */
export const MANAGER_REASONS: ReadonlySet<string> = new Set([TRIMMED, LOOKUP_DONE])

/** Lookup queries or provider records wait on `peer` (in flight, waiting for a connection, or an offer). */
export function hasWorkFor(ctx: DiscoveryContext, peer: string): boolean {
  if (ctx.awaiting.has(peer) || ctx.offers.has(peer)) return true
  for (const q of ctx.pending.values()) if (q.peer === peer) return true
  return false
}

/**
 * A connection a connection manager closed (our trim, or the remote's: the two cross when a
 * query goes out as the remote trims) while lookup queries or provider records waited on it:
 * the peer is not gone, so dial it again and send them once connected (a query keeps its
 * lookup's deadline, which bounds the retry). Failed as usual when it cannot be dialed now.
 */
export function redialForWork(ctx: DiscoveryContext, peer: string, now: number, out: Out[]): void {
  const record = ctx.store.records.get(peer)
  if (!record || !(ctx.dialing.has(peer) || dialKnown(ctx, record, now, 'lookup', out))) return failQueriesTo(ctx, peer, out)
  for (const [id, q] of ctx.pending) {
    if (q.peer !== peer) continue
    ctx.pending.delete(id)
    awaitPeer(ctx, peer, q.lookupId)
  }
}

/** Ask every running lookup to stop (the swarm is closing). */
export function cancelLookups(ctx: DiscoveryContext, out: Out[]): void {
  for (const id of ctx.lookups.keys()) out.push({ kind: 'lookup', id, event: { type: 'lookup.cancel' } })
}

/** A lookup child finished (`output` undefined: it failed): clean up, answer findPeer / findProviders, announce. */
export function onLookupDone(ctx: DiscoveryContext, id: string, output: LookupOutput | undefined, now: number, out: Out[]): void {
  const info = ctx.lookups.get(id)
  if (!info) return
  ctx.lookups.delete(id)
  out.push({ kind: 'stop', id })
  for (const [rid, q] of ctx.pending) if (q.lookupId === id) ctx.pending.delete(rid)
  // its connections' idle time starts now (lookupLinger: a follow-up query may reuse them)
  for (const c of ctx.connected.values()) if (c.usedBy === id) { c.usedBy = undefined; c.lastUsed = now }
  for (const [peer, ids] of ctx.awaiting) {
    const rest = ids.filter((x) => x !== id)
    if (rest.length === 0) ctx.awaiting.delete(peer)
    else if (rest.length !== ids.length) ctx.awaiting.set(peer, rest)
  }
  if (info.kind === 'provide') return finishAnnounce(ctx, info, output, now, out)
  if (info.kind === 'providers') return finishProvidersLookup(ctx, info, output, out)
  if (info.kind !== 'find' || info.targetPeer === undefined || info.queryId === undefined) return
  const rounds = output?.rounds ?? 0
  const found = output?.found
  const addresses = found ? provenAddresses(ctx, info.targetPeer) : []
  if (found && addresses.length > 0) {
    out.push({ kind: 'emit', event: { type: 'discovery.peer.found', queryId: info.queryId, peer: info.targetPeer, addresses: addresses.slice(), rounds } })
  } else {
    const reason = output === undefined ? 'lookup-failed' : output.cancelled ? 'cancelled' : 'not-found'
    out.push({ kind: 'emit', event: { type: 'discovery.peer.notFound', queryId: info.queryId, peer: info.targetPeer, rounds, reason } })
  }
}

/**
 * The addresses to report for `peer`: the one a connection we dialed runs over (proved by the
 * handshake), else those in the store (claims; a peer that dialed us has no proved address).
 */
function provenAddresses(ctx: DiscoveryContext, peer: string): string[] {
  const connection = ctx.connected.get(peer)?.address
  if (connection !== undefined && splitAddress(connection)?.peer === peer) return [connection]
  return ctx.store.records.get(peer)?.addresses.slice() ?? []
}

/** The query id and peer name a `discovery.findPeer` answer echoes (whatever the caller sent). */
function findPeerEcho(event: { peer: unknown; queryId: unknown }): { queryId: string | number; peer: string } {
  const { peer, queryId } = event
  const qid = typeof queryId === 'string' || typeof queryId === 'number' ? queryId : String(queryId)
  return { queryId: qid, peer: typeof peer === 'string' ? peer.slice(0, 64) : String(peer).slice(0, 64) }
}

/** `discovery.findPeer` answered at once: not found, for `reason`. */
export function refuseFindPeer(event: { peer: unknown; queryId: unknown }, reason: string, out: Out[]): void {
  out.push({ kind: 'emit', event: { type: 'discovery.peer.notFound', ...findPeerEcho(event), rounds: 0, reason } })
}

/** `discovery.findPeer` of ourselves or of a connected peer: found at once (rounds 0). */
export function answerFindPeerAtOnce(ctx: DiscoveryContext, peer: string, queryId: unknown, out: Out[]): void {
  const addresses = peer === ctx.peerId ? ctx.addresses : provenAddresses(ctx, peer)
  const { queryId: qid } = findPeerEcho({ peer, queryId })
  out.push({ kind: 'emit', event: { type: 'discovery.peer.found', queryId: qid, peer, addresses: addresses.slice(), rounds: 0 } })
}

/** `discovery.findPeer` of a valid, unconnected peer: a lookup (the guards checked that one can start). */
export function startFindLookup(ctx: DiscoveryContext, peer: string, queryId: unknown, out: Out[]): void {
  const { queryId: qid } = findPeerEcho({ peer, queryId })
  startLookup(ctx, { kind: 'find', target: peerKey(peer)!, targetPeer: peer, queryId: qid }, out)
}

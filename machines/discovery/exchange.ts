/**
 * The discovery wire conversation: peer exchange (`hello`) and FIND_NODE (`find` / `found`).
 *
 * - On every new connection each side sends one `hello`: its own listen addresses and a random
 *   sample (at most `exchangeSize`) of peers it knows with their addresses. Only the first
 *   `hello` of a connection counts, so a peer cannot flood the store through one connection.
 * - `find` is answered at once with the k peers of our routing table closest to the target
 *   (never the asker itself), each with at most `maxAddresses` addresses.
 * - `found` (and GET_PROVIDERS' `providers`, providers.ts) is accepted only as the answer to a
 *   request we have in flight, from the peer we asked (the request id correlates; anything else
 *   is dropped), and goes to its lookup.
 * Addresses are kept only when `splitAddress` accepts them and their /p2p id is the peer's.
 * @module
 */
import { toPeer } from '../lib/protocol.js'
import { closest, peerKey, type Key } from './kbucket.js'
import type { Contact } from './lookup.js'
import type { DiscoveryMessage, FindMessage, FoundMessage, HelloMessage, WirePeer } from './messages.js'
import { addressesOf, markSeen, randomPeers, type PeerRecord } from './peer-store.js'
import { DISCOVERY_ID, type DiscoveryContext, type Out } from './context.js'
import { admit, isUsable, remember } from './peers.js'

/** Our `hello` for `peer`: own addresses and a random sample of healthy known peers. */
export function buildHello(ctx: DiscoveryContext, peer: string): HelloMessage {
  const sample = randomPeers(ctx.store, ctx.rng, ctx.options.exchangeSize, (r) =>
    r.peer !== peer && r.addresses.length > 0 && r.failures < 3)
  return {
    t: 'hello',
    addrs: ctx.addresses.slice(0, ctx.options.maxAddresses),
    peers: sample.map((r) => ({ id: r.peer, addrs: r.addresses })),
  }
}

export function sendHello(ctx: DiscoveryContext, peer: string, out: Out[]): void {
  out.push({ kind: 'emit', event: toPeer(DISCOVERY_ID, peer, buildHello(ctx, peer)) })
}

/**
 * A peer another peer told us about: remember it (announcing it if new). `heardUntil`: a peer
 * new to the store is forgotten then unless it proves itself first (lookup answers).
 */
export function learnPeer(ctx: DiscoveryContext, p: WirePeer, out: Out[], heardUntil = Infinity): PeerRecord | undefined {
  if (p.id === ctx.peerId) return undefined
  const existing = ctx.store.records.get(p.id)
  if (existing && p.addrs.every((a) => existing.addresses.includes(a))) return existing
  const key = existing?.key ?? peerKey(p.id)
  if (!key) return undefined
  const addresses = addressesOf(p.id, p.addrs, ctx.options.maxAddresses)
  if (addresses.length === 0) return existing
  const record = remember(ctx, p.id, key, addresses, false, true, out)
  if (record && !existing) record.heardUntil = heardUntil
  return record
}

/** The first `hello` of a connection: the peer's own addresses, and the peers it knows. */
export function onHello(ctx: DiscoveryContext, peer: string, body: HelloMessage, now: number, out: Out[]): void {
  const conn = ctx.connected.get(peer)
  if (!conn || conn.greeted) return
  conn.greeted = true
  const own = addressesOf(peer, body.addrs, ctx.options.maxAddresses)
  const key = ctx.store.records.get(peer)?.key ?? peerKey(peer)
  if (own.length > 0 && key) {
    const record = remember(ctx, peer, key, own, true, true, out)
    if (record) {
      markSeen(record, now)
      admit(ctx, record, now)
    }
  }
  for (const p of body.peers.slice(0, ctx.options.exchangeSize * 2)) learnPeer(ctx, p, out)
}

/** The k peers of our routing table closest to `target` (never `asker`), as sent on the wire. */
export function closestWirePeers(ctx: DiscoveryContext, target: Key, asker: string): WirePeer[] {
  const peers: WirePeer[] = []
  for (const e of closest(ctx.table, target, ctx.options.k, (e) => e.peer === asker)) {
    const r = ctx.store.records.get(e.peer)
    if (r && r.addresses.length > 0) peers.push({ id: r.peer, addrs: r.addresses })
  }
  return peers
}

/** Answer a FIND_NODE with the k closest peers we know. */
export function onFind(ctx: DiscoveryContext, peer: string, body: FindMessage, out: Out[]): void {
  const answer: FoundMessage = { t: 'found', id: body.id, peers: closestWirePeers(ctx, body.target, peer) }
  out.push({ kind: 'emit', event: toPeer(DISCOVERY_ID, peer, answer) })
}

/**
 * The answer to one of our requests (FIND_NODE or GET_PROVIDERS), from the peer we asked:
 * learn the peers it names and pass them to the lookup. Returns the lookup's id, or
 * `undefined` when the answer was not awaited.
 */
export function onAnswer(ctx: DiscoveryContext, peer: string, id: number, peers: readonly WirePeer[], now: number, out: Out[]): string | undefined {
  const request = ctx.pending.get(id)
  if (!request || request.peer !== peer) return undefined
  ctx.pending.delete(id)
  const responder = ctx.store.records.get(peer)
  if (responder) admit(ctx, responder, now)
  const contacts: Contact[] = []
  for (const p of peers) {
    const r = learnPeer(ctx, p, out, now + ctx.options.heardPeerTtl)
    if (!r || r.addresses.length === 0) continue
    // The addresses as this responder claims them (the store may not have room for them): a
    // lookup groups the contact by them and may dial the target at them.
    const claimed = addressesOf(p.id, p.addrs, ctx.options.maxAddresses)
    contacts.push({ peer: r.peer, key: r.key, addresses: claimed.length > 0 ? claimed : r.addresses, proven: ctx.table.byPeer.has(r.peer), connected: isUsable(ctx, r.peer) })
  }
  if (!ctx.lookups.has(request.lookupId)) return undefined
  out.push({ kind: 'lookup', id: request.lookupId, event: { type: 'lookup.response', peer, contacts } })
  return request.lookupId
}

/** The answer to one of our FIND_NODE requests. */
export function onFound(ctx: DiscoveryContext, peer: string, body: FoundMessage, now: number, out: Out[]): void {
  onAnswer(ctx, peer, body.id, body.peers, now, out)
}

/**
 * Large messages are pulled, not pushed, between mesh peers (in the manner of the gossipsub
 * v2.0 proposal's IANNOUNCE / INEED): a forwarder announces a message of at least
 * `announceMinSize` to its mesh peers (receive.ts, `forward`), and a peer that lacks it asks ONE
 * announcer for it and keeps the others in reserve. Pushing, every peer sends a large message to
 * every mesh peer but its senders, so a node gets it from each neighbour that had it before the
 * node's IDONTWANT could arrive: ≈ 2-3.5 copies per delivery in a ring with chords. Pulling, a
 * node receives one copy (plus one more when an announcer answers late), at the price of an
 * announce and a request per hop. That price is worth paying only when the bytes are: a quiet
 * forwarder still pushes large messages, until what it pushed since its last heartbeat reaches
 * `pushBudget`; an interval that reached it makes the node busy for the next one, in which it
 * announces them all (`announcesForward`). So a quiet topic keeps one trip a hop, and a busy one
 * pulls everything after its first heartbeat interval.
 *
 * Nothing is lost when an announcer leaves or does not answer: a peer that disconnects is
 * replaced at once by the next announcer (`reaskNeeds`), one that has not answered within
 * `needTimeout` at the heartbeat (`expireNeeds`); with no announcer left the request is dropped
 * and gossip (IHAVE/IWANT of the message cache) still reaches the node. An announce also means
 * "I have it": the announcer is never sent that message (as IDONTWANT).
 *
 * An announce is a promise, like an IHAVE answered by IWANT (gossipsub v1.1 promise tracking):
 * - an INEED unanswered within needTimeout is a broken promise, a P7 behaviour penalty for the
 *   announcer, at most one per announcer per heartbeat (gossipsub counts one per IWANT, not per
 *   id), so a node that stalls once pays little and one that keeps announcing what it does not
 *   serve falls below the gossip threshold;
 * - a peer below the gossip threshold is not asked (its announce still counts as IDONTWANT);
 * - INEED is answered only for an id we announced to that peer, once: the answer stands in for
 *   the push a mesh peer would have had, so it is given whatever the asker's score above the
 *   graylist (a graylisted peer's RPCs are dropped whole), and INEED cannot fetch anything else.
 * @module
 */
import { mcacheGet, type CachedMessage } from './caches.js'
import { scoreBehaviour } from './score.js'
import { queue, type PeerState, type RouterState } from './state.js'
import { idToHex } from './wire.js'

/** Remember that `ps` does not want `hex` (IDONTWANT, or it announced it), bounded per peer. */
export function markDontWant(s: RouterState, ps: PeerState, hex: string, now: number): void {
  if (ps.dontWant.size >= s.params.maxDontWantPerPeer) {
    const oldest = ps.dontWant.keys().next().value
    if (oldest !== undefined) ps.dontWant.delete(oldest)
  }
  ps.dontWant.set(hex, now + s.params.dontWantTtl)
}

/** Announce the cached message `id` to mesh peer `peer`, which may then ask for it once. */
export function announceTo(s: RouterState, peer: string, cached: CachedMessage, id: Uint8Array): void {
  (cached.announcedTo ??= new Set()).add(peer)
  queue(s, peer, 'iann', id)
}

/**
 * Decision: forward a message of `size` bytes as an announce rather than push it. It is large
 * (announceMinSize) and the node is busy: the large messages it forwarded since its last
 * heartbeat, or in the interval before, reach the push budget (`largeForwarded`, `largeBusy`,
 * both kept by `countLargeForward` and the heartbeat).
 */
export function announcesForward(s: RouterState, size: number): boolean {
  return size >= s.params.announceMinSize && (s.largeBusy || s.largeForwarded >= s.params.pushBudget)
}

/** A large message of `size` bytes forwarded to one more mesh peer (pushed or announced). */
export function countLargeForward(s: RouterState, size: number): void {
  if (size >= s.params.announceMinSize) s.largeForwarded += size
}

/** Decision: an announcer at this score is worth asking (not below the gossip threshold). */
export function worthAsking(s: RouterState, score: number): boolean {
  return score >= s.params.score.gossipThreshold
}

/**
 * IANNOUNCE from `peer`: ask it for each message we lack and have not asked anyone for (when it
 * is `askable`, see `worthAsking`); every announce counts as IDONTWANT.
 */
export function handleAnnounce(s: RouterState, peer: string, ps: PeerState, ids: Uint8Array[], askable: boolean, now: number): void {
  const p = s.params
  for (const id of ids) {
    if (ps.announced >= p.maxAnnouncedPerHeartbeat) return
    ps.announced++
    const hex = idToHex(id)
    markDontWant(s, ps, hex, now)
    // Cached but no longer seen (the seen cache is size-bounded): had, nothing to ask.
    if (!askable || s.seen.entries.has(hex) || mcacheGet(s.mcache, hex) !== undefined) continue
    const need = s.needs.get(hex)
    if (need) {
      if (need.peer !== peer && !need.others.includes(peer) && need.others.length < p.D * 2) need.others.push(peer)
      continue
    }
    if (s.needs.size >= p.maxPendingNeeds) continue
    s.needs.set(hex, { id, peer, at: now, others: [] })
    queue(s, peer, 'ineed', id)
  }
}

/** INEED from `peer`: send it each cached message we announced to it, once (else IWANT is the way). */
export function handleNeed(s: RouterState, peer: string, ps: PeerState, ids: Uint8Array[]): void {
  const p = s.params
  for (const id of ids) {
    if (ps.needServed >= p.maxAnnouncedPerHeartbeat) return
    const cached = mcacheGet(s.mcache, idToHex(id))
    if (!cached?.announcedTo?.delete(peer)) continue
    ps.needServed++
    queue(s, peer, 'msg', cached.msg)
  }
}

/** The message arrived (any way, even after we left its topic): nothing more to ask for. */
export function needMet(s: RouterState, hex: string): void {
  s.needs.delete(hex)
}

/** Ask the next announcer still connected for `hex`, or give up on it (gossip may still bring it). */
function askNext(s: RouterState, hex: string, now: number): void {
  const need = s.needs.get(hex)!
  let next: string | undefined
  while ((next = need.others.shift()) !== undefined && !s.peers.has(next));
  if (next === undefined) {
    s.needs.delete(hex)
    return
  }
  need.peer = next
  need.at = now
  queue(s, next, 'ineed', need.id)
}

/** `peer` left: what we had asked it for, we ask the next announcer for at once. */
export function reaskNeeds(s: RouterState, peer: string, now: number): void {
  for (const [hex, need] of s.needs) if (need.peer === peer) askNext(s, hex, now)
}

/**
 * Heartbeat: a request unanswered for needTimeout is a broken promise of its announcer (P7, at
 * most one per announcer per heartbeat) and goes to the next announcer.
 */
export function expireNeeds(s: RouterState, now: number): void {
  let penalized: Set<string> | undefined
  for (const [hex, need] of s.needs) {
    if (need.at + s.params.needTimeout > now) continue
    const ps = s.peers.get(need.peer)
    if (ps && !penalized?.has(need.peer)) {
      penalized ??= new Set()
      penalized.add(need.peer)
      scoreBehaviour(ps.stats)
    }
    askNext(s, hex, now)
  }
}

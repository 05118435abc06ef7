/**
 * Control parts of a received RPC: GRAFT, PRUNE (gossipsub v1.0/v1.1, without peer exchange:
 * discovery finds peers), IHAVE/IWANT (lazy gossip, with v1.1's limits and IWANT promises)
 * and IDONTWANT (v1.2), IANNOUNCE / INEED for large messages (announce.ts). Every
 * peer-controlled amount is bounded per RPC by `parseRpc` and per heartbeat here; peers below
 * the gossip threshold get no gossip answered at all and are not asked for what they announce
 * (INEED is still answered for what we announced to them: it replaces a mesh push).
 * @module
 */
import { nextInt, sample } from '../lib/rng.js'
import { mcacheGet } from './caches.js'
import { handleAnnounce, handleNeed, markDontWant, worthAsking } from './announce.js'
import { backoffLeft, stepMember } from './members.js'
import { isSubscribed, scoreOf } from './mesh.js'
import { queue, type PeerState, type RouterState } from './state.js'
import { idToHex, type Control, type IHave, type Prune } from './wire.js'

export function handleControl(s: RouterState, peer: string, ps: PeerState, ctl: Control, now: number): void {
  const score = scoreOf(s, peer, now)
  if (ctl.graft) for (const topic of ctl.graft) handleGraft(s, peer, ps, topic, score, now)
  if (ctl.prune) for (const prune of ctl.prune) handlePrune(s, peer, prune, now)
  if (ctl.idw) handleIdontwant(s, ps, ctl.idw, now)
  if (ctl.iann) handleAnnounce(s, peer, ps, ctl.iann, worthAsking(s, score), now)
  if (ctl.ineed) handleNeed(s, peer, ps, ctl.ineed)
  if (score < s.params.score.gossipThreshold) return
  if (ctl.ihave) handleIhave(s, peer, ps, ctl.ihave, now)
  if (ctl.iwant) handleIwant(s, peer, ps, ctl.iwant)
}

function handleGraft(s: RouterState, peer: string, ps: PeerState, topic: string, score: number, now: number): void {
  const t = s.topics.get(topic)
  const p = s.params
  if (!isSubscribed(t)) {
    // Not (or no longer) subscribed: tell the peer, so it stops treating us as mesh.
    if (t) queue(s, peer, 'prune', { t: topic, b: Math.ceil(p.unsubscribeBackoff / 1000) })
    return
  }
  // Accept, refuse or penalize: the pair's membership chart decides (membership.machine.ts).
  stepMember(s, topic, t, peer, {
    type: 'member.graftReceived',
    negativeScore: score < 0,
    subscribed: ps.topics.has(topic),
    meshFull: t.mesh.size >= p.Dhi && !ps.outbound,
    backoff: Math.max(p.pruneBackoff, backoffLeft(t, peer, now)),
  }, now)
}

function handlePrune(s: RouterState, peer: string, prune: Prune, now: number): void {
  const t = s.topics.get(prune.t)
  if (!t) return
  const backoff = prune.b === undefined ? s.params.pruneBackoff : prune.b * 1000
  stepMember(s, prune.t, t, peer, { type: 'member.pruneReceived', backoff: Math.max(backoff, backoffLeft(t, peer, now)) }, now)
}

function handleIdontwant(s: RouterState, ps: PeerState, ids: Uint8Array[], now: number): void {
  const p = s.params
  for (const id of ids) {
    if (ps.idontwantCount >= p.maxIdontwantPerHeartbeat) return
    ps.idontwantCount++
    markDontWant(s, ps, idToHex(id), now)
  }
}

function handleIhave(s: RouterState, peer: string, ps: PeerState, entries: IHave[], now: number): void {
  const p = s.params
  if (++ps.ihaveCount > p.maxIhaveMessages || ps.iasked >= p.maxIhaveLength) return
  const wanted = new Map<string, Uint8Array>()
  for (const entry of entries) {
    if (!isSubscribed(s.topics.get(entry.t))) continue
    for (const id of entry.ids) {
      const hex = idToHex(id)
      if (!s.seen.entries.has(hex) && !wanted.has(hex)) wanted.set(hex, id)
    }
  }
  if (wanted.size === 0) return
  const budget = p.maxIhaveLength - ps.iasked
  const asked = wanted.size > budget ? sample(s.rng, wanted.keys(), budget) : [...wanted.keys()]
  ps.iasked += asked.length
  for (const hex of asked) queue(s, peer, 'iwant', wanted.get(hex) as Uint8Array)
  // One promise per IWANT, on a random id of it (v1.1 §Promise tracking).
  const promised = asked[nextInt(s.rng, asked.length)]
  if (s.promiseCount >= p.maxPromises) return
  let byPeer = s.promises.get(promised)
  if (!byPeer) s.promises.set(promised, (byPeer = new Map()))
  if (!byPeer.has(peer)) s.promiseCount++
  byPeer.set(peer, now + p.iwantFollowupTime)
}

function handleIwant(s: RouterState, peer: string, ps: PeerState, ids: Uint8Array[]): void {
  const p = s.params
  for (const id of ids) {
    if (ps.iwantServed >= p.maxIwantServedPerHeartbeat) return
    const hex = idToHex(id)
    const cached = mcacheGet(s.mcache, hex)
    if (!cached) continue
    const times = cached.served?.get(peer) ?? 0
    if (times >= p.gossipRetransmission) continue
    ;(cached.served ??= new Map()).set(peer, times + 1)
    ps.iwantServed++
    // A peer asks only for an id it does not know (any more): it may have dropped the message
    // unvalidated after its IDONTWANT (validator queue full), so the request wins over that.
    ps.dontWant.delete(hex)
    queue(s, peer, 'msg', cached.msg)
  }
}

/**
 * The heartbeat (gossipsub v1.0 §Heartbeat, v1.1 changes), run once per `heartbeatInterval`, one
 * exported step per named action of the pubsub machine's `heartbeat` transition:
 *  1. score decay, per-heartbeat counters reset, IDONTWANT and retained-score expiry;
 *  2. broken IWANT and INEED promises become P7 penalties; seen-cache and validation expiry;
 *  3. per subscribed topic: negative-score peers pruned, mesh filled to D below D_lo, cut to D
 *     above D_hi (D_score best by score, the rest at random, D_out outbound kept); every
 *     opportunisticGraftTicks, peers above a poor median mesh score grafted (v1.1);
 *  4. per fanout topic: expiry after fanoutTtl, else refilled to D;
 *  5. the topic's lifecycle statechart advanced with the resulting mesh size (due backoffs were
 *     delivered to the membership charts first, members.ts);
 *  6. gossip: IHAVE of the newest mcacheGossip windows to max(D_lazy, gossipFactor × eligible)
 *     non-mesh peers above the gossip threshold; then the message cache shifts;
 *  7. hang-up requests for peers below the disconnect threshold.
 * @module
 */
import { shuffled } from '../lib/rng.js'
import { mcacheGossipIds, mcacheShift, seenExpire } from './caches.js'
import { candidates, checkDisconnect, graftPeer, inBackoff, isSubscribed, prunePeer, scoreOf } from './mesh.js'
import { tickMembers } from './members.js'
import { expireNeeds } from './announce.js'
import { expireValidations } from './receive.js'
import { decayStats, scoreBehaviour } from './score.js'
import { dropTopic, queue, stepTopic, type RouterState, type TopicState } from './state.js'

/**
 * The wait before the next heartbeat. The first comes at a point of the first interval drawn
 * from the seeded rng, then one every heartbeatInterval, so each node keeps its own phase: nodes
 * started together (a benchmark, a simulation, a host running many swarms) would otherwise run
 * every heartbeat in the same millisecond, a burst that delays any message in flight.
 */
export function heartbeatDelay(s: RouterState): number {
  return s.heartbeats === 0 ? s.firstHeartbeatDelay : s.params.heartbeatInterval
}

/** Step 1: score decay, per-heartbeat counters reset (busy with large messages or not), IDONTWANT and retained-score expiry. */
export function decayPeers(s: RouterState, now: number): void {
  const p = s.params
  s.heartbeats++
  s.largeBusy = s.largeForwarded >= p.pushBudget
  s.largeForwarded = 0
  for (const ps of s.peers.values()) {
    decayStats(ps.stats, p.score)
    ps.ihaveCount = 0
    ps.iasked = 0
    ps.iwantServed = 0
    ps.idontwantCount = 0
    ps.announced = 0
    ps.needServed = 0
    for (const [hex, until] of ps.dontWant) {
      if (until > now) break
      ps.dontWant.delete(hex)
    }
  }
  for (const [peer, kept] of s.retained) {
    if (kept.until > now) break
    s.retained.delete(peer)
  }
}

/** Step 2: broken IWANT and INEED promises become penalties; seen-cache and validation expiry. */
export function expireCaches(s: RouterState, now: number): void {
  expirePromises(s, now)
  expireNeeds(s, now)
  seenExpire(s.seen, now, s.params.seenTtl)
  expireValidations(s, now)
}

/**
 * Steps 3 to 5: per topic, the mesh (subscribed) or the fanout maintained, the topic's actor
 * told the resulting mesh size, then gossip for topics still in use; idle topics with no
 * backoff left are dropped (their actor stops).
 */
export function maintainTopics(s: RouterState, now: number): void {
  const p = s.params
  for (const [topic, t] of s.topics) {
    tickMembers(s, topic, t, now)
    const phase = t.phase
    if (isSubscribed(t)) maintainMesh(s, topic, t, now)
    let fanoutExpired = false
    if (phase === 'fanout') {
      if (t.lastPublish + p.fanoutTtl <= now) {
        fanoutExpired = true
        t.fanout.clear()
      } else {
        maintainFanout(s, topic, t, now)
      }
    }
    stepTopic(t, { type: 'topic.heartbeat', meshSize: t.mesh.size, dLo: p.Dlo, fanoutExpired })
    const next = t.phase
    if (next === 'idle') {
      if (t.members.size === 0) dropTopic(s, topic)
    } else if (next !== 'leaving') {
      emitGossip(s, topic, t, now)
    }
  }
}

/** Step 6 (end): the message cache shifts one window. */
export function shiftMessageCache(s: RouterState): void {
  mcacheShift(s.mcache)
}

/** Step 7: hang-up requests for peers below the disconnect threshold. */
export function hangUpLowScorers(s: RouterState, now: number): void {
  for (const [peer, ps] of s.peers) checkDisconnect(s, peer, ps, now)
}

function expirePromises(s: RouterState, now: number): void {
  for (const [hex, byPeer] of s.promises) {
    for (const [peer, deadline] of byPeer) {
      if (deadline > now) continue
      byPeer.delete(peer)
      s.promiseCount--
      const ps = s.peers.get(peer)
      if (ps) scoreBehaviour(ps.stats)
    }
    if (byPeer.size === 0) s.promises.delete(hex)
  }
}

function maintainMesh(s: RouterState, topic: string, t: TopicState, now: number): void {
  const p = s.params
  const scores = new Map<string, number>()
  const score = (peer: string): number => {
    let v = scores.get(peer)
    if (v === undefined) scores.set(peer, (v = scoreOf(s, peer, now)))
    return v
  }
  for (const peer of [...t.mesh]) if (score(peer) < 0) prunePeer(s, topic, t, peer, now, p.pruneBackoff)

  const eligible = (peer: string): boolean => !t.mesh.has(peer) && !inBackoff(t, peer, now) && score(peer) >= 0
  if (t.mesh.size < p.Dlo) {
    const need = p.D - t.mesh.size
    for (const peer of candidates(s, topic, eligible).slice(0, need)) graftPeer(s, topic, t, peer, now)
  } else if (t.mesh.size > p.Dhi) {
    // Random order first so equal scores are broken at random, then the best D_score kept.
    const byScore = shuffled(s.rng, t.mesh).sort((a, b) => score(b) - score(a))
    const keep = byScore.slice(0, p.Dscore)
    const rest = shuffled(s.rng, byScore.slice(p.Dscore))
    keep.push(...rest.splice(0, p.D - p.Dscore))
    const isOut = (peer: string): boolean => s.peers.get(peer)?.outbound === true
    let outbound = keep.filter(isOut).length
    for (let i = keep.length - 1; i >= p.Dscore && outbound < p.Dout; i--) {
      if (isOut(keep[i])) continue
      const swap = rest.findIndex(isOut)
      if (swap < 0) break
      keep[i] = rest.splice(swap, 1)[0]
      outbound++
    }
    const kept = new Set(keep)
    for (const peer of [...t.mesh]) if (!kept.has(peer)) prunePeer(s, topic, t, peer, now, p.pruneBackoff)
  }
  // Keep D_out outbound peers in a healthy mesh (v1.1 §Outbound Mesh Quotas).
  if (t.mesh.size >= p.Dlo) {
    let outbound = 0
    for (const peer of t.mesh) if (s.peers.get(peer)?.outbound) outbound++
    if (outbound < p.Dout) {
      const extra = candidates(s, topic, (peer, ps) => ps.outbound && eligible(peer))
      for (const peer of extra.slice(0, p.Dout - outbound)) graftPeer(s, topic, t, peer, now)
    }
  }
  // Opportunistic grafting (v1.1): a mesh whose median score is poor gets better peers.
  if (s.heartbeats % p.opportunisticGraftTicks === 0 && t.mesh.size > 1) {
    const sorted = [...t.mesh].map(score).sort((a, b) => a - b)
    const median = sorted[sorted.length >> 1]
    if (median < p.score.opportunisticGraftThreshold) {
      const better = candidates(s, topic, (peer) => eligible(peer) && score(peer) > median)
      for (const peer of better.slice(0, p.opportunisticGraftPeers)) graftPeer(s, topic, t, peer, now)
    }
  }
}

function maintainFanout(s: RouterState, topic: string, t: TopicState, now: number): void {
  const threshold = s.params.score.publishThreshold
  for (const peer of [...t.fanout]) {
    if (!s.peers.get(peer)?.topics.has(topic) || scoreOf(s, peer, now) < threshold) t.fanout.delete(peer)
  }
  if (t.fanout.size >= s.params.D) return
  for (const peer of candidates(s, topic, (q) => !t.fanout.has(q) && scoreOf(s, q, now) >= threshold)) {
    if (t.fanout.size >= s.params.D) break
    t.fanout.add(peer)
  }
}

function emitGossip(s: RouterState, topic: string, t: TopicState, now: number): void {
  const p = s.params
  const threshold = p.score.gossipThreshold
  const isTarget = (q: string): boolean => !t.mesh.has(q) && !t.fanout.has(q) && scoreOf(s, q, now) >= threshold
  // No peer to gossip to (every subscriber in the mesh, as in a small network): the cached ids
  // are not gathered. Checked without the rng, so the draws below are the same as without it.
  if (!hasGossipTarget(s, topic, isTarget)) return
  const ids = mcacheGossipIds(s.mcache, topic, p.mcacheGossip, p.maxIhaveLength)
  if (ids.length === 0) return
  const eligible = candidates(s, topic, isTarget)
  const count = Math.max(p.Dlazy, Math.floor(p.gossipFactor * eligible.length))
  for (const peer of eligible.slice(0, count)) queue(s, peer, 'ihave', { t: topic, ids })
}

function hasGossipTarget(s: RouterState, topic: string, isTarget: (peer: string) => boolean): boolean {
  const subscribed = s.topicPeers.get(topic)
  if (subscribed) for (const peer of subscribed) if (s.peers.has(peer) && isTarget(peer)) return true
  return false
}

/**
 * Peer scoring (gossipsub v1.1 §Peer Scoring) as plain counters and pure functions.
 *
 * Per peer and topic: P1 time in mesh, P2 first deliveries, P3 mesh delivery deficit, P3b the
 * deficit carried out of the mesh when pruned, P4 invalid messages; per peer: P7 behaviour
 * penalty (broken IWANT and INEED promises, GRAFT during backoff). P5 (application) and P6 (IP
 * colocation) are not used: the swarm knows no IPs per peer. Counters decay once per heartbeat;
 * the score is computed on demand (topics per peer are few). The router uses the thresholds:
 * below 0 no mesh, below gossip no IHAVE/IWANT, below publish no flood publishing, below
 * graylist every RPC ignored, below disconnect a hang-up request.
 * @module
 */
import type { ScoreParams } from './params.js'

export interface TopicStats {
  inMesh: boolean
  /** Input time of the graft (P1, P3 activation). */
  graftedAt: number
  firstDeliveries: number
  meshDeliveries: number
  meshFailure: number
  invalid: number
}

export interface PeerStats {
  topics: Map<string, TopicStats>
  behaviour: number
  /**
   * A lower bound of the score from `floorFrom` until before `floorUntil` (`scoreAtLeast`): the
   * score computed at `floorFrom`, which time and the raising counters (P2, P3) only move up,
   * with the default weights' signs. Any other counter change ends it (`floorUntil` = -Infinity).
   */
  floor: number
  floorFrom: number
  floorUntil: number
}

export function createStats(): PeerStats {
  return { topics: new Map(), behaviour: 0, floor: 0, floorFrom: 0, floorUntil: -Infinity }
}

/** The score may have dropped: compute it again on the next threshold check. */
function lowered(stats: PeerStats): void {
  stats.floorUntil = -Infinity
}

/** P2 and P3 deliveries raise the score when P2 weighs ≥ 0 and P3 ≤ 0 (the spec's signs); else the floor ends. */
function raised(stats: PeerStats, p: ScoreParams): void {
  if (p.firstDeliveriesWeight * p.topicWeight < 0 || p.meshDeliveriesWeight * p.topicWeight > 0) lowered(stats)
}

export function topicStats(stats: PeerStats, topic: string): TopicStats {
  let t = stats.topics.get(topic)
  if (!t) {
    t = { inMesh: false, graftedAt: 0, firstDeliveries: 0, meshDeliveries: 0, meshFailure: 0, invalid: 0 }
    stats.topics.set(topic, t)
  }
  return t
}

function meshActive(t: TopicStats, p: ScoreParams, now: number): boolean {
  return t.inMesh && now - t.graftedAt >= p.meshDeliveriesActivation
}

function deficit(t: TopicStats, p: ScoreParams): number {
  return t.meshDeliveries < p.meshDeliveriesThreshold ? p.meshDeliveriesThreshold - t.meshDeliveries : 0
}

/** The peer's score at `now`. */
export function computeScore(stats: PeerStats, p: ScoreParams, now: number): number {
  let score = 0
  for (const t of stats.topics.values()) {
    let topicScore = 0
    if (t.inMesh) {
      const quanta = Math.min((now - t.graftedAt) / p.timeInMeshQuantum, p.timeInMeshCap)
      topicScore += quanta * p.timeInMeshWeight
    }
    topicScore += t.firstDeliveries * p.firstDeliveriesWeight
    if (meshActive(t, p, now)) {
      const d = deficit(t, p)
      topicScore += d * d * p.meshDeliveriesWeight
    }
    topicScore += t.meshFailure * p.meshFailureWeight
    topicScore += t.invalid * t.invalid * p.invalidWeight
    score += topicScore * p.topicWeight
  }
  if (stats.behaviour > p.behaviourThreshold) {
    const excess = stats.behaviour - p.behaviourThreshold
    score += excess * excess * p.behaviourWeight
  }
  return score
}

/**
 * Until when, from `now`, the score can only rise with time alone: P1 grows (weight ≥ 0) up to
 * its cap; P3 is the one that falls, when a mesh peer's deficit activates. -Infinity when P1 weighs < 0.
 */
function risesUntil(stats: PeerStats, p: ScoreParams, now: number): number {
  if (p.timeInMeshWeight * p.topicWeight < 0) return -Infinity
  if (p.meshDeliveriesWeight * p.topicWeight >= 0) return Infinity
  let until = Infinity
  for (const t of stats.topics.values()) {
    // 1 ms early, so the floor ends before `meshActive` turns true whatever the rounding.
    if (t.inMesh && !meshActive(t, p, now)) until = Math.min(until, t.graftedAt + p.meshDeliveriesActivation - 1)
  }
  return until
}

/**
 * Whether the peer's score at `now` is at least `threshold` — the same answer as
 * `computeScore(...) >= threshold`, in O(1) while the last computed score still bounds it from
 * below (the per-RPC graylist and disconnect checks; it is computed again after a heartbeat's
 * decay or a penalty).
 */
export function scoreAtLeast(stats: PeerStats, p: ScoreParams, now: number, threshold: number): boolean {
  if (now >= stats.floorFrom && now < stats.floorUntil && stats.floor >= threshold) return true
  const score = computeScore(stats, p, now)
  stats.floor = score
  stats.floorFrom = now
  stats.floorUntil = risesUntil(stats, p, now)
  return score >= threshold
}

function decayed(value: number, factor: number, p: ScoreParams): number {
  const next = value * factor
  return next < p.decayToZero ? 0 : next
}

/** One decay interval (a heartbeat); topics with nothing left are forgotten. */
export function decayStats(stats: PeerStats, p: ScoreParams): void {
  for (const [topic, t] of stats.topics) {
    t.firstDeliveries = decayed(t.firstDeliveries, p.firstDeliveriesDecay, p)
    t.meshDeliveries = decayed(t.meshDeliveries, p.meshDeliveriesDecay, p)
    t.meshFailure = decayed(t.meshFailure, p.meshFailureDecay, p)
    t.invalid = decayed(t.invalid, p.invalidDecay, p)
    if (!t.inMesh && t.firstDeliveries === 0 && t.meshDeliveries === 0 && t.meshFailure === 0 && t.invalid === 0) {
      stats.topics.delete(topic)
    }
  }
  stats.behaviour = decayed(stats.behaviour, p.behaviourDecay, p)
  lowered(stats)
}

/** The peer joined our mesh for `topic`. */
export function scoreGraft(stats: PeerStats, topic: string, now: number): void {
  const t = topicStats(stats, topic)
  t.inMesh = true
  t.graftedAt = now
  t.meshDeliveries = 0
  lowered(stats)
}

/** The peer left our mesh: an active deficit becomes a sticky P3b penalty. */
export function scorePrune(stats: PeerStats, topic: string, p: ScoreParams, now: number): void {
  const t = stats.topics.get(topic)
  if (!t || !t.inMesh) return
  if (meshActive(t, p, now)) {
    const d = deficit(t, p)
    t.meshFailure += d * d
  }
  t.inMesh = false
  lowered(stats)
}

/** First valid delivery of a message by this peer (P2; P3 too when it is in the mesh). */
export function scoreFirstDelivery(stats: PeerStats, topic: string, p: ScoreParams): void {
  const t = topicStats(stats, topic)
  t.firstDeliveries = Math.min(t.firstDeliveries + 1, p.firstDeliveriesCap)
  if (t.inMesh) t.meshDeliveries = Math.min(t.meshDeliveries + 1, p.meshDeliveriesCap)
  raised(stats, p)
}

/** A near-first duplicate from a mesh peer (within the window, or while validating): P3 only. */
export function scoreMeshDelivery(stats: PeerStats, topic: string, p: ScoreParams): void {
  const t = stats.topics.get(topic)
  if (t && t.inMesh) t.meshDeliveries = Math.min(t.meshDeliveries + 1, p.meshDeliveriesCap)
  raised(stats, p)
}

/** The peer sent an invalid message (bad signature or author, or rejected by the validator). */
export function scoreInvalid(stats: PeerStats, topic: string): void {
  topicStats(stats, topic).invalid += 1
  lowered(stats)
}

/** A protocol misbehaviour (broken IWANT or INEED promise, GRAFT in backoff). */
export function scoreBehaviour(stats: PeerStats, amount = 1): void {
  stats.behaviour += amount
  lowered(stats)
}

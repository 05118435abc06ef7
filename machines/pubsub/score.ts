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
}

export function createStats(): PeerStats {
  return { topics: new Map(), behaviour: 0 }
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
}

/** The peer joined our mesh for `topic`. */
export function scoreGraft(stats: PeerStats, topic: string, now: number): void {
  const t = topicStats(stats, topic)
  t.inMesh = true
  t.graftedAt = now
  t.meshDeliveries = 0
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
}

/** First valid delivery of a message by this peer (P2; P3 too when it is in the mesh). */
export function scoreFirstDelivery(stats: PeerStats, topic: string, p: ScoreParams): void {
  const t = topicStats(stats, topic)
  t.firstDeliveries = Math.min(t.firstDeliveries + 1, p.firstDeliveriesCap)
  if (t.inMesh) t.meshDeliveries = Math.min(t.meshDeliveries + 1, p.meshDeliveriesCap)
}

/** A near-first duplicate from a mesh peer (within the window, or while validating): P3 only. */
export function scoreMeshDelivery(stats: PeerStats, topic: string, p: ScoreParams): void {
  const t = stats.topics.get(topic)
  if (t && t.inMesh) t.meshDeliveries = Math.min(t.meshDeliveries + 1, p.meshDeliveriesCap)
}

/** The peer sent an invalid message (bad signature or author, or rejected by the validator). */
export function scoreInvalid(stats: PeerStats, topic: string): void {
  topicStats(stats, topic).invalid += 1
}

/** A protocol misbehaviour (broken IWANT or INEED promise, GRAFT in backoff). */
export function scoreBehaviour(stats: PeerStats, amount = 1): void {
  stats.behaviour += amount
}

/**
 * Mesh and peer bookkeeping shared by the receive path, the local commands and the heartbeat:
 * scores and thresholds, joining and leaving a topic mesh (with GRAFT/PRUNE and backoff),
 * choosing peers at random (seeded rng), and hang-up requests for peers below the disconnect
 * threshold. Pure functions over `RouterState`; all output goes to its outbox.
 * @module
 */
import { shuffled } from '../lib/rng.js'
import { scoreGraft, scorePrune, computeScore } from './score.js'
import { queue, type PeerState, type PubsubUserEvent, type RouterState, type TopicState } from './state.js'
import type { CallEffect } from '../vocab.js'
import { isSubscribedPhase } from './topic.machine.js'

/** Reason given with a hang-up request for a peer whose score fell below the threshold. */
export const LOW_SCORE_REASON = 'pubsub-low-score'

export function scoreOf(s: RouterState, peer: string, now: number): number {
  const ps = s.peers.get(peer)
  return ps ? computeScore(ps.stats, s.params.score, now) : 0
}

export function isSubscribed(t: TopicState | undefined): t is TopicState {
  return t !== undefined && isSubscribedPhase(t.phase)
}

/** Queue a user event of this settle. */
export function emitEvent(s: RouterState, event: PubsubUserEvent | CallEffect): void {
  s.events.push(event)
}

/** Ask the swarm to hang up once, when the peer's score is below the disconnect threshold. */
export function checkDisconnect(s: RouterState, peer: string, ps: PeerState, now: number): void {
  if (ps.hungUp) return
  if (computeScore(ps.stats, s.params.score, now) < s.params.score.disconnectThreshold) {
    ps.hungUp = true
    s.hangUps.push({ peer, reason: LOW_SCORE_REASON })
  }
}

export function inBackoff(t: TopicState, peer: string, now: number): boolean {
  const until = t.backoff.get(peer)
  return until !== undefined && until > now
}

export function setBackoff(t: TopicState, peer: string, until: number): void {
  const current = t.backoff.get(peer) ?? 0
  if (until > current) t.backoff.set(peer, until)
}

/** Put `peer` into the mesh of `topic` and tell it (GRAFT). */
export function graftPeer(s: RouterState, topic: string, t: TopicState, peer: string, now: number): void {
  const ps = s.peers.get(peer)
  if (!ps || t.mesh.has(peer)) return
  t.mesh.add(peer)
  scoreGraft(ps.stats, topic, now)
  queue(s, peer, 'graft', topic)
}

/** Take `peer` out of the mesh of `topic`, with a PRUNE carrying `backoff` ms unless `silent`. */
export function prunePeer(s: RouterState, topic: string, t: TopicState, peer: string, now: number, backoff: number, silent = false): void {
  if (!t.mesh.delete(peer)) return
  const ps = s.peers.get(peer)
  if (ps) scorePrune(ps.stats, topic, s.params.score, now)
  setBackoff(t, peer, now + backoff)
  if (!silent && ps) queue(s, peer, 'prune', { t: topic, b: Math.ceil(backoff / 1000) })
}

/**
 * Connected peers subscribed to `topic` that pass `accept`, in random order (the rng is the
 * only source of choice, so a seed replays the same meshes).
 */
export function candidates(s: RouterState, topic: string, accept: (peer: string, ps: PeerState) => boolean): string[] {
  const subscribed = s.topicPeers.get(topic)
  if (!subscribed) return []
  const out: string[] = []
  for (const peer of subscribed) {
    const ps = s.peers.get(peer)
    if (ps && accept(peer, ps)) out.push(peer)
  }
  return shuffled(s.rng, out)
}

/** Peers subscribed to `topic` that may receive our own messages (flood publishing). */
export function publishTargets(s: RouterState, topic: string, now: number): string[] {
  const subscribed = s.topicPeers.get(topic)
  if (!subscribed) return []
  const out: string[] = []
  const threshold = s.params.score.publishThreshold
  for (const peer of subscribed) {
    const ps = s.peers.get(peer)
    if (ps && computeScore(ps.stats, s.params.score, now) >= threshold) out.push(peer)
  }
  return out
}

/** Index a remote subscription; false when the peer is at its topic limit or already subscribed. */
export function addTopicPeer(s: RouterState, peer: string, ps: PeerState, topic: string): boolean {
  if (ps.topics.has(topic) || ps.topics.size >= s.params.maxTopicsPerPeer) return false
  ps.topics.add(topic)
  let set = s.topicPeers.get(topic)
  if (!set) s.topicPeers.set(topic, (set = new Set()))
  set.add(peer)
  return true
}

/** Drop a remote subscription and the peer's place in our mesh/fanout of that topic. */
export function removeTopicPeer(s: RouterState, peer: string, ps: PeerState, topic: string, now: number): boolean {
  if (!ps.topics.delete(topic)) return false
  const set = s.topicPeers.get(topic)
  if (set) {
    set.delete(peer)
    if (set.size === 0) s.topicPeers.delete(topic)
  }
  const t = s.topics.get(topic)
  if (t) {
    if (t.mesh.delete(peer)) scorePrune(ps.stats, topic, s.params.score, now)
    t.fanout.delete(peer)
  }
  return true
}

/**
 * Mesh and peer bookkeeping shared by the receive path, the local commands and the heartbeat:
 * scores and thresholds, grafting and pruning a peer (through its membership chart, members.ts),
 * choosing peers at random (seeded rng), and hang-up requests for peers below the disconnect
 * threshold. Pure functions over `RouterState`; all output goes to its outbox.
 * @module
 */
import { shuffled } from '../lib/rng.js'
import { computeScore, scoreAtLeast } from './score.js'
import { backoffLeft, inBackoff, stepMember } from './members.js'
import { queue, type PeerState, type PubsubUserEvent, type RouterState, type TopicState } from './state.js'
import type { CallEffect } from '../vocab.js'
import { isSubscribedPhase } from './topic.machine.js'

export { inBackoff }

/** Reason given with a hang-up request for a peer whose score fell below the threshold. */
export const LOW_SCORE_REASON = 'pubsub-low-score'

export function scoreOf(s: RouterState, peer: string, now: number): number {
  const ps = s.peers.get(peer)
  return ps ? computeScore(ps.stats, s.params.score, now) : 0
}

/** Whether the peer is tracked and its score is below the graylist threshold (its RPCs are ignored). */
export function isGraylistedPeer(s: RouterState, peer: string, now: number): boolean {
  const ps = s.peers.get(peer)
  return ps !== undefined && !scoreAtLeast(ps.stats, s.params.score, now, s.params.score.graylistThreshold)
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
  if (!scoreAtLeast(ps.stats, s.params.score, now, s.params.score.disconnectThreshold)) {
    ps.hungUp = true
    s.hangUps.push({ peer, reason: LOW_SCORE_REASON })
  }
}

/** Put `peer` into the mesh of `topic` and tell it (GRAFT), unless it is in already or in backoff. */
export function graftPeer(s: RouterState, topic: string, t: TopicState, peer: string, now: number): void {
  if (!s.peers.has(peer) || t.mesh.has(peer)) return
  stepMember(s, topic, t, peer, { type: 'member.graft' }, now)
}

/** Take `peer` out of the mesh of `topic` with a PRUNE carrying `backoff` ms. */
export function prunePeer(s: RouterState, topic: string, t: TopicState, peer: string, now: number, backoff: number): void {
  if (!t.mesh.has(peer)) return
  stepMember(s, topic, t, peer, { type: 'member.prune', backoff: Math.max(backoff, backoffLeft(t, peer, now)) }, now)
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
    if (ps && scoreAtLeast(ps.stats, s.params.score, now, threshold)) out.push(peer)
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
    if (t.mesh.has(peer)) stepMember(s, topic, t, peer, { type: 'member.left' }, now)
    t.fanout.delete(peer)
  }
  return true
}

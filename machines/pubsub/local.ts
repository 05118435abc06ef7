/**
 * What the local side does: peers coming and going, and the user's commands (subscribe,
 * unsubscribe, publish). Each either takes effect and says so with an event, or fails with an
 * event that gives the reason — a command is never silently dropped.
 *
 * Own messages are signed with the swarm's key through pubsub's signer (`input.signer`), recorded as seen, and
 * flood-published (v1.1) to every peer subscribed to the topic whose score is at least the
 * publish threshold; without flood publishing they go to the mesh, or to the fanout peers of
 * a topic we are not subscribed to. The publisher does not receive its own message.
 * @module
 */
import { reaskNeeds } from './announce.js'
import { mcachePut, seenAdd } from './caches.js'
import { candidates, emitEvent, graftPeer, inBackoff, isSubscribed, prunePeer, publishTargets, removeTopicPeer, scoreOf } from './mesh.js'
import { stepMember } from './members.js'
import { createPeer, getTopic, queue, stepTopic, type PublishFailure, type RouterState } from './state.js'
import { ID_LENGTH, idToHex, signedBytes, type WireMessage } from './wire.js'

/** Disconnected peers whose scores are retained at most. */
export const MAX_RETAINED = 1024

export function peerConnected(s: RouterState, peer: string, outbound: boolean, now: number): void {
  if (s.peers.has(peer) || peer === s.self) return
  s.peers.set(peer, createPeer(s, peer, outbound, now))
  for (const [topic, t] of s.topics) if (isSubscribed(t)) queue(s, peer, 'sub', { t: topic, on: true })
}

export function peerDisconnected(s: RouterState, peer: string, now: number): void {
  const ps = s.peers.get(peer)
  if (!ps) return
  reaskNeeds(s, peer, now)
  for (const topic of [...ps.topics]) removeTopicPeer(s, peer, ps, topic, now)
  for (const [topic, t] of s.topics) {
    if (t.mesh.has(peer)) stepMember(s, topic, t, peer, { type: 'member.left' }, now)
    t.fanout.delete(peer)
  }
  if (s.retained.size >= MAX_RETAINED) {
    const oldest = s.retained.keys().next().value
    if (oldest !== undefined) s.retained.delete(oldest)
  }
  s.retained.set(peer, { stats: ps.stats, until: now + s.params.score.retainScore })
  s.peers.delete(peer)
  s.out.delete(peer)
}

/** A topic name the user may subscribe or publish to (1..maxTopicLength characters). */
export function validTopic(s: RouterState, topic: unknown): topic is string {
  return typeof topic === 'string' && topic.length > 0 && topic.length <= s.params.maxTopicLength
}

/** Whether the local node is subscribed to `topic` (its actor is joining or subscribed). */
export function subscribedTo(s: RouterState, topic: string): boolean {
  return isSubscribed(s.topics.get(topic))
}

/** Whether subscribing to one more topic would exceed maxTopicsPerPeer. */
export function atTopicLimit(s: RouterState): boolean {
  let n = 0
  for (const t of s.topics.values()) if (isSubscribed(t)) n++
  return n >= s.params.maxTopicsPerPeer
}

/**
 * Join a topic (checked by the machine's guards before): announce it to every peer, GRAFT up to
 * D peers — fanout peers first (v1.0: they become the mesh), then anyone eligible — and move
 * the topic's actor to `joining`.
 */
export function joinTopic(s: RouterState, topic: string, now: number): void {
  const t = getTopic(s, topic)
  for (const peer of s.peers.keys()) queue(s, peer, 'sub', { t: topic, on: true })
  const eligible = (peer: string): boolean => !inBackoff(t, peer, now) && scoreOf(s, peer, now) >= 0
  const chosen = [...t.fanout].filter((peer) => s.peers.get(peer)?.topics.has(topic) && eligible(peer))
  for (const peer of candidates(s, topic, (peer) => !t.fanout.has(peer) && eligible(peer))) {
    if (chosen.length >= s.params.D) break
    chosen.push(peer)
  }
  for (const peer of chosen.slice(0, s.params.D)) graftPeer(s, topic, t, peer, now)
  t.fanout.clear()
  stepTopic(t, { type: 'topic.subscribe' })
  emitEvent(s, { type: 'pubsub.subscribed', topic })
}

/** Leave a subscribed topic: announce it, PRUNE the mesh (with the unsubscribe backoff). */
export function leaveTopic(s: RouterState, topic: string, now: number): void {
  const t = s.topics.get(topic)
  if (!isSubscribed(t)) return
  for (const peer of s.peers.keys()) queue(s, peer, 'sub', { t: topic, on: false })
  for (const peer of [...t.mesh]) prunePeer(s, topic, t, peer, now, s.params.unsubscribeBackoff)
  stepTopic(t, { type: 'topic.unsubscribe' })
}

/** Sign and build our own message; returns it with its id. */
export function buildMessage(s: RouterState, topic: string, data: Uint8Array): { msg: WireMessage; id: Uint8Array; hex: string } {
  s.seqno = (s.seqno + 1) >>> 0
  const { buffer, signedLength } = signedBytes(s.self, s.seqno, topic, data)
  const signature = s.signer.sign(buffer.subarray(0, signedLength))
  buffer.set(signature, signedLength)
  const id = s.crypto.sha256(buffer).slice(0, ID_LENGTH)
  const msg: WireMessage = { f: s.self, k: s.publicKey, n: s.seqno, t: topic, d: data, s: signature }
  return { msg, id, hex: idToHex(id) }
}

/** Say that a publish did not go out, and why (`id` once it was signed). */
export function publishFailed(s: RouterState, topic: string, reason: PublishFailure, publishId: number | undefined, id?: string): void {
  const tag = publishId === undefined ? {} : { publishId }
  emitEvent(s, { type: 'pubsub.publish.failed', topic, ...(id === undefined ? {} : { id }), reason, ...tag })
}

/**
 * Publish our own message (topic and data checked by the machine's guards before): sign it,
 * refuse a duplicate, keep fanout peers for a topic we are not subscribed to, send it.
 */
export function publish(s: RouterState, topic: string, data: Uint8Array, publishId: number | undefined, now: number): void {
  const tag = publishId === undefined ? {} : { publishId }
  const fail = (reason: PublishFailure, id?: string): void => publishFailed(s, topic, reason, publishId, id)
  // A copy: the caller may reuse its buffer, and the cached message must match its id.
  const { msg, id, hex } = buildMessage(s, topic, new Uint8Array(data))
  if (s.seen.entries.has(hex)) return fail('duplicate', hex)
  seenAdd(s.seen, hex, { at: now, status: 'valid', topic, validatedAt: now, senders: [] })

  let t = s.topics.get(topic)
  const subscribed = isSubscribed(t)
  if (!subscribed && (t !== undefined || s.topics.size < 2 * s.params.maxTopicsPerPeer)) {
    // Fanout: remember D peers of a topic we publish to without subscribing.
    t = getTopic(s, topic)
    t.lastPublish = now
    if (t.phase !== 'fanout') stepTopic(t, { type: 'topic.publish' })
    const fanout = t.fanout
    const threshold = s.params.score.publishThreshold
    for (const peer of candidates(s, topic, (peer) => !fanout.has(peer) && scoreOf(s, peer, now) >= threshold)) {
      if (fanout.size >= s.params.D) break
      fanout.add(peer)
    }
  }
  let targets: Iterable<string>
  if (s.params.floodPublish) targets = publishTargets(s, topic, now)
  else targets = subscribed ? (t as NonNullable<typeof t>).mesh : t?.fanout ?? []
  let peers = 0
  for (const peer of targets) {
    queue(s, peer, 'msg', msg)
    peers++
  }
  if (peers === 0) return fail('no-peers', hex)
  mcachePut(s.mcache, hex, id, msg)
  emitEvent(s, { type: 'pubsub.published', topic, id: hex, peers, ...tag })
}

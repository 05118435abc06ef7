/**
 * The receive path of a parsed RPC: subscription changes, then messages, then control parts.
 *
 * A message goes through, in this order (cheapest first, so a flood costs little):
 *  1. ignored unless we are subscribed to its topic;
 *  2. message id = sha256(signedBytes ‖ signature) and the seen cache: a duplicate is never
 *     verified again — it only credits (P3) or penalizes (P4, if the id is known invalid);
 *     a byte-identical copy of a message still in the mcache is recognised by comparison,
 *     without hashing it again;
 *  3. v1.2: a large first copy makes us send IDONTWANT to our other mesh peers at once;
 *  4. the author check (peer id = text of sha256(public key), cached) and one ed25519 verify;
 *  5. the application validator (a user function through `effect.call`), if there is one;
 *  6. accepted: delivered to the user, cached for gossip, forwarded to the mesh minus the
 *     senders, the author, and peers that said IDONTWANT.
 * @module
 */
import { callRequest } from '../lib/protocol.js'
import { bytesEqual, mcacheKnownCopy, mcachePut, seenAdd, seenSender, type SeenEntry } from './caches.js'
import { handleControl } from './control.js'
import { addTopicPeer, checkDisconnect, emitEvent, graftPeer, inBackoff, isSubscribed, removeTopicPeer, scoreOf } from './mesh.js'
import { scoreFirstDelivery, scoreInvalid, scoreMeshDelivery } from './score.js'
import { queue, type PeerState, type RouterState } from './state.js'
import { ID_LENGTH, PUBSUB_ID, PUBSUB_SIGNATURE_PREFIX, idToHex, prefixedSignedBytes, type Rpc, type SubOpt, type WireMessage } from './wire.js'
import { verifyPrefixedSignature } from '../lib/signer.js'

/** A verdict of the application validator. */
export type Verdict = 'accept' | 'reject' | 'ignore'

export function handleRpc(s: RouterState, peer: string, rpc: Rpc, now: number): void {
  const ps = s.peers.get(peer)
  if (!ps) return
  if (rpc.sub) handleSubscriptions(s, peer, ps, rpc.sub, now)
  if (rpc.msg) for (const m of rpc.msg) handleMessage(s, peer, ps, m, now)
  if (rpc.ctl) handleControl(s, peer, ps, rpc.ctl, now)
  checkDisconnect(s, peer, ps, now)
}

function handleSubscriptions(s: RouterState, peer: string, ps: PeerState, subs: SubOpt[], now: number): void {
  for (const { t, on } of subs) {
    if (on) {
      if (!addTopicPeer(s, peer, ps, t)) continue
      emitEvent(s, { type: 'pubsub.peer.subscribed', peer, topic: t })
      // A mesh below D_lo takes a new subscriber at once rather than at the next heartbeat, so
      // a message published right after two peers meet is not lost (as rust-libp2p does).
      const topic = s.topics.get(t)
      if (isSubscribed(topic) && topic.mesh.size < s.params.Dlo && !inBackoff(topic, peer, now) && scoreOf(s, peer, now) >= 0) {
        graftPeer(s, t, topic, peer, now)
      }
    } else if (removeTopicPeer(s, peer, ps, t, now)) {
      emitEvent(s, { type: 'pubsub.peer.unsubscribed', peer, topic: t })
    }
  }
}

/** The author's public key hashes to its claimed peer id (cached, bounded). */
function authorMatches(s: RouterState, m: WireMessage): boolean {
  const known = s.authors.get(m.f)
  if (known) return bytesEqual(known, m.k)
  if (s.peerIdText(s.crypto.sha256(m.k)) !== m.f) return false
  if (s.authors.size >= s.params.maxKnownAuthors) {
    const oldest = s.authors.keys().next().value
    if (oldest !== undefined) s.authors.delete(oldest)
  }
  s.authors.set(m.f, Uint8Array.from(m.k))
  return true
}

/** Id of a wire message: its hex form and the 20 bytes. Also returns the signed bytes behind the signer's prefix. */
export function messageId(s: RouterState, m: WireMessage): { hex: string; id: Uint8Array; signed: Uint8Array } {
  const { buffer, end } = prefixedSignedBytes(PUBSUB_SIGNATURE_PREFIX, m.f, m.n, m.t, m.d)
  buffer.set(m.s, end)
  const id = s.crypto.sha256(buffer.subarray(PUBSUB_SIGNATURE_PREFIX.length)).slice(0, ID_LENGTH)
  return { hex: idToHex(id), id, signed: buffer.subarray(0, end) }
}

function handleMessage(s: RouterState, peer: string, ps: PeerState, m: WireMessage, now: number): void {
  const topic = s.topics.get(m.t)
  if (!isSubscribed(topic)) return
  // A copy of a message still in the mcache (the common duplicate) has the cached message's
  // id: found by comparing bytes, without rebuilding and hashing the signed bytes.
  const known = mcacheKnownCopy(s.mcache, m)
  if (known !== undefined) {
    let seen = s.seen.entries.get(known)
    if (!seen) {
      // Still cached but pushed out of the (size-bounded) seen cache: a replay, never a new
      // message. Remember it again, with no delivery credit for anyone.
      seen = { at: now, status: 'valid', topic: m.t, validatedAt: -Infinity, senders: [] }
      seenAdd(s.seen, known, seen)
    }
    duplicate(s, peer, ps, seen, m.d.length, now)
    return
  }
  const { hex, id, signed } = messageId(s, m)
  const seen = s.seen.entries.get(hex)
  if (seen) {
    duplicate(s, peer, ps, seen, m.d.length, now)
    return
  }
  fulfilPromises(s, hex)
  const entry: SeenEntry = { at: now, status: 'pending', topic: m.t, validatedAt: 0, senders: [peer] }
  seenAdd(s.seen, hex, entry)
  if (m.d.length >= s.params.idontwantMinSize) {
    for (const q of topic.mesh) if (q !== peer) queue(s, q, 'idw', id)
  }
  if (m.f === s.self) {
    // Our own message came back (e.g. after a restart): never delivered to ourselves.
    entry.status = 'ignored'
    return
  }
  if (!authorMatches(s, m) || !verifyPrefixedSignature(s.crypto, PUBSUB_ID, m.s, signed, m.k)) {
    entry.status = 'invalid'
    penalizeInvalid(s, peer, ps, m.t, now)
    return
  }
  if (!s.hasValidator) {
    accept(s, entry, hex, id, m, now)
    return
  }
  if (s.validations.size >= s.params.maxPendingValidations) {
    // Throttled: forget it (no penalty), a later copy may get through.
    s.seen.entries.delete(hex)
    return
  }
  const callId = s.nextCallId++
  s.validations.set(callId, { hex, id, msg: m, source: peer, at: now })
  emitEvent(s, callRequest(PUBSUB_ID, callId, 'validate', { topic: m.t, data: m.d, from: m.f }))
}

function duplicate(s: RouterState, peer: string, ps: PeerState, entry: SeenEntry, bytes: number, now: number): void {
  s.duplicates++
  s.duplicateBytes += bytes
  if (!seenSender(entry, peer)) return
  if (entry.status === 'invalid') {
    penalizeInvalid(s, peer, ps, entry.topic, now)
  } else if (entry.status === 'valid' && now - entry.validatedAt <= s.params.score.meshDeliveriesWindow) {
    scoreMeshDelivery(ps.stats, entry.topic, s.params.score)
  }
  // 'pending': credited (or penalized) with the other senders when the verdict arrives.
}

function penalizeInvalid(s: RouterState, peer: string, ps: PeerState, topic: string, now: number): void {
  scoreInvalid(ps.stats, topic)
  checkDisconnect(s, peer, ps, now)
}

function fulfilPromises(s: RouterState, hex: string): void {
  const promised = s.promises.get(hex)
  if (!promised) return
  s.promiseCount -= promised.size
  s.promises.delete(hex)
}

function accept(s: RouterState, entry: SeenEntry, hex: string, id: Uint8Array, m: WireMessage, now: number): void {
  entry.status = 'valid'
  entry.validatedAt = now
  mcachePut(s.mcache, hex, id, m)
  emitEvent(s, { type: 'pubsub.message', topic: m.t, data: m.d, from: m.f, id: hex })
  entry.senders.forEach((sender, i) => {
    const ps = s.peers.get(sender)
    if (!ps) return
    if (i === 0) scoreFirstDelivery(ps.stats, m.t, s.params.score)
    else scoreMeshDelivery(ps.stats, m.t, s.params.score)
  })
  const topic = s.topics.get(m.t)
  if (!topic) return
  for (const q of topic.mesh) {
    if (entry.senders.includes(q) || q === m.f) continue
    const ps = s.peers.get(q)
    if (!ps || ps.dontWant.has(hex)) continue
    queue(s, q, 'msg', m)
  }
}

/** The validator answered `call.done{callId}` (an error counts as 'ignore'). */
export function validationDone(s: RouterState, callId: number, value: unknown, error: string | undefined, now: number): void {
  const pending = s.validations.get(callId)
  if (!pending) return
  s.validations.delete(callId)
  const entry = s.seen.entries.get(pending.hex)
  if (!entry || entry.status !== 'pending') return
  const verdict: Verdict = error === undefined && (value === 'accept' || value === 'reject') ? value : 'ignore'
  if (verdict === 'accept' && isSubscribed(s.topics.get(pending.msg.t))) {
    accept(s, entry, pending.hex, pending.id, pending.msg, now)
  } else if (verdict === 'reject') {
    entry.status = 'invalid'
    for (const sender of entry.senders) {
      const ps = s.peers.get(sender)
      if (ps) penalizeInvalid(s, sender, ps, pending.msg.t, now)
    }
  } else {
    entry.status = 'ignored'
  }
}

/** Heartbeat: validations the user never answered are dropped as 'ignore'. */
export function expireValidations(s: RouterState, now: number): void {
  for (const [callId, pending] of s.validations) {
    if (pending.at + s.params.validationTimeout > now) break
    validationDone(s, callId, undefined, 'timeout', now)
  }
}

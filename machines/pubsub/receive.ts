/**
 * The receive path of a parsed RPC: subscription changes, then messages, then control parts.
 *
 * What happens to each message is its receive chart (receive.machine.ts: arrived → dropped,
 * duplicate, ignored, invalid, delivered, throttled or validating; validating → delivered,
 * invalid or ignored on the validator's verdict), stepped purely here with the peer-chart
 * stepping (no actor per message): `Received` is the chart's event, answering the guards'
 * questions lazily in the chart's order (cheapest first: topic, a byte-identical copy of a
 * cached message, the seen cache by id = sha256(signedBytes ‖ signature), our own, the author
 * check and one ed25519 verify, the validator), and what its named actions act on.
 * @module
 */
import { callRequest } from '../lib/protocol.js'
import { bytesEqual, mcacheGet, mcacheKnownCopy, mcachePut, seenAdd, seenSender, type SeenEntry } from './caches.js'
import { announceTo, announcesForward, countLargeForward, needMet } from './announce.js'
import { handleControl } from './control.js'
import { addTopicPeer, checkDisconnect, emitEvent, graftPeer, inBackoff, isSubscribed, removeTopicPeer, scoreOf } from './mesh.js'
import { scoreFirstDelivery, scoreInvalid, scoreMeshDelivery } from './score.js'
import { queue, type PeerState, type PendingValidation, type RouterState } from './state.js'
import { ID_LENGTH, PUBSUB_ID, PUBSUB_SIGNATURE_PREFIX, idToHex, prefixedSignedBytes, type Rpc, type SubOpt, type WireMessage } from './wire.js'
import { verifyPrefixedSignature } from '../lib/signer.js'
import { slabPart } from '../lib/slab.js'
import { peerChart } from '../lib/peer-chart.js'
import { receiveMachine, type MessageArrived, type MessageVerdict } from './receive.machine.js'

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

/**
 * The author's public key hashes to its claimed peer id (cached, bounded). A match also gives
 * the message the cached author id and key (the same characters and bytes): the messages the
 * caches keep for seconds then share one copy per author, instead of each keeping a 32-byte view
 * of its frame and a slice of the frame's decoded strings (which keeps all of them alive).
 */
function authorMatches(s: RouterState, m: WireMessage): boolean {
  let known = s.authors.get(m.f)
  if (known) {
    if (!bytesEqual(known.k, m.k)) return false
  } else {
    if (s.peerIdText(s.crypto.sha256(m.k)) !== m.f) return false
    if (s.authors.size >= s.params.maxKnownAuthors) {
      const oldest = s.authors.keys().next().value
      if (oldest !== undefined) s.authors.delete(oldest)
    }
    known = { f: m.f, k: Uint8Array.from(m.k) }
    s.authors.set(m.f, known)
  }
  m.f = known.f
  m.k = known.k
  return true
}

/** Id of a wire message: its hex form and the 20 bytes. Also returns the signed bytes behind the signer's prefix. */
export function messageId(s: RouterState, m: WireMessage): { hex: string; id: Uint8Array; signed: Uint8Array } {
  const { buffer, end } = prefixedSignedBytes(PUBSUB_SIGNATURE_PREFIX, m.f, m.n, m.t, m.d)
  buffer.set(m.s, end)
  const id = keepId(s, s.crypto.sha256(buffer.subarray(PUBSUB_SIGNATURE_PREFIX.length)))
  return { hex: idToHex(id), id, signed: buffer.subarray(0, end) }
}

/**
 * The first ID_LENGTH bytes of `hash`, copied into the router's current id buffer: an id the
 * message cache keeps for seconds is a view (no ArrayBuffer of its own, ~130 B less per cached
 * message). A buffer lives while any id in it does, so at most a few KB per live id range.
 */
function keepId(s: RouterState, hash: Uint8Array): Uint8Array {
  const id = slabPart(s.idSlab, ID_LENGTH)
  for (let i = 0; i < ID_LENGTH; i++) id[i] = hash[i]
  return id
}

/**
 * One message a peer sent (or one waiting for its verdict): the receive chart's event, whose
 * answers are worked out when a guard first asks (a duplicate is never hashed or verified), and
 * what the chart's actions act on.
 */
class Received implements MessageArrived {
  readonly type = 'message.arrived'
  /** Its seen cache entry, once recorded (or, for a verdict, the pending one). */
  entry: SeenEntry | undefined
  private known?: string | null
  private ids?: { hex: string; id: Uint8Array; signed?: Uint8Array }
  private verified?: boolean

  constructor(readonly s: RouterState, readonly peer: string, readonly ps: PeerState | undefined, readonly m: WireMessage, readonly now: number) {}

  /** The id of the cached message this is a byte-identical copy of (found without hashing). */
  knownHex(): string | undefined {
    if (this.known === undefined) this.known = mcacheKnownCopy(this.s.mcache, this.m) ?? null
    return this.known ?? undefined
  }

  /** Its id (hex and bytes) and signed bytes, computed once. */
  id(): { hex: string; id: Uint8Array; signed?: Uint8Array } {
    return (this.ids ??= messageId(this.s, this.m))
  }

  /** A message waiting for the validator's verdict, with its pending seen entry. */
  static pending(s: RouterState, pending: PendingValidation, entry: SeenEntry, now: number): Received {
    const r = new Received(s, pending.source, s.peers.get(pending.source), pending.msg, now)
    r.ids = { hex: pending.hex, id: pending.id }
    r.entry = entry
    return r
  }

  get subscribed(): boolean { return isSubscribed(this.s.topics.get(this.m.t)) }
  get knownCopy(): boolean { return this.knownHex() !== undefined }
  get seen(): boolean { return this.s.seen.entries.has(this.id().hex) }
  get own(): boolean { return this.m.f === this.s.self }
  get authentic(): boolean {
    return (this.verified ??= authorMatches(this.s, this.m) && verifyPrefixedSignature(this.s.crypto, PUBSUB_ID, this.m.s, this.id().signed!, this.m.k))
  }
  get validator(): boolean { return this.s.hasValidator }
  get validationsFull(): boolean { return this.s.validations.size >= this.s.params.maxPendingValidations }
}

/** The receive chart (receive.machine.ts) with the router's implementations of its actions. */
export const receiveChart = peerChart(receiveMachine, {
  // Hashed only while some request is pending: a flood for a topic we left stays cheap.
  clearNeed: (r: Received) => { if (r.s.needs.size > 0) needMet(r.s, r.id().hex) },
  recordKnownCopy: (r: Received) => {
    const { s, m, now } = r
    const known = r.knownHex()!
    let seen = s.seen.entries.get(known)
    if (!seen) {
      // Still cached but pushed out of the (size-bounded) seen cache: a replay, never a new
      // message. Remember it again, with no delivery credit for anyone.
      seen = { at: now, status: 'valid', topic: m.t, validatedAt: -Infinity, senders: [] }
      seenAdd(s.seen, known, seen)
    }
    duplicate(s, r.peer, r.ps!, seen, m.d.length, now)
  },
  recordDuplicate: (r: Received) => duplicate(r.s, r.peer, r.ps!, r.s.seen.entries.get(r.id().hex)!, r.m.d.length, r.now),
  recordNew: (r: Received) => {
    const { hex } = r.id()
    fulfilPromises(r.s, hex)
    needMet(r.s, hex)
    // Our subscription's topic string (equal): the seen entry and the cached message keep it
    // instead of a slice of the frame's decoded strings.
    const topic = r.s.topics.get(r.m.t)
    if (topic) r.m.t = topic.topic
    r.entry = { at: r.now, status: 'pending', topic: r.m.t, validatedAt: 0, senders: [r.peer] }
    seenAdd(r.s.seen, hex, r.entry)
  },
  sendIdontwant: (r: Received) => {
    const { s, m, peer } = r
    // A message we will announce (announce.ts) needs no IDONTWANT: the announce says as much.
    if (m.d.length < s.params.idontwantMinSize || announcesForward(s, m.d.length)) return
    const topic = s.topics.get(m.t)
    if (topic) for (const q of topic.mesh) if (q !== peer) queue(s, q, 'idw', r.id().id)
  },
  markIgnored: (r: Received) => { r.entry!.status = 'ignored' },
  rejectInvalid: (r: Received) => {
    r.entry!.status = 'invalid'
    penalizeInvalid(r.s, r.peer, r.ps!, r.m.t, r.now)
  },
  rejectSenders: ({ s, entry, m, now }: Received) => {
    entry!.status = 'invalid'
    for (const sender of entry!.senders) {
      const ps = s.peers.get(sender)
      if (ps) penalizeInvalid(s, sender, ps, m.t, now)
    }
  },
  deliver: (r: Received) => {
    const { s, m, now } = r
    const entry = r.entry!
    const { hex, id } = r.id()
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
  },
  forward: (r: Received) => {
    const { s, m } = r
    const topic = s.topics.get(m.t)
    if (!topic) return
    const { hex, id } = r.id()
    const senders = r.entry!.senders
    // Announced only when cached (a full message cache takes nothing): an announce is a promise
    // to answer INEED, and the peers count a broken one against us.
    const cached = announcesForward(s, m.d.length) ? mcacheGet(s.mcache, hex) : undefined
    for (const q of topic.mesh) {
      if (senders.includes(q) || q === m.f) continue
      const ps = s.peers.get(q)
      if (!ps || ps.dontWant.has(hex)) continue
      countLargeForward(s, m.d.length)
      if (cached) announceTo(s, q, cached, id)
      else queue(s, q, 'msg', m)
    }
  },
  forgetSeen: (r: Received) => { r.s.seen.entries.delete(r.id().hex) },
  askValidator: (r: Received) => {
    const { s, m } = r
    const { hex, id } = r.id()
    const callId = s.nextCallId++
    s.validations.set(callId, { hex, id, msg: m, source: r.peer, at: r.now })
    emitEvent(s, callRequest(PUBSUB_ID, callId, 'validate', { topic: m.t, data: m.d, from: m.f }))
  },
})

/** A message from a peer: its receive chart decides (receive.machine.ts). */
function handleMessage(s: RouterState, peer: string, ps: PeerState, m: WireMessage, now: number): void {
  const r = new Received(s, peer, ps, m, now)
  receiveChart.send({ state: 'arrived' }, r, now, r)
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

/** The validator answered `call.done{callId}` (an error counts as 'ignore'): the message's chart decides. */
export function validationDone(s: RouterState, callId: number, value: unknown, error: string | undefined, now: number): void {
  const pending = s.validations.get(callId)
  if (!pending) return
  s.validations.delete(callId)
  const entry = s.seen.entries.get(pending.hex)
  if (!entry || entry.status !== 'pending') return
  const verdict: Verdict = error === undefined && (value === 'accept' || value === 'reject') ? value : 'ignore'
  const event: MessageVerdict = { type: 'message.verdict', verdict, subscribed: isSubscribed(s.topics.get(pending.msg.t)) }
  receiveChart.send({ state: 'validating' }, event, now, Received.pending(s, pending, entry, now))
}

/** Heartbeat: validations the user never answered are dropped as 'ignore'. */
export function expireValidations(s: RouterState, now: number): void {
  for (const [callId, pending] of s.validations) {
    if (pending.at + s.params.validationTimeout > now) break
    validationDone(s, callId, undefined, 'timeout', now)
  }
}

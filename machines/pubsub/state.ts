/**
 * The router's state: one mutable object in the pubsub actor's context, holding per-peer and
 * per-topic Maps (no actor per peer, so churn stays O(1)), the caches, the rng, and the
 * per-settle outbox.
 *
 * The outbox batches: every helper that wants to send appends parts to the peer's pending RPC
 * (subscriptions, messages, IHAVE, IWANT, GRAFT, PRUNE, IDONTWANT), and the machine's `flush`
 * action turns each peer's parts into as few frames as the parse limits and maxRpcSize allow,
 * so one input yields at most one frame per peer in the common case.
 * @module
 */
import { base58, base32nopad, base64urlnopad, hex } from '@scure/base'
import type { CryptoSuite } from '../lib/crypto.js'
import type { CallEffect } from '../vocab.js'
import { createRng, firstPeriodDelay, type Rng } from '../lib/rng.js'
import type { ProtocolInput } from '../lib/protocol.js'
import { createMessageCache, createSeenCache, type MessageCache, type SeenCache } from './caches.js'
import { resolveParams, type PubsubOptions, type PubsubParams } from './params.js'
import { createStats, type PeerStats } from './score.js'
import type { AnyActorRef } from 'xstate'
import { spawnTracked, stopTracked } from '../lib/runtime.js'
import { createSlab, type Slab } from '../lib/slab.js'
import { topicMachine, topicPhase, type TopicData, type TopicEvent, type TopicPhase } from './topic.machine.js'
import { ID_LENGTH, MAX_PEER_ID_LENGTH, PEER_ID_TEXT, messageSize, type IHave, type Prune, type Rpc, type SubOpt, type WireMessage } from './wire.js'
import type { Signer } from '../lib/signer.js'

/** Why a publish failed. */
export type PublishFailure = 'no-peers' | 'too-large' | 'invalid-topic' | 'invalid-data' | 'duplicate' | 'closed'

/** The events the pubsub protocol hands to the user. */
export type PubsubUserEvent =
  /** The local subscription took effect (also when it already existed). */
  | { type: 'pubsub.subscribed'; topic: string }
  /** The local subscription is gone (also when there was none). */
  | { type: 'pubsub.unsubscribed'; topic: string }
  /** The subscription was refused: 'invalid-topic' or 'too-many-topics'. */
  | { type: 'pubsub.subscribe.failed'; topic: string; reason: 'invalid-topic' | 'too-many-topics' }
  /** A valid message of a subscribed topic (`from`: author peer id, `id`: hex message id). */
  | { type: 'pubsub.message'; topic: string; data: Uint8Array; from: string; id: string }
  /** Our message went out to `peers` peers. */
  | { type: 'pubsub.published'; topic: string; id: string; peers: number; publishId?: number }
  /** Our message did not go out (`id` once it was signed). */
  | { type: 'pubsub.publish.failed'; topic: string; id?: string; reason: PublishFailure; publishId?: number }
  /** A connected peer subscribed to a topic. */
  | { type: 'pubsub.peer.subscribed'; peer: string; topic: string }
  /** A connected peer unsubscribed from a topic (not sent when it disconnects). */
  | { type: 'pubsub.peer.unsubscribed'; peer: string; topic: string }

export interface PeerState {
  outbound: boolean
  /** Topics the peer is subscribed to (at most maxTopicsPerPeer). */
  topics: Set<string>
  stats: PeerStats
  /** Ids the peer told us it does not want (IDONTWANT), with their expiry. */
  dontWant: Map<string, number>
  /** Per-heartbeat counters (reset every heartbeat). */
  ihaveCount: number
  iasked: number
  iwantServed: number
  idontwantCount: number
  /** IANNOUNCE ids taken and INEED ids answered (per heartbeat, each up to maxAnnouncedPerHeartbeat). */
  announced: number
  needServed: number
  /** A hang-up was requested already. */
  hungUp: boolean
}

/** A topic: its actor (the lifecycle chart), the phase it is in, and its data (shared with the actor). */
export interface TopicState extends TopicData {
  ref: AnyActorRef
  /** The topic actor's phase after the last event the router sent it. */
  phase: TopicPhase
  lastPublish: number
}

export interface PendingValidation {
  hex: string
  id: Uint8Array
  msg: WireMessage
  source: string
  at: number
}

/** A large message we asked an announcer for (INEED), and the other peers that announced it. */
export interface PendingNeed {
  id: Uint8Array
  /** The announcer asked, and when. */
  peer: string
  at: number
  /** Other announcers, asked in turn if that one leaves or does not answer in time. */
  others: string[]
}

/** Parts waiting to be sent to one peer during the current settle (lists made on first use). */
export interface PendingRpc {
  sub?: SubOpt[]
  msg?: WireMessage[]
  ihave?: IHave[]
  iwant?: Uint8Array[]
  graft?: string[]
  prune?: Prune[]
  idw?: Uint8Array[]
  iann?: Uint8Array[]
  ineed?: Uint8Array[]
}

type Part<K extends keyof PendingRpc> = NonNullable<PendingRpc[K]>[number]

export interface RouterState {
  /** The pubsub actor (the parent of the topic actors). */
  owner: AnyActorRef
  params: PubsubParams
  self: string
  crypto: CryptoSuite
  /** Our signer for the pubsub domain (verification: `verifyProtocolSignature` with PUBSUB_ID). */
  signer: Signer
  publicKey: Uint8Array
  /** Text form of a peer id from sha256(public key), as detected from our own identity. */
  peerIdText: (hash: Uint8Array) => string
  /** Whether the validate user function exists (else: accept without the round trip). */
  hasValidator: boolean
  rng: Rng
  seqno: number
  nextCallId: number
  /** Heartbeats run so far (opportunistic grafting every opportunisticGraftTicks). */
  heartbeats: number
  /** Delay of the first heartbeat, in (0, heartbeatInterval]: drawn from the seeded rng (`heartbeatDelay`). */
  firstHeartbeatDelay: number
  /** Input time of the last input handled (for guards, which get no `self`). */
  lastTime: number
  peers: Map<string, PeerState>
  /** Peers that left, with their score counters (retainScore) so reconnecting does not reset them. */
  retained: Map<string, { stats: PeerStats; until: number }>
  /** Topic → connected peers subscribed to it (index over PeerState.topics). */
  topicPeers: Map<string, Set<string>>
  topics: Map<string, TopicState>
  seen: SeenCache
  mcache: MessageCache
  /** Author peer id → that id and the public key whose hash was checked (shared by its messages). */
  authors: Map<string, { f: string; k: Uint8Array }>
  validations: Map<number, PendingValidation>
  /** Large messages announced to us that we asked one announcer for (INEED), by hex id (announce.ts). */
  needs: Map<string, PendingNeed>
  /**
   * Bytes our forwards of large messages would push since the last heartbeat (size × peers,
   * pushed or announced), and whether the interval before it reached params.pushBudget.
   */
  largeForwarded: number
  largeBusy: boolean
  /** IWANT promises: id → peer → deadline. */
  promises: Map<string, Map<string, number>>
  promiseCount: number
  /** Messages received again (each dropped unverified); a counter read by the shell's metrics. */
  duplicates: number
  /** Data bytes of those duplicates: what still crossed a socket after the first copy (IDONTWANT's target). */
  duplicateBytes: number
  /** The buffers the ids of received messages are copied into (receive.ts `keepId`). */
  idSlab: Slab
  /** Outbox of the current settle. */
  out: Map<string, PendingRpc>
  events: Array<PubsubUserEvent | CallEffect>
  hangUps: Array<{ peer: string; reason: string }>
}

/** What the machine's context holds (one object, mutated in place by the named actions). */
export interface PubsubContext {
  s: RouterState
  /** Peers this actor asked discovery to protect (mesh members as of the last heartbeat). */
  protectedPeers: Set<string>
}

/** Options that reach the machine as `ProtocolInput.options` (plain data). */
export interface PubsubMachineOptions { params?: PubsubOptions; validator?: boolean }

const CODECS: Array<(hash: Uint8Array) => string> = [
  (h) => base58.encode(h),
  (h) => base32nopad.encode(h).toLowerCase(),
  (h) => base32nopad.encode(h),
  (h) => hex.encode(h),
  (h) => base64urlnopad.encode(h),
]

/**
 * The peer id text form, found by encoding sha256(our public key) every known way and keeping
 * the one equal to our own peer id; base58 if none matches (then other authors' ids are
 * checked as base58).
 */
export function detectPeerIdText(crypto: CryptoSuite, peerId: string, publicKey: Uint8Array): (hash: Uint8Array) => string {
  const hash = crypto.sha256(publicKey)
  return CODECS.find((codec) => codec(hash) === peerId) ?? CODECS[0]
}

/** Ids per shared buffer of received messages' ids (receive.ts `keepId`). */
const IDS_PER_SLAB = 204

export function createRouterState(input: ProtocolInput<PubsubMachineOptions | undefined>, owner: AnyActorRef): RouterState {
  const options = input.options ?? {}
  if (!PEER_ID_TEXT.test(input.peerId) || input.peerId.length > MAX_PEER_ID_LENGTH) {
    throw new RangeError(`"peerId" expected 1..${MAX_PEER_ID_LENGTH} characters of [A-Za-z0-9_-], got ${JSON.stringify(input.peerId)}`)
  }
  const params = resolveParams(options.params)
  const rng = createRng(input.seed)
  return {
    owner,
    params,
    self: input.peerId,
    crypto: input.crypto,
    signer: input.signer,
    publicKey: input.publicKey,
    peerIdText: detectPeerIdText(input.crypto, input.peerId, input.publicKey),
    hasValidator: options.validator === true,
    rng,
    seqno: rng.s[0] >>> 0,
    nextCallId: 1,
    heartbeats: 0,
    // Drawn after seqno (which reads the rng's state without a draw), so our first seqno is unchanged.
    firstHeartbeatDelay: firstPeriodDelay(rng, params.heartbeatInterval),
    lastTime: 0,
    peers: new Map(),
    retained: new Map(),
    topicPeers: new Map(),
    topics: new Map(),
    seen: createSeenCache(params.maxSeen),
    mcache: createMessageCache(params.mcacheLength, params.maxCachedMessages),
    authors: new Map(),
    validations: new Map(),
    needs: new Map(),
    largeForwarded: 0,
    largeBusy: false,
    promises: new Map(),
    promiseCount: 0,
    duplicates: 0,
    duplicateBytes: 0,
    idSlab: createSlab(IDS_PER_SLAB * ID_LENGTH),
    out: new Map(),
    events: [],
    hangUps: [],
  }
}

export function createPeer(s: RouterState, peer: string, outbound: boolean, now: number): PeerState {
  const kept = s.retained.get(peer)
  if (kept) s.retained.delete(peer)
  const stats = kept && kept.until > now ? kept.stats : createStats()
  return {
    outbound, topics: new Set(), stats, dontWant: new Map(),
    ihaveCount: 0, iasked: 0, iwantServed: 0, idontwantCount: 0, announced: 0, needServed: 0, hungUp: false,
  }
}

export function getTopic(s: RouterState, topic: string): TopicState {
  let t = s.topics.get(topic)
  if (!t) {
    const data: TopicData = { topic, mesh: new Set(), fanout: new Set(), members: new Map() }
    const ref = spawnTracked(s.owner, topicMachine, { id: `topic:${topic}`, input: data })
    t = { ...data, ref, phase: topicPhase(ref.getSnapshot()), lastPublish: 0 }
    s.topics.set(topic, t)
  }
  return t
}

/** Tell a topic's actor what happened, and remember the phase it moved to. */
export function stepTopic(t: TopicState, event: TopicEvent): void {
  t.ref.send(event)
  t.phase = topicPhase(t.ref.getSnapshot())
}

/** Stop a topic's actor and forget the topic. */
export function dropTopic(s: RouterState, topic: string): void {
  const t = s.topics.get(topic)
  if (!t) return
  stopTracked(t.ref)
  s.topics.delete(topic)
}

/** Add one part to the RPC going to `peer` at the end of this settle. */
export function queue<K extends keyof PendingRpc>(s: RouterState, peer: string, key: K, part: Part<K>): void {
  let rpc = s.out.get(peer)
  if (!rpc) s.out.set(peer, (rpc = {}))
  const list = rpc[key] as Array<Part<K>> | undefined
  if (list) list.push(part)
  else rpc[key] = [part] as PendingRpc[K]
}

const PART_KEYS = ['sub', 'msg', 'ihave', 'iwant', 'graft', 'prune', 'idw', 'iann', 'ineed'] as const
/** Control parts that are lists of message ids (each within maxIdontwantIdsPerRpc per RPC). */
const ID_PARTS = ['idw', 'iann', 'ineed'] as const

/** Whether two peers' pending parts are the same objects in the same order (their frames are then equal). */
export function samePending(a: PendingRpc, b: PendingRpc): boolean {
  for (const key of PART_KEYS) {
    const x = a[key] as unknown[] | undefined
    const y = b[key] as unknown[] | undefined
    if (x === y) continue
    if (x === undefined || y === undefined || x.length !== y.length) return false
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false
  }
  return true
}

function take<T>(list: T[] | undefined, n: number): T[] | undefined {
  if (!list || list.length === 0) return undefined
  return list.length <= n ? list.splice(0) : list.splice(0, n)
}

/**
 * Split one peer's pending parts into RPC frames: every list within its per-RPC limit, the
 * messages within maxRpcSize (a message is never split; one that alone exceeds it still goes).
 * The common case — a few parts, within every limit — is one frame.
 */
export function buildFrames(p: PubsubParams, rpc: PendingRpc): Rpc[] {
  const frames: Rpc[] = []
  let ihaveIds: IHave[] = []
  for (const entry of rpc.ihave ?? []) {
    if (entry.ids.length <= p.maxIhaveIdsPerRpc) ihaveIds.push(entry)
    else for (let i = 0; i < entry.ids.length; i += p.maxIhaveIdsPerRpc) {
      ihaveIds.push({ t: entry.t, ids: entry.ids.slice(i, i + p.maxIhaveIdsPerRpc) })
    }
  }
  const pending = (list: unknown[] | undefined): boolean => list !== undefined && list.length > 0
  do {
    const frame: Rpc = {}
    let budget = p.maxRpcSize - 1024
    const sub = take(rpc.sub, p.maxSubscriptionsPerRpc)
    if (sub) frame.sub = sub
    const ctl: NonNullable<Rpc['ctl']> = {}
    let hasCtl = false
    const graft = take(rpc.graft, p.maxGraftsPerRpc)
    if (graft) { ctl.graft = graft; hasCtl = true }
    const prune = take(rpc.prune, p.maxPrunesPerRpc)
    if (prune) { ctl.prune = prune; hasCtl = true }
    for (const key of ID_PARTS) {
      const ids = take(rpc[key], p.maxIdontwantIdsPerRpc)
      if (ids) { ctl[key] = ids; hasCtl = true; budget -= ids.length * 24 }
    }
    const iwant = take(rpc.iwant, p.maxIwantIdsPerRpc)
    if (iwant) { ctl.iwant = iwant; hasCtl = true; budget -= iwant.length * 24 }
    if (ihaveIds.length) {
      let ids = 0
      let n = 0
      while (n < ihaveIds.length && n < p.maxIhaveTopicsPerRpc && ids + ihaveIds[n].ids.length <= p.maxIhaveIdsPerRpc) ids += ihaveIds[n++].ids.length
      ctl.ihave = ihaveIds.slice(0, n)
      ihaveIds = ihaveIds.slice(n)
      hasCtl = true
      budget -= ids * 24
    }
    if (hasCtl) frame.ctl = ctl
    const msgs = rpc.msg
    if (msgs && msgs.length) {
      let n = 0
      while (n < msgs.length && n < p.maxMessagesPerRpc) {
        const size = messageSize(msgs[n])
        if (size > budget && (n > 0 || hasCtl)) break
        budget -= size
        n++
      }
      if (n > 0) frame.msg = n === msgs.length ? msgs.splice(0) : msgs.splice(0, n)
    }
    frames.push(frame)
  } while (pending(rpc.sub) || pending(rpc.msg) || ihaveIds.length || pending(rpc.iwant) || pending(rpc.graft) || pending(rpc.prune) || ID_PARTS.some((key) => pending(rpc[key])))
  return frames
}

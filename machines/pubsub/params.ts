/**
 * Pubsub parameters: every gossipsub knob and every peer-controlled bound, with its default.
 *
 * Defaults follow the gossipsub v1.0/v1.1/v1.2 specs and go-libp2p-pubsub where the specs leave
 * a value open (D=6, D_lo=4, D_hi=12, D_lazy=6, heartbeat 1 s, fanout TTL 60 s, mcache 5/3,
 * prune backoff 1 min). Every quantity a peer controls (topics it announces, ids it sends, bytes
 * it pushes) has a bound here, checked either in `parseRpc` (per frame) or in the router (per
 * heartbeat). Everything is plain data, so options travel through the protocol input unchanged.
 * @module
 */

/** Peer score weights and thresholds (gossipsub v1.1 §Peer Scoring), applied to every topic. */
export interface ScoreParams {
  /** Weight of every topic's score in the total. */
  topicWeight: number
  /** P1 time in mesh: weight per quantum (positive), quantum (ms) and cap (quanta). */
  timeInMeshWeight: number
  timeInMeshQuantum: number
  timeInMeshCap: number
  /** P2 first message deliveries: weight (positive), decay per decay interval, cap. */
  firstDeliveriesWeight: number
  firstDeliveriesDecay: number
  firstDeliveriesCap: number
  /**
   * P3 mesh message deliveries: a deficit below `meshDeliveriesThreshold` after the activation
   * time in the mesh costs deficit² × weight (negative). Off by default (weight 0): a quiet topic
   * would otherwise punish honest mesh peers; tune it to a topic's expected rate.
   */
  meshDeliveriesWeight: number
  meshDeliveriesDecay: number
  meshDeliveriesCap: number
  meshDeliveriesThreshold: number
  /** Time (ms) after validation in which a duplicate from a mesh peer still counts as a delivery. */
  meshDeliveriesWindow: number
  /** Time (ms) in the mesh before P3 applies. */
  meshDeliveriesActivation: number
  /** P3b: the deficit² a peer carried when it was pruned, weight (negative) and decay. */
  meshFailureWeight: number
  meshFailureDecay: number
  /** P4 invalid messages: counter² × weight (negative), decay. */
  invalidWeight: number
  invalidDecay: number
  /** P7 behaviour penalty (broken IWANT and INEED promises, GRAFT in backoff): (counter − threshold)² × weight. */
  behaviourWeight: number
  behaviourThreshold: number
  behaviourDecay: number
  /** Counters below this after decay become 0. */
  decayToZero: number
  /** How long (ms) a disconnected peer's score is kept, so reconnecting does not reset it. */
  retainScore: number
  /** Below: no gossip to or from the peer (IHAVE/IWANT ignored). */
  gossipThreshold: number
  /** Below: own messages are not flood-published to the peer. */
  publishThreshold: number
  /** Below: every RPC of the peer is ignored. */
  graylistThreshold: number
  /** Below: ask the swarm to hang up on the peer (xswarm addition; spec has no such threshold). */
  disconnectThreshold: number
  /** Median mesh score below which opportunistic grafting adds better-scoring peers. */
  opportunisticGraftThreshold: number
}

/** Every parameter of the router. Times in milliseconds, sizes in bytes. */
export interface PubsubParams {
  /** Target mesh degree, and the low / high watermarks kept by the heartbeat. */
  D: number
  Dlo: number
  Dhi: number
  /** Peers kept by score when pruning an oversubscribed mesh (the rest at random). */
  Dscore: number
  /** Outbound connections a mesh tries to keep (eclipse resistance). */
  Dout: number
  /** Peers a heartbeat sends IHAVE to per topic (at least; see gossipFactor). */
  Dlazy: number
  /** Fraction of eligible peers that get gossip when that is more than Dlazy. */
  gossipFactor: number
  /** Every this many heartbeats, graft up to opportunisticGraftPeers peers scoring above the mesh median. */
  opportunisticGraftTicks: number
  opportunisticGraftPeers: number
  /** Time between heartbeats; the first comes within the first interval, at a point drawn from the seeded rng. */
  heartbeatInterval: number
  /** A fanout topic (published to, not subscribed) is forgotten this long after the last publish. */
  fanoutTtl: number
  /** Heartbeat windows kept in the message cache, and how many of them are gossiped. */
  mcacheLength: number
  mcacheGossip: number
  /** Messages the cache holds at most (beyond: delivered and forwarded, not cached for gossip). */
  maxCachedMessages: number
  /** How long a message id stays in the seen cache, and how many ids it holds at most. */
  seenTtl: number
  maxSeen: number
  /** Backoff after a PRUNE (ours or theirs), after unsubscribing, and the most a peer may ask for. */
  pruneBackoff: number
  unsubscribeBackoff: number
  maxBackoff: number
  /** Flood own messages to every subscribed peer above publishThreshold (v1.1 flood publishing). */
  floodPublish: boolean
  /** Messages at least this large trigger IDONTWANT to mesh peers (v1.2). */
  idontwantMinSize: number
  /**
   * A message at least announceMinSize large is not pushed to mesh peers by a forwarder: it is
   * announced (IANNOUNCE, implies IDONTWANT), and a peer that lacks it asks one announcer
   * (INEED), then the next one if that one leaves or has not answered within needTimeout
   * (checked at the heartbeat; a broken promise, P7). Above maxMessageSize: always push.
   * While the node is quiet (pushBudget below), such a message is still pushed.
   */
  announceMinSize: number
  /**
   * Bytes of announceMinSize-or-larger messages a forwarder may still push to its mesh peers
   * between two heartbeats; once they are spent it announces them, until the end of the next
   * heartbeat interval if this one reached the budget (busy). A quiet topic keeps push latency
   * (one trip a hop, not three); a busy one gets one copy per node. 0: always announce.
   */
  pushBudget: number
  needTimeout: number
  /** IANNOUNCE ids taken from one peer per heartbeat, and INEED ids answered to it. */
  maxAnnouncedPerHeartbeat: number
  /** Large messages asked for at once at most (beyond: announces wait for gossip). */
  maxPendingNeeds: number
  /** IDONTWANT ids kept per peer, and how long each is honoured. */
  maxDontWantPerPeer: number
  dontWantTtl: number
  /** IDONTWANT ids accepted from one peer per heartbeat. */
  maxIdontwantPerHeartbeat: number
  /** Largest message data; own larger publishes fail with 'too-large'. Default 1 MiB − 64 KiB headroom. */
  maxMessageSize: number
  /** Largest RPC the router builds (sum of message data plus an estimate of the rest). */
  maxRpcSize: number
  maxTopicLength: number
  /** Topics one remote peer may be subscribed to (more are ignored); also our own limit. */
  maxTopicsPerPeer: number
  /** Per RPC (checked by parseRpc): subscriptions, messages, IHAVE entries, ids, GRAFTs, PRUNEs. */
  maxSubscriptionsPerRpc: number
  maxMessagesPerRpc: number
  maxIhaveTopicsPerRpc: number
  maxIhaveIdsPerRpc: number
  maxIwantIdsPerRpc: number
  maxIdontwantIdsPerRpc: number
  maxGraftsPerRpc: number
  maxPrunesPerRpc: number
  /** IHAVE messages accepted from one peer per heartbeat (v1.1 MaxIHaveMessages). */
  maxIhaveMessages: number
  /** Ids we ask one peer for per heartbeat, and ids we advertise per topic per heartbeat (MaxIHaveLength). */
  maxIhaveLength: number
  /** Times one message is sent to one peer in answer to IWANT. */
  gossipRetransmission: number
  /** Messages served to one peer per heartbeat in answer to IWANT. */
  maxIwantServedPerHeartbeat: number
  /** How long a peer has to deliver a message after our IWANT before the promise is broken. */
  iwantFollowupTime: number
  /** Open IWANT promises kept at most. */
  maxPromises: number
  /** Messages waiting for the application validator at most (more are dropped, not penalized). */
  maxPendingValidations: number
  /** A validation unanswered this long is dropped as 'ignore'. */
  validationTimeout: number
  /** Author keys whose peer id was checked, kept to skip the hash. */
  maxKnownAuthors: number
  score: ScoreParams
}

/** What `pubsubProtocol(options)` accepts: any parameter, score parameters merged one level deep. */
export type PubsubOptions = Partial<Omit<PubsubParams, 'score'>> & { score?: Partial<ScoreParams> }

export const DEFAULT_SCORE: Readonly<ScoreParams> = Object.freeze({
  topicWeight: 1,
  timeInMeshWeight: 0.01,
  timeInMeshQuantum: 1_000,
  timeInMeshCap: 100,
  firstDeliveriesWeight: 1,
  firstDeliveriesDecay: 0.9,
  firstDeliveriesCap: 10,
  meshDeliveriesWeight: 0,
  meshDeliveriesDecay: 0.9,
  meshDeliveriesCap: 20,
  meshDeliveriesThreshold: 1,
  meshDeliveriesWindow: 10,
  meshDeliveriesActivation: 30_000,
  meshFailureWeight: 0,
  meshFailureDecay: 0.9,
  invalidWeight: -10,
  invalidDecay: 0.99,
  behaviourWeight: -10,
  behaviourThreshold: 0,
  behaviourDecay: 0.99,
  decayToZero: 0.01,
  retainScore: 3_600_000,
  gossipThreshold: -10,
  publishThreshold: -50,
  graylistThreshold: -80,
  disconnectThreshold: -100,
  opportunisticGraftThreshold: 1,
})

export const DEFAULT_PARAMS: Readonly<PubsubParams> = Object.freeze({
  D: 6,
  Dlo: 4,
  Dhi: 12,
  Dscore: 4,
  Dout: 2,
  Dlazy: 6,
  gossipFactor: 0.25,
  opportunisticGraftTicks: 60,
  opportunisticGraftPeers: 2,
  heartbeatInterval: 1_000,
  fanoutTtl: 60_000,
  mcacheLength: 5,
  mcacheGossip: 3,
  maxCachedMessages: 10_000,
  seenTtl: 120_000,
  maxSeen: 50_000,
  pruneBackoff: 60_000,
  unsubscribeBackoff: 10_000,
  maxBackoff: 3_600_000,
  floodPublish: true,
  idontwantMinSize: 1024,
  announceMinSize: 4 * 1024,
  pushBudget: 256 * 1024,
  needTimeout: 1_000,
  maxAnnouncedPerHeartbeat: 5_000,
  maxPendingNeeds: 1_024,
  maxDontWantPerPeer: 1024,
  dontWantTtl: 3_000,
  maxIdontwantPerHeartbeat: 512,
  maxMessageSize: 1024 * 1024 - 64 * 1024,
  maxRpcSize: 1024 * 1024 - 16 * 1024,
  maxTopicLength: 256,
  maxTopicsPerPeer: 256,
  maxSubscriptionsPerRpc: 256,
  maxMessagesPerRpc: 64,
  maxIhaveTopicsPerRpc: 64,
  maxIhaveIdsPerRpc: 5_000,
  maxIwantIdsPerRpc: 5_000,
  maxIdontwantIdsPerRpc: 512,
  maxGraftsPerRpc: 64,
  maxPrunesPerRpc: 64,
  maxIhaveMessages: 10,
  maxIhaveLength: 5_000,
  gossipRetransmission: 3,
  maxIwantServedPerHeartbeat: 500,
  iwantFollowupTime: 3_000,
  maxPromises: 10_000,
  maxPendingValidations: 1_024,
  validationTimeout: 30_000,
  maxKnownAuthors: 4_096,
  score: DEFAULT_SCORE,
})

/** The bounds `parseRpc` checks (a subset of the parameters). */
export type WireLimits = Pick<PubsubParams,
  | 'maxMessageSize' | 'maxTopicLength' | 'maxSubscriptionsPerRpc' | 'maxMessagesPerRpc'
  | 'maxIhaveTopicsPerRpc' | 'maxIhaveIdsPerRpc' | 'maxIwantIdsPerRpc' | 'maxIdontwantIdsPerRpc'
  | 'maxGraftsPerRpc' | 'maxPrunesPerRpc' | 'maxBackoff'>

/**
 * Merge options over the defaults and check them (RangeError on an unusable combination).
 * Unknown keys are rejected so a typo does not silently keep a default.
 */
export function resolveParams(options: PubsubOptions = {}): PubsubParams {
  if (typeof options !== 'object' || options === null) throw new TypeError('"pubsub options" expected an object')
  for (const key of Object.keys(options)) {
    if (!(key in DEFAULT_PARAMS)) throw new RangeError(`"pubsub options" unknown parameter "${key}"`)
  }
  for (const key of Object.keys(options.score ?? {})) {
    if (!(key in DEFAULT_SCORE)) throw new RangeError(`"pubsub options.score" unknown parameter "${key}"`)
  }
  const params: PubsubParams = { ...DEFAULT_PARAMS, ...options, score: { ...DEFAULT_SCORE, ...options.score } }
  for (const [key, value] of Object.entries(params)) {
    if (key === 'score' || key === 'floodPublish') continue
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`"pubsub options.${key}" expected a non-negative finite number, got ${String(value)}`)
    }
  }
  if (!(params.Dlo <= params.D && params.D <= params.Dhi)) {
    throw new RangeError(`"pubsub options" expected Dlo <= D <= Dhi, got ${params.Dlo}, ${params.D}, ${params.Dhi}`)
  }
  if (params.Dout >= params.Dlo || params.Dscore > params.D) {
    throw new RangeError('"pubsub options" expected Dout < Dlo and Dscore <= D')
  }
  if (params.mcacheGossip > params.mcacheLength || params.mcacheLength < 1) {
    throw new RangeError('"pubsub options" expected 1 <= mcacheLength and mcacheGossip <= mcacheLength')
  }
  if (params.maxTopicLength < 1 || params.maxTopicLength > 4096) throw new RangeError('"pubsub options.maxTopicLength" expected 1..4096')
  if (params.opportunisticGraftTicks < 1) throw new RangeError('"pubsub options.opportunisticGraftTicks" expected >= 1')
  if (params.heartbeatInterval < 1) throw new RangeError('"pubsub options.heartbeatInterval" expected >= 1 ms')
  if (params.maxMessageSize > params.maxRpcSize) {
    throw new RangeError('"pubsub options" expected maxMessageSize <= maxRpcSize')
  }
  const s = params.score
  if (!(s.disconnectThreshold <= s.graylistThreshold && s.graylistThreshold <= s.publishThreshold
    && s.publishThreshold <= s.gossipThreshold && s.gossipThreshold <= 0)) {
    throw new RangeError('"pubsub options.score" expected disconnect <= graylist <= publish <= gossip <= 0 thresholds')
  }
  return params
}

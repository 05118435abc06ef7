/**
 * The root's data: the registries of connections and peers (Maps in the root's context,
 * mutated in place by its named actions, so connection churn is O(1)), and the pure questions
 * its guards ask of them. The decisions themselves are guarded transitions: of the root
 * (swarm.machine.ts) for dials and connections, of each peer's chart (swarm/peer.machine.ts)
 * for a peer's connections and their duplicates. This module only answers "is this connection
 * ours", "which of two connections to a peer survives", "how many dials are pending".
 * @module
 */
import type { AnyActorRef } from 'xstate'
import { keepAliveJitter, type ConnectionInput, type ConnectionTraffic } from '../connection.machine.js'
import type { HandshakeInput } from '../handshake.machine.js'
import type { CryptoSuite } from '../lib/crypto.js'
import type { AdmissionState, AdmittedConn } from '../lib/admission.js'
import type { Limits, Timeouts } from '../lib/limits.js'
import type { PeerChartEntry } from '../lib/peer-chart.js'
import { splitAddress, type ProtocolDefinition } from '../lib/protocol.js'
import { drbgBytes, type Drbg } from '../lib/rng.js'
import { seal, unseal, type Secret } from '../lib/secret.js'
import type { Signer, SignerIssuer } from '../lib/signer.js'
import type { KeyPair } from '../secure/noise.js'
import type { Direction } from '../vocab.js'

/** The node's long-lived handshake secrets (see handshake.machine.ts). */
export interface NoiseKeys {
  staticKey: KeyPair
  /** ed25519 signature of the identity key over the binding message of the static key. */
  identitySignature: Uint8Array
  /** Pre-shared key of a private network. */
  psk?: Uint8Array
}

export interface SwarmInput {
  peerId: string
  suite: CryptoSuite
  /** ed25519 identity public key. */
  identityKey: Uint8Array
  /** Issues each protocol its signer at start, then refuses (the secret key stays in the shell). */
  signers: SignerIssuer
  /** The Noise static key pair, the identity signature binding it and the psk, sealed (lib/secret.ts). */
  noiseKeys: Secret<NoiseKeys>
  /** 32 bytes, sealed; every ephemeral key and every protocol seed is derived from it. */
  seed: Secret<Uint8Array>
  limits: Limits
  timeouts: Timeouts
  protocols: readonly ProtocolDefinition[]
  /** Sources exempt from the per-source limits, which may use the reserved slots (IPs, CIDRs). Default loopback. */
  allowlist?: readonly string[]
}

/** One connection as the root tracks it. */
export interface ConnRecord extends AdmittedConn {
  key: string
  ref: AnyActorRef
  direction: Direction
  address: string
  connId?: number
  dialId?: number
  /** Shared with the connection actor: the root stamps every frame received (its keep-alive reads it). */
  traffic: ConnectionTraffic
  /** Set once accepted by the root (authenticated). */
  peer?: string
  handshakeHash?: Uint8Array
  /** Outbound: the peer id its address names, if any (what a failed dial reports). */
  expectedPeer?: string
  /** Outbound: the peer its handshake proved, while it waits for the responder's `ready`. */
  securedPeer?: string
  /** Open for longer than a handshake (its connection said so): it may be probed. */
  settled?: boolean
  /** Authenticated, it would lose to the peer's current connection, which is being probed. */
  awaitingProbe?: boolean
  /**
   * Told to close by the root, with this reason (a lost duplicate, a refused probe wait, a
   * hang-up): never a replacement, and the first to go when the peer's survivor needs room
   * under the per-peer limit.
   */
  closing?: string
}

/**
 * A connected peer: its entry in the per-peer chart (swarm/peer.machine.ts: `connected` or
 * `probing`) and its bound connection (the one frames to it go to).
 */
export interface PeerRecord extends PeerChartEntry { key: string; direction: Direction; address: string }

export interface SwarmContext extends Omit<SwarmInput, 'seed'> {
  /** The key-material generator, sealed. */
  drbg: Secret<Drbg>
  dialSeq: number
  addresses: string[]
  conns: Map<string, ConnRecord>
  byConnId: Map<number, string>
  byDialId: Map<number, string>
  peers: Map<string, PeerRecord>
  protocolRefs: Map<string, AnyActorRef>
  /** Input times of each protocol's restarts within the window (protocol-restart.ts). */
  protocolRestarts: Map<string, number[]>
  /** Each protocol's signer, issued once at start and kept for its restarts. */
  protocolSigners: Map<string, Signer>
  /** Per-source token buckets and the allowlist (lib/admission.ts). */
  admission: AdmissionState
  /** Reports refused inbound connections, rate-limited (refusals.machine.ts); null before start and after close. */
  refusals: AnyActorRef | null
}

/** Messages from the root's own children. */
export type ChildEvent =
  /** A connection's handshake proved its peer (inbound: at once; outbound: with the responder's `ready`). */
  | { type: 'conn.authenticated'; key: string; peer: string; handshakeHash: Uint8Array; direction: Direction }
  /** A connection actor finished. */
  | {
      type: 'conn.ended'; key: string; connId?: number; dialId?: number; peer: string | null; expectedPeer?: string
      address: string; direction: Direction; wasOpen: boolean; reason: string
    }
  /** A protocol asks for a dial. */
  | { type: 'proto.dial'; address: string }
  /** A protocol asks to close every connection to a peer. */
  | { type: 'proto.hangUp'; peer: string; reason: string }
  /** An outbound handshake proved its peer; the connection waits for the responder's `ready`. */
  | { type: 'conn.secured'; key: string; peer: string; handshakeHash: Uint8Array }
  /** The connection has been open for a handshake's time. */
  | { type: 'conn.settled'; key: string }
  /** The connection answered the root's probe: it is alive. */
  | { type: 'conn.probe.answered'; key: string }
  /** The connection did not answer the root's probe in time (it closes itself). */
  | { type: 'conn.probe.failed'; key: string }
  /** A child actor threw. */
  | { type: `xstate.error.actor.${string}`; error: unknown }

/** Which of two connections to the same peer survives; both sides compute the same answer. */
export function survivor(
  self: string,
  a: { direction: Direction; handshakeHash: Uint8Array },
  b: { direction: Direction; handshakeHash: Uint8Array },
  peer: string,
): 'a' | 'b' {
  const dialerA = a.direction === 'outbound' ? self : peer
  const dialerB = b.direction === 'outbound' ? self : peer
  if (dialerA !== dialerB) return dialerA < dialerB ? 'a' : 'b'
  return compareBytes(a.handshakeHash, b.handshakeHash) <= 0 ? 'a' : 'b'
}

function compareBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): number {
  if (!a || !b) return (a ? a.length : -1) - (b ? b.length : -1)
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i]
  return a.length - b.length
}

/** Another live connection whose handshake proved `peer`: the one the remote kept. */
export function replacementFor(context: SwarmContext, peer: string): ConnRecord | undefined {
  const current = context.peers.get(peer)?.key
  for (const rec of context.conns.values()) {
    if (rec.key !== current && !rec.awaitingProbe && rec.closing === undefined && rec.connId !== undefined && (rec.peer === peer || rec.securedPeer === peer)) return rec
  }
  return undefined
}

/** The connection of `peer` waiting for the probe of its current one, if any. */
export function awaitingProbeFor(context: SwarmContext, peer: string): ConnRecord | undefined {
  for (const rec of context.conns.values()) if (rec.awaitingProbe && rec.peer === peer) return rec
  return undefined
}

/**
 * Whether a peer's current connection may be probed before a new one loses to it: accepted
 * (one still confirming is alive by definition) and up for longer than a handshake, so the new
 * one is no dial race (whose resolution both sides must reach alone, without a probe).
 */
export function isProbeable(context: SwarmContext, peer: string): boolean {
  const current = context.peers.get(peer)
  const old = current === undefined ? undefined : context.conns.get(current.key)
  return old?.settled === true && awaitingProbeFor(context, peer) === undefined
}

/** Connections still handshaking (inbound or dialed) and dials not yet opened. */
export function countPending(context: SwarmContext): { handshaking: number; dialing: number } {
  let handshaking = 0
  let dialing = 0
  for (const rec of context.conns.values()) {
    if (rec.peer !== undefined) continue
    if (rec.connId === undefined) dialing++
    else handshaking++
  }
  return { handshaking, dialing }
}

/** Connections already accepted for `peer`. */
export function connectionsOf(context: SwarmContext, peer: string): number {
  let n = 0
  for (const rec of context.conns.values()) if (rec.peer === peer) n++
  return n
}

/**
 * The peer's connections that must leave for it to hold at most `maxConnectionsPerPeer` once its
 * survivor is counted: the oldest of those already closing (only a survivor, which is never
 * refused, can take a peer over the limit; every other connection of the peer is then closing).
 */
export function closingOverLimit(context: SwarmContext, peer: string): ConnRecord[] {
  let over = connectionsOf(context, peer) - context.limits.maxConnectionsPerPeer
  const out: ConnRecord[] = []
  for (const rec of context.conns.values()) {
    if (over <= 0) break
    if (rec.peer === peer && rec.closing !== undefined) {
      out.push(rec)
      over--
    }
  }
  return out
}

/** The peer a connection belongs to (accepted, or proved by its handshake while it waits). */
export function peerOf(rec: ConnRecord): string | undefined {
  return rec.peer ?? rec.securedPeer
}

/** Whether `rec` is the connection its peer is bound to. */
export function isBound(context: SwarmContext, rec: ConnRecord): boolean {
  const peer = peerOf(rec)
  return peer !== undefined && context.peers.get(peer)?.key === rec.key
}

/** What a dial asks for: the address, and its transport url and peer id when it parses. */
export interface DialTarget { address: string; url?: string; peer?: string }

const targets = new WeakMap<object, DialTarget>()

/** The target of a `cmd.dial` (parsed by the shell) or `proto.dial` (parsed here, once per event). */
export function dialTarget(event: { type: string; address: string; url?: string; peer?: string }): DialTarget {
  if (event.type === 'cmd.dial') return event
  let target = targets.get(event)
  if (!target) {
    const split = splitAddress(event.address)
    target = { address: event.address, url: split?.url, peer: split?.peer }
    targets.set(event, target)
  }
  return target
}

/**
 * A new connection record. Every field is set here, in one order, also those its connection
 * sets later (`peer`, `settled`, `closing`, ...): then every record has one V8 shape from birth,
 * and the code optimized for the frame path (`heardFrom`) stays valid when a record changes,
 * e.g. when its connection settles 10 s after it opened (bench/README, "a fourth look").
 */
export function newConnRecord(init: Pick<ConnRecord, 'key' | 'ref' | 'direction' | 'address' | 'traffic' | 'connId' | 'dialId' | 'expectedPeer' | 'source'>): ConnRecord {
  return {
    key: init.key, ref: init.ref, direction: init.direction, address: init.address,
    connId: init.connId, dialId: init.dialId, expectedPeer: init.expectedPeer, source: init.source,
    traffic: init.traffic, peer: undefined, securedPeer: undefined, handshakeHash: undefined,
    heard: false, shed: false, settled: false, awaitingProbe: false, closing: undefined,
  }
}

/**
 * The input of a new connection actor: a fresh ephemeral key and its keep-alive jitter, from
 * one draw of the root's drbg (32 bytes of key, then 4 for the jitter). One draw, not two, so
 * the drbg's counter and every later draw (the next connections' keys, a restarted protocol's
 * seed) stay what they were before connections had a jitter, and a recording made then still
 * replays: the key is the first 32 bytes of the same keystream block as before. ChaCha20's
 * keystream bytes are independent, so the jitter, which the remote can observe, tells nothing
 * of the key.
 */
export function connectionInput(context: SwarmContext, base: Pick<ConnectionInput, 'key' | 'direction' | 'address' | 'connId' | 'dialId' | 'url' | 'expectedPeer'>): ConnectionInput {
  const draw = drbgBytes(unseal(context.drbg), 36)
  const handshake: HandshakeInput = {
    suite: context.suite,
    initiator: base.direction === 'outbound',
    identityKey: context.identityKey,
    keys: seal({ ...unseal(context.noiseKeys), ephemeralPrivateKey: draw.slice(0, 32) }),
    expectedPeer: base.expectedPeer,
  }
  const jitter = keepAliveJitter(context.timeouts.keepAlive, new DataView(draw.buffer, draw.byteOffset).getUint32(32, true))
  draw.fill(0)
  return { ...base, timeouts: context.timeouts, handshake, traffic: { heardAt: 0 }, keepAliveJitter: jitter }
}

type AnyEvent = { type: string; key?: unknown; connId?: unknown }

/** The connection an event from or about a connection actor refers to (by its `key`). */
export function connOf(context: SwarmContext, event: AnyEvent): ConnRecord | undefined {
  return context.conns.get((event as { key: string }).key)
}

/** The connection of an `io.*` input, by its connId. */
export function connByConnId(context: SwarmContext, event: AnyEvent): ConnRecord | undefined {
  const key = context.byConnId.get((event as { connId: number }).connId)
  return key === undefined ? undefined : context.conns.get(key)
}

/**
 * The peer a protocol frame came from, once its connection is stamped as heard at `now` (traffic
 * is proof of life for the keep-alive); undefined when the connection or its peer is gone.
 */
export function heardFrom(context: SwarmContext, frame: AnyEvent, now: number): string | undefined {
  const rec = connByConnId(context, frame)
  if (rec === undefined) return undefined
  rec.traffic.heardAt = now
  const peer = rec.peer
  return peer !== undefined && context.peers.has(peer) ? peer : undefined
}

/** The peer of the (known) connection an event is about. */
export function peerOfConn(context: SwarmContext, event: AnyEvent): string {
  return peerOf(connOf(context, event)!)!
}

/** Forget a connection's entries in every registry. */
export function forget(context: SwarmContext, rec: ConnRecord): void {
  context.conns.delete(rec.key)
  if (rec.connId !== undefined) context.byConnId.delete(rec.connId)
  if (rec.dialId !== undefined) context.byDialId.delete(rec.dialId)
}

/** Which connection a second authenticated connection to a connected peer leaves standing. */
export function duplicateWinner(
  context: SwarmContext,
  e: { key: string; peer: string; handshakeHash: Uint8Array },
): 'current' | 'new' | undefined {
  const current = context.peers.get(e.peer)
  if (!current) return undefined
  const old = context.conns.get(current.key)!
  const rec = context.conns.get(e.key)!
  const keep = survivor(context.peerId, { direction: old.direction, handshakeHash: old.handshakeHash! }, { direction: rec.direction, handshakeHash: e.handshakeHash }, e.peer)
  return keep === 'a' ? 'current' : 'new'
}

/** The reason a connection whose actor threw ends with (a bug in it: SECURITY.md asks for a report). */
export const CRASHED = 'internal-error'

/**
 * The `conn.ended` a connection whose actor threw can no longer send, from what the root
 * knows of it: it was open if the root took its peer (accepted, or a resolved duplicate).
 */
export function crashedConnectionEnded(rec: ConnRecord): Extract<ChildEvent, { type: 'conn.ended' }> {
  return {
    type: 'conn.ended', key: rec.key, connId: rec.connId, dialId: rec.dialId, peer: peerOf(rec) ?? null, expectedPeer: rec.expectedPeer,
    address: rec.address, direction: rec.direction, wasOpen: rec.peer !== undefined, reason: CRASHED,
  }
}

/** The id of the child an `xstate.error.actor.<id>` is about. */
export function childId(event: AnyEvent): string {
  return event.type.slice('xstate.error.actor.'.length)
}

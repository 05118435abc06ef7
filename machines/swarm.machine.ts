/**
 * The root statechart of a swarm (systemId `swarm`): connections, peers and protocols.
 *
 * The shell feeds it one `Input` at a time. It creates one connection actor per connection
 * and one actor per protocol, routes frames (handshake and control frames to the connection,
 * protocol frames to the protocol's actor), resolves duplicate connections to one per peer,
 * enforces the connection limits, and turns what happened into swarm events. Registries are
 * Maps kept in context and mutated in place by named actions, so connection churn is O(1)
 * (see lib/runtime.ts); the state that a picture should show is in the statechart itself:
 * running → closing → closed.
 * @module
 */
import { emit, enqueueActions, setup, type AnyActorRef } from 'xstate'
import { connectionMachine, CONTROL_PROTOCOL, type ConnectionInput } from './connection.machine.js'
import { HANDSHAKE_PROTOCOL, type HandshakeInput } from './handshake.machine.js'
import type { CryptoSuite } from './lib/crypto.js'
import type { Limits, Timeouts } from './lib/limits.js'
import { protocolSystemId, splitAddress, type ProtocolDefinition, type ProtocolInput } from './lib/protocol.js'
import { createDrbg, drbgBytes, type Drbg } from './lib/rng.js'
import { inputTime, spawnTracked, stopTracked } from './lib/runtime.js'
import { admitInbound, createAdmission, DEFAULT_ALLOWLIST, type AdmissionState, type AdmittedConn } from './lib/admission.js'
import { Reasons, type CoreSwarmEvent, type Direction, type Effect, type Input } from './vocab.js'

export interface SwarmInput {
  peerId: string
  suite: CryptoSuite
  /** ed25519 identity public key, and a signer that holds the secret key outside any machine. */
  identityKey: Uint8Array
  sign: (message: Uint8Array) => Uint8Array
  /** Noise static key pair and the identity signature binding it (see handshake.machine.ts). */
  staticKey: { privateKey: Uint8Array; publicKey: Uint8Array }
  identitySignature: Uint8Array
  /** Pre-shared key of a private network. */
  psk?: Uint8Array
  /** 32 bytes; every key and every protocol seed is derived from it. */
  seed: Uint8Array
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
  /** Set once accepted by the root (authenticated). */
  peer?: string
  handshakeHash?: Uint8Array
  /** Outbound: the peer its handshake proved, while it waits for the responder's `ready`. */
  securedPeer?: string
}

export /** A connected peer and its bound connection (the one frames to it go to). */
interface PeerRecord { key: string; direction: Direction; address: string }

export interface SwarmContext extends Omit<SwarmInput, 'seed'> {
  drbg: Drbg
  dialSeq: number
  addresses: string[]
  conns: Map<string, ConnRecord>
  byConnId: Map<number, string>
  byDialId: Map<number, string>
  peers: Map<string, PeerRecord>
  protocolRefs: Map<string, AnyActorRef>
  closing: boolean
  admission: AdmissionState
}

/** Messages from the root's own children. */
export type ChildEvent =
  | { type: 'conn.authenticated'; key: string; peer: string; handshakeHash: Uint8Array; direction: Direction }
  | {
      type: 'conn.ended'; key: string; connId?: number; dialId?: number; peer: string | null; expectedPeer?: string
      address: string; direction: Direction; wasOpen: boolean; reason: string
    }
  | { type: 'proto.dial'; address: string }
  | { type: 'proto.hangUp'; peer: string; reason: string }
  | { type: 'conn.secured'; key: string; peer: string; handshakeHash: Uint8Array }
  | { type: `xstate.error.actor.${string}`; error: unknown }

export type SwarmMachineEvent = Input | ChildEvent

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
function replacementFor(context: SwarmContext, peer: string): ConnRecord | undefined {
  const current = context.peers.get(peer)?.key
  for (const rec of context.conns.values()) {
    if (rec.key !== current && rec.connId !== undefined && (rec.peer === peer || rec.securedPeer === peer)) return rec
  }
  return undefined
}

function countPending(context: SwarmContext): { handshaking: number; dialing: number } {
  let handshaking = 0
  let dialing = 0
  for (const rec of context.conns.values()) {
    if (rec.peer !== undefined) continue
    if (rec.connId === undefined) dialing++
    else handshaking++
  }
  return { handshaking, dialing }
}

function connectionInput(context: SwarmContext, base: Pick<ConnectionInput, 'key' | 'direction' | 'address' | 'connId' | 'dialId' | 'url' | 'expectedPeer'>): ConnectionInput {
  const handshake: HandshakeInput = {
    suite: context.suite,
    initiator: base.direction === 'outbound',
    staticKey: context.staticKey,
    ephemeralPrivateKey: drbgBytes(context.drbg, 32),
    identityKey: context.identityKey,
    identitySignature: context.identitySignature,
    psk: context.psk,
    expectedPeer: base.expectedPeer,
  }
  return { ...base, timeouts: context.timeouts, handshake }
}

/** Queue `event` for every protocol actor, in order with the emits of the same action. */
function broadcast(
  context: SwarmContext,
  enqueue: { sendTo: (ref: AnyActorRef, event: { type: string }) => void },
  event: { type: string } & Record<string, unknown>,
): void {
  for (const ref of context.protocolRefs.values()) {
    if (ref.getSnapshot().status === 'active') enqueue.sendTo(ref, event)
  }
}

export const swarmMachine = setup({
  types: {
    context: {} as SwarmContext,
    events: {} as SwarmMachineEvent,
    input: {} as SwarmInput,
    emitted: {} as Effect | CoreSwarmEvent,
  },
  actions: {
    /** Start one actor per protocol, each with its own seed. */
    // Routing and spawning run in `enqueueActions` callbacks (resolution time), not in custom
    // actions: a child that settles synchronously inside a custom action would run its own
    // built-in actions under XState's "custom action" flag.
    startProtocols: enqueueActions(({ context, self }) => {
      for (const def of context.protocols) {
        const input: ProtocolInput = {
          peerId: context.peerId,
          protocol: def.id,
          seed: drbgBytes(context.drbg, 32),
          options: def.options,
          addresses: context.addresses,
          crypto: context.suite,
          sign: context.sign,
          publicKey: context.identityKey,
        }
        const id = protocolSystemId(def.id)
        context.protocolRefs.set(def.id, spawnTracked(self, def.machine, { id, systemId: id, input }))
      }
    }),
    listening: enqueueActions(({ context, event, enqueue }) => {
      const addresses = (event as { addresses: string[] }).addresses
      context.addresses = addresses
      enqueue.emit({ type: 'swarm.listening', addresses })
      broadcast(context, enqueue as never, { type: 'swarm.listening', addresses })
    }),
    /** A dial from the user or a protocol: refuse it with a reason, or start a connection actor. */
    dial: enqueueActions(({ context, event, enqueue, self }) => {
      let address: string, url: string | undefined, peer: string | undefined
      if (event.type === 'cmd.dial') {
        ({ address, url, peer } = event)
      } else {
        address = (event as { address: string }).address
        const split = splitAddress(address)
        url = split?.url
        peer = split?.peer
      }
      const refuse = (reason: string) => {
        enqueue.emit({ type: 'dial.failed', address, reason, ...(peer ? { peer } : {}) })
        broadcast(context, enqueue as never, { type: 'dial.failed', address, reason, ...(peer ? { peer } : {}) })
      }
      if (url === undefined) return refuse('invalid-address')
      if (peer === context.peerId) return refuse(Reasons.selfDial)
      if (peer !== undefined && context.peers.has(peer)) return refuse(Reasons.alreadyConnected)
      if (countPending(context).dialing >= context.limits.maxPendingDials) return refuse(Reasons.tooManyDials)
      if (context.conns.size >= context.limits.maxConnections) return refuse(Reasons.tooManyConnections)
      const dialId = ++context.dialSeq
      const key = `d${dialId}`
      const input = connectionInput(context, { key, direction: 'outbound', address, url, dialId, expectedPeer: peer })
      const ref = spawnTracked(self, connectionMachine, { id: key, input })
      context.conns.set(key, { key, ref, direction: 'outbound', address, dialId })
      context.byDialId.set(dialId, key)
    }),
    /** A connection opened: bind it to its dial, or admit an inbound one within the limits. */
    opened: enqueueActions(({ context, event, enqueue, self }) => {
      const { connId, dialId, remoteAddr } = event as { connId: number; dialId?: number; remoteAddr: string }
      if (dialId !== undefined) {
        const key = context.byDialId.get(dialId)
        const rec = key === undefined ? undefined : context.conns.get(key)
        if (!rec) return enqueue.emit({ type: 'effect.close', connId, reason: Reasons.dialTimeout })
        rec.connId = connId
        context.byConnId.set(connId, rec.key)
        rec.ref.send({ type: 'io.conn.opened', connId, remoteAddr })
        return
      }
      const admission = admitInbound(context.conns.values(), context.conns.size, context.admission, context.limits, remoteAddr, inputTime(self))
      if (!admission.admit) return enqueue.emit({ type: 'effect.close', connId, reason: admission.reason })
      if (admission.shed) {
        admission.shed.shed = true
        enqueue.sendTo(admission.shed.ref, { type: 'conn.close', reason: Reasons.tooManyPending })
      }
      const key = `c${connId}`
      const ref = spawnTracked(self, connectionMachine, {
        id: key,
        input: connectionInput(context, { key, direction: 'inbound', address: remoteAddr, connId }),
      })
      context.conns.set(key, { key, ref, direction: 'inbound', address: remoteAddr, connId, source: admission.source })
      context.byConnId.set(connId, key)
    }),
    refuseDial: emit(({ event }) => ({
      type: 'dial.failed' as const,
      address: (event as { address: string }).address,
      reason: Reasons.swarmClosed,
    })),
    refuseInbound: emit(({ event }) => ({
      type: 'effect.close' as const,
      connId: (event as { connId: number }).connId,
      reason: Reasons.swarmClosed,
    })),
    /** Route a frame: handshake/control frames to the connection, the rest to its protocol. */
    routeFrame: enqueueActions(({ context, event }) => {
      const { connId, protocol, body } = event as { connId: number; protocol: string; body: unknown }
      const key = context.byConnId.get(connId)
      if (key === undefined) return
      const rec = context.conns.get(key)!
      if (protocol === HANDSHAKE_PROTOCOL || protocol === CONTROL_PROTOCOL) {
        rec.heard = true // not silent: shed after the silent ones (lib/admission.ts)
        rec.ref.send({ type: 'conn.frame', protocol, body })
        return
      }
      // Frames of a losing duplicate still count while the peer is connected: nothing in flight is lost.
      if (rec.peer === undefined || !context.peers.has(rec.peer)) return
      context.protocolRefs.get(protocol)?.send({ type: 'message', peer: rec.peer, body })
    }),
    routeToConnection: enqueueActions(({ context, event }) => {
      const e = event as { connId: number }
      const key = context.byConnId.get(e.connId)
      if (key !== undefined) context.conns.get(key)!.ref.send(event)
    }),
    routeDialFailure: enqueueActions(({ context, event }) => {
      const e = event as { dialId: number; reason: string }
      const key = context.byDialId.get(e.dialId)
      if (key !== undefined) context.conns.get(key)!.ref.send({ type: 'io.dial.failed', reason: e.reason })
    }),
    /** An authenticated connection: the first for its peer connects it; a second is a duplicate. */
    authenticated: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<ChildEvent, { type: 'conn.authenticated' }>
      const rec = context.conns.get(e.key)
      if (!rec) return
      if (e.peer === context.peerId) return enqueue.sendTo(rec.ref, { type: 'conn.close', reason: Reasons.selfDial })
      let perPeer = 0
      for (const other of context.conns.values()) if (other.peer === e.peer) perPeer++
      if (perPeer >= context.limits.maxConnectionsPerPeer) return enqueue.sendTo(rec.ref, { type: 'conn.close', reason: Reasons.tooManyPerPeer })
      rec.peer = e.peer
      rec.handshakeHash = e.handshakeHash
      const current = context.peers.get(e.peer)
      if (current && current.key === rec.key) {
        // Already bound as the replacement of a connection the remote closed as a duplicate.
        enqueue.sendTo(rec.ref, { type: 'conn.accepted' })
        return
      }
      if (current) {
        const old = context.conns.get(current.key)!
        const keep = survivor(context.peerId, { direction: old.direction, handshakeHash: old.handshakeHash! }, { direction: rec.direction, handshakeHash: e.handshakeHash }, e.peer)
        if (keep === 'a') return enqueue.sendTo(rec.ref, { type: 'conn.close', reason: Reasons.duplicate })
        // The new connection wins: move the peer to it silently, no disconnect/connect flap.
        context.peers.set(e.peer, { ...current, key: rec.key })
        enqueue.emit({ type: 'effect.bind', peer: e.peer, connId: rec.connId })
        enqueue.sendTo(rec.ref, { type: 'conn.accepted' })
        enqueue.sendTo(old.ref, { type: 'conn.close', reason: Reasons.duplicate })
        return
      }
      const address = rec.address
      context.peers.set(e.peer, { key: rec.key, direction: rec.direction, address })
      enqueue.emit({ type: 'effect.bind', peer: e.peer, connId: rec.connId })
      enqueue.sendTo(rec.ref, { type: 'conn.accepted' })
      enqueue.emit({ type: 'peer.connected', peer: e.peer, address, direction: rec.direction })
      broadcast(context, enqueue as never, { type: 'peer.connected', peer: e.peer, address, direction: rec.direction })
    }),
    /** A connection actor finished: forget it, and say what that means for its peer or dial. */
    ended: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<ChildEvent, { type: 'conn.ended' }>
      const rec = context.conns.get(e.key)
      if (!rec) return
      context.conns.delete(e.key)
      if (rec.connId !== undefined) context.byConnId.delete(rec.connId)
      if (rec.dialId !== undefined) context.byDialId.delete(rec.dialId)
      stopTracked(rec.ref)
      const peer = rec.peer ?? rec.securedPeer
      if (peer !== undefined && context.peers.get(peer)?.key === e.key) {
        const replacement = e.reason === Reasons.duplicate && !context.closing ? replacementFor(context, peer) : undefined
        if (replacement) {
          // The remote kept our newer connection to this peer, and closed this one before that
          // one's `ready` reached us (two connections are not ordered): move over, no flap.
          context.peers.get(peer)!.key = replacement.key
          enqueue.emit({ type: 'effect.bind', peer, connId: replacement.connId })
          return
        }
        context.peers.delete(peer)
        enqueue.emit({ type: 'effect.bind', peer, connId: undefined })
        enqueue.emit({ type: 'peer.disconnected', peer, reason: e.reason })
        broadcast(context, enqueue as never, { type: 'peer.disconnected', peer, reason: e.reason })
        return
      }
      // A dial whose peer is connected anyway (through another connection) did not fail.
      const connectedAnyway = e.peer !== null && context.peers.has(e.peer)
      if (e.direction === 'outbound' && !e.wasOpen && !connectedAnyway) {
        const failure = { type: 'dial.failed', address: e.address, reason: e.reason, ...(e.expectedPeer ? { peer: e.expectedPeer } : {}) }
        enqueue.emit(failure as never)
        broadcast(context, enqueue as never, failure)
      }
    }),
    /** An outbound connection's handshake proved its peer; it now waits for the responder's `ready`. */
    secured: ({ context, event }) => {
      const e = event as { key: string; peer: string; handshakeHash: Uint8Array }
      const rec = context.conns.get(e.key)
      if (!rec) return
      rec.securedPeer = e.peer
      rec.handshakeHash = e.handshakeHash
    },
    hangUp: enqueueActions(({ context, event }) => {
      const e = event as { peer: string; reason?: string }
      for (const rec of context.conns.values()) {
        if (rec.peer === e.peer || rec.securedPeer === e.peer) rec.ref.send({ type: 'conn.close', reason: e.reason ?? Reasons.hungUp })
      }
    }),
    forwardCommand: enqueueActions(({ context, event }) => {
      const e = event as { protocol: string; event: { type: string } }
      context.protocolRefs.get(e.protocol)?.send(e.event)
    }),
    forwardCallResult: enqueueActions(({ context, event }) => {
      const e = event as { protocol: string; callId: number; value?: unknown; error?: string }
      context.protocolRefs.get(e.protocol)?.send({ type: 'call.done', callId: e.callId, value: e.value, error: e.error })
    }),
    /** Tell protocols first (their goodbyes go out first), then close every connection. */
    beginClose: enqueueActions(({ context, enqueue }) => {
      context.closing = true
      broadcast(context, enqueue as never, { type: 'swarm.closing' })
      for (const rec of context.conns.values()) enqueue.sendTo(rec.ref, { type: 'conn.close', reason: Reasons.swarmClosed })
      enqueue.emit({ type: 'effect.unlisten' })
    }),
    /**
     * Stop the protocols after what was queued for them in this macrostep (their last
     * `peer.disconnected`): `xstate.stop` goes through the same deferred path as `sendTo`.
     */
    stopProtocols: enqueueActions(({ context, enqueue }) => {
      for (const ref of context.protocolRefs.values()) enqueue.sendTo(ref, { type: 'xstate.stop' })
      context.protocolRefs.clear()
    }),
    announceClosed: emit({ type: 'swarm.closed' as const }),
    /** A child actor threw: never silently. A connection is dropped; a protocol failure is reported. */
    childFailed: enqueueActions(({ context, event, enqueue }) => {
      const id = event.type.slice('xstate.error.actor.'.length)
      const message = String((event as { error?: unknown }).error instanceof Error ? ((event as { error: Error }).error.message) : (event as { error?: unknown }).error)
      const rec = context.conns.get(id)
      if (rec) {
        context.conns.delete(id)
        if (rec.connId !== undefined) {
          context.byConnId.delete(rec.connId)
          enqueue.emit({ type: 'effect.close', connId: rec.connId, reason: 'internal-error' })
        }
        if (rec.dialId !== undefined) context.byDialId.delete(rec.dialId)
        const peer = rec.peer ?? rec.securedPeer
        if (peer !== undefined && context.peers.get(peer)?.key === id) {
          context.peers.delete(peer)
          enqueue.emit({ type: 'effect.bind', peer, connId: undefined })
          enqueue.emit({ type: 'peer.disconnected', peer, reason: 'internal-error' })
          broadcast(context, enqueue as never, { type: 'peer.disconnected', peer, reason: 'internal-error' })
        }
      }
      enqueue.emit({ type: 'swarm.error', code: rec ? 'connection-failed' : 'protocol-failed', message: `${id}: ${message}` })
    }),
  },
  guards: {
    noConnectionsLeft: ({ context }) => context.conns.size === 0,
  },
}).createMachine({
  id: 'swarm',
  context: ({ input }) => {
    const { seed, ...rest } = input
    return {
      ...rest,
      drbg: createDrbg(seed),
      dialSeq: 0,
      addresses: [],
      conns: new Map(),
      byConnId: new Map(),
      byDialId: new Map(),
      peers: new Map(),
      protocolRefs: new Map(),
      closing: false,
      admission: createAdmission(input.allowlist ?? DEFAULT_ALLOWLIST),
    }
  },
  initial: 'starting',
  on: {
    'io.conn.frame': { actions: 'routeFrame' },
    'io.conn.invalid': { actions: 'routeToConnection' },
    'io.conn.closed': { actions: 'routeToConnection' },
    'io.dial.failed': { actions: 'routeDialFailure' },
    'conn.authenticated': { actions: 'authenticated' },
    'conn.secured': { actions: 'secured' },
    'io.call.done': { actions: 'forwardCallResult' },
    'xstate.error.actor.*': { actions: 'childFailed' },
  },
  states: {
    /**
     * Created, not yet started by the shell. Protocol actors start on `cmd.start`, once the
     * actor system runs: timers scheduled while the root is still being constructed would be
     * scheduled twice by XState (once more when the system starts) and one could never be cleared.
     */
    starting: {
      on: { 'cmd.start': { target: 'running' } },
    },
    running: {
      entry: 'startProtocols',
      on: {
        'io.listener.ready': { actions: 'listening' },
        'cmd.dial': { actions: 'dial' },
        'proto.dial': { actions: 'dial' },
        'io.conn.opened': { actions: 'opened' },
        'conn.ended': { actions: 'ended' },
        'cmd.hangUp': { actions: 'hangUp' },
        'proto.hangUp': { actions: 'hangUp' },
        'cmd.protocol': { actions: 'forwardCommand' },
        'cmd.close': { target: 'closing', actions: 'beginClose' },
      },
    },
    closing: {
      always: { guard: 'noConnectionsLeft', target: 'closed' },
      on: {
        'io.conn.opened': { actions: 'refuseInbound' },
        'conn.ended': { actions: 'ended' },
        'cmd.dial': { actions: 'refuseDial' },
        'proto.dial': {},
        'cmd.protocol': { actions: 'forwardCommand' },
      },
    },
    closed: {
      type: 'final',
      entry: ['stopProtocols', 'announceClosed'],
    },
  },
})

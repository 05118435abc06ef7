/**
 * The root statechart of a swarm (systemId `swarm`): connections, peers and protocols.
 *
 *   starting ──cmd.start──▶ running ──cmd.close──▶ closing ──[noConnectionsLeft]──▶ closed
 *
 * In `running` every decision is a guarded transition:
 *  - a dial (user `cmd.dial` or protocol `proto.dial`) is refused with its reason
 *    ([isInvalidAddress] [isSelfDial] [isPeerConnected] [isAtDialLimit] [isAtConnectionLimit])
 *    or starts a connection actor (`startDial`);
 *  - an opened connection is bound to its dial ([isOurDial]), closed as a stale dial
 *    ([isStaleDial]), or is inbound and goes to admission (`admitInbound`: lib/admission.ts
 *    refuses it with a reason — total, per-source and rate limits — or accepts it, shedding the
 *    oldest pending inbound connection when the pending slots are full);
 *  - an authenticated connection is refused as a self-dial, or goes to its peer's chart
 *    (`tellPeerAuthenticated`); a connection of a peer that ends ([isPeersConnection]: bound to
 *    its peer or held for a probe) and the answer to a probe ([isBoundConnection]) go there
 *    too. The peer's chart (swarm/peer.machine.ts: disconnected / connected / probing) shows
 *    what happens to one peer: its first connection, duplicate resolution by the survivor rule,
 *    the per-peer limit, the probe of an established connection, the move to a replacement, the
 *    disconnect;
 *  - another ended connection reports a failed dial ([isFailedDial]) or a refused inbound
 *    connection ([isRefusedInbound]), or is only forgotten;
 *  - a connection actor that throws (`xstate.error.actor.*` [isConnectionActor]) is reported
 *    (`swarm.error` `connection-failed`), its socket closed or its dial cancelled, and it ends
 *    through the transitions above as a connection that closed with reason `internal-error`
 *    (`endFailedConnection` raises the `conn.ended` it can no longer send); a protocol actor
 *    that throws is restarted (protocol-restart.ts);
 *  - a frame goes to its connection ([isConnectionFrame]: handshake, control) or its protocol;
 *    either way its input time is stamped on the connection's `traffic` (plain data the
 *    connection's keep-alive reads: a connection that receives frames is not pinged); frames
 *    of one protocol from several connections, queued together (`io.conn.frames`), go to it as
 *    one `messages` ([isGroupedProtocol]) or one `message` each.
 * Refused inbound connections (admission, and [isRefusedInbound]) go to the `refusals` child
 * (refusals.machine.ts), which shows them as `connection.refused`, at most 10 a second.
 * Each connection's own lifecycle (dialing, handshaking, open, closing) is its child actor
 * (connection.machine.ts); each protocol is a child actor (systemId `protocol:<id>`).
 *
 * Chart and data: the states and guarded transitions above are the chart, and each peer's
 * chart (swarm/peer.machine.ts, a peer chart stepped purely by `tellPeer*`, no actor per peer).
 * The registries of connections and peers are data (swarm/registry.ts): Maps kept in context
 * and mutated in place by the named actions (a peer's record is its chart entry, `{ state, key,
 * direction, address }`), and children are created with `spawnTracked` into those Maps (not
 * `spawnChild`, whose `children` object XState copies on every spawn and stop), so connection
 * churn is O(1).
 * @module
 */
import { emit, raise, setup } from 'xstate'
import { enqueueActions } from './lib/enqueue.js'
import { connectionMachine, CONTROL_PROTOCOL } from './connection.machine.js'
import { HANDSHAKE_PROTOCOL } from './handshake.machine.js'
import { createDrbg } from './lib/rng.js'
import { seal, unseal } from './lib/secret.js'
import { admitInbound, createAdmission, DEFAULT_ALLOWLIST } from './lib/admission.js'
import { inputTime, spawnTracked, stopTracked } from './lib/runtime.js'
import { broadcast, dialFailed, isRefusal, reportRefused } from './swarm/announce.js'
import { refusalsMachine } from './refusals.machine.js'
import { authenticatedFacts, closeConn, endedFacts, stepPeer } from './swarm/peers.js'
import {
  childId, connByConnId, connectionInput, connOf, countPending, CRASHED, crashedConnectionEnded, dialTarget, forget, heardFrom,
  isBound, newConnRecord, peerOf, peerOfConn, survivor, type ChildEvent, type SwarmContext, type SwarmInput,
} from './swarm/registry.js'
import { restartProtocol, startProtocol } from './protocol-restart.js'
import { Reasons, type ConnFrame, type ConnFrames, type CoreSwarmEvent, type Effect, type Input } from './vocab.js'

export { survivor }
export type { ChildEvent, ConnRecord, PeerRecord, SwarmContext, SwarmInput } from './swarm/registry.js'

export type SwarmMachineEvent = Input | ChildEvent

type Ended = Extract<ChildEvent, { type: 'conn.ended' }>
type Authenticated = Extract<ChildEvent, { type: 'conn.authenticated' }>
type DialEvent = { type: string; address: string; url?: string; peer?: string }

/** A dial is refused with its reason, or started. */
const DIAL = [
  { guard: 'isInvalidAddress', actions: { type: 'refuseDial', params: { reason: 'invalid-address' } } },
  { guard: 'isSelfDial', actions: { type: 'refuseDial', params: { reason: Reasons.selfDial } } },
  { guard: 'isPeerConnected', actions: { type: 'refuseDial', params: { reason: Reasons.alreadyConnected } } },
  { guard: 'isAtDialLimit', actions: { type: 'refuseDial', params: { reason: Reasons.tooManyDials } } },
  { guard: 'isAtConnectionLimit', actions: { type: 'refuseDial', params: { reason: Reasons.tooManyConnections } } },
  { actions: 'startDial' },
] as const

/**
 * What an ended connection means: for its peer (its chart decides, swarm/peer.machine.ts), for
 * its dial, for a refused inbound connection, or nothing (it is only forgotten).
 */
const ended = (closing: boolean) => [
  { guard: 'isUnknownConnection' },
  { guard: 'isPeersConnection', actions: [{ type: 'tellPeerConnectionEnded', params: { closing } }, 'forgetConnection'] },
  { guard: 'isFailedDial', actions: ['reportDialFailure', 'forgetConnection'] },
  { guard: 'isRefusedInbound', actions: ['reportRefusal', 'forgetConnection'] },
  { actions: 'forgetConnection' },
] as const

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
      for (const def of context.protocols) startProtocol(context, self, def)
      context.signers.close()
    }),
    /** The child that reports refused inbound connections, rate-limited. */
    startRefusals: enqueueActions(({ context, self }) => {
      context.refusals = spawnTracked(self, refusalsMachine, { id: 'refusals' })
    }),
    /** Summarise the refusals not shown yet, then stop their actor (both before `swarm.closed`). */
    stopRefusals: enqueueActions(({ context, enqueue }) => {
      if (!context.refusals) return
      enqueue.sendTo(context.refusals, { type: 'flush' })
      enqueue.sendTo(context.refusals, { type: 'xstate.stop' })
      context.refusals = null
    }),
    announceListening: enqueueActions(({ context, event, enqueue }) => {
      const addresses = (event as { addresses: string[] }).addresses
      context.addresses = addresses
      enqueue.emit({ type: 'swarm.listening', addresses })
      broadcast(context, enqueue as never, { type: 'swarm.listening', addresses })
    }),
    refuseDial: enqueueActions(({ context, event, enqueue }, params: { reason: string }) => {
      const { address, peer } = dialTarget(event as DialEvent)
      dialFailed(context, enqueue as never, address, params.reason, peer)
    }),
    /** Start an outbound connection actor for an admitted dial. */
    startDial: enqueueActions(({ context, event, self }) => {
      const { address, url, peer } = dialTarget(event as DialEvent)
      const dialId = ++context.dialSeq
      const key = `d${dialId}`
      const input = connectionInput(context, { key, direction: 'outbound', address, url, dialId, expectedPeer: peer })
      const ref = spawnTracked(self, connectionMachine, { id: key, input })
      context.conns.set(key, newConnRecord({ key, ref, direction: 'outbound', address, dialId, expectedPeer: peer, traffic: input.traffic }))
      context.byDialId.set(dialId, key)
    }),
    /** Our dial's connection opened: give it its connId. */
    bindDialedConnection: enqueueActions(({ context, event }) => {
      const { connId, dialId, remoteAddr } = event as { connId: number; dialId: number; remoteAddr: string }
      const rec = context.conns.get(context.byDialId.get(dialId)!)!
      rec.connId = connId
      context.byConnId.set(connId, rec.key)
      rec.ref.send({ type: 'io.conn.opened', connId, remoteAddr })
    }),
    /** Close a socket the root will not take (by its connId), with a reason. */
    closeSocket: emit(({ event }, params: { reason: string }) => ({
      type: 'effect.close' as const,
      connId: (event as { connId: number }).connId,
      reason: params.reason,
    })),
    /**
     * An inbound connection: admission (lib/admission.ts, which spends a token of its source)
     * refuses it with a reason, or it starts a connection actor (its handshake begins), after
     * shedding the oldest pending inbound connection if the pending slots are full.
     */
    admitInbound: enqueueActions(({ context, event, enqueue, self }) => {
      const { connId, remoteAddr } = event as { connId: number; remoteAddr: string }
      const admission = admitInbound(context.conns.values(), context.conns.size, context.admission, context.limits, remoteAddr, inputTime(self))
      if (!admission.admit) {
        enqueue.emit({ type: 'effect.close', connId, reason: admission.reason })
        return reportRefused(context, enqueue as never, remoteAddr, admission.reason)
      }
      if (admission.shed) {
        admission.shed.shed = true
        enqueue.sendTo(admission.shed.ref, { type: 'conn.close', reason: Reasons.tooManyPending })
      }
      const key = `c${connId}`
      const input = connectionInput(context, { key, direction: 'inbound', address: remoteAddr, connId })
      const ref = spawnTracked(self, connectionMachine, { id: key, input })
      context.conns.set(key, newConnRecord({ key, ref, direction: 'inbound', address: remoteAddr, connId, source: admission.source, traffic: input.traffic }))
      context.byConnId.set(connId, key)
    }),
    refuseDialWhileClosing: emit(({ event }) => ({
      type: 'dial.failed' as const,
      address: (event as { address: string }).address,
      reason: Reasons.swarmClosed,
    })),
    /** A handshake or control frame: to its connection actor. */
    passFrameToConnection: enqueueActions(({ context, event, self }) => {
      const { protocol, body } = event as { protocol: string; body: unknown }
      const rec = connByConnId(context, event)
      if (!rec) return
      rec.heard = true // not silent: shed after the silent ones (lib/admission.ts)
      rec.traffic.heardAt = inputTime(self)
      rec.ref.send({ type: 'conn.frame', protocol, body })
    }),
    /** A protocol frame of a connected peer: to its protocol actor. */
    // Frames of a losing duplicate still count while the peer is connected: nothing in flight is lost.
    // Its time is stamped for the connection's keep-alive: traffic is proof of life.
    deliverToProtocol: enqueueActions(({ context, event, self }) => {
      const { protocol, body } = event as ConnFrame
      const peer = heardFrom(context, event, inputTime(self))
      if (peer !== undefined) context.protocolRefs.get(protocol)?.send({ type: 'message', peer, body })
    }),
    /** Frames of a grouped protocol from several connections: one `messages` to its actor, in order. */
    deliverGroupToProtocol: enqueueActions(({ context, event, self }) => {
      const { protocol, frames } = event as ConnFrames
      const now = inputTime(self)
      const items: { peer: string; body: unknown }[] = []
      for (const frame of frames) {
        const peer = heardFrom(context, frame, now)
        if (peer !== undefined) items.push({ peer, body: frame.body })
      }
      const ref = context.protocolRefs.get(protocol)
      if (ref === undefined || items.length === 0) return
      ref.send(items.length === 1 ? { type: 'message', ...items[0] } : { type: 'messages', items })
    }),
    /** A group for a protocol that takes none (not from this shell): each frame as its own `message`. */
    deliverEachToProtocol: enqueueActions(({ context, event, self }) => {
      const { protocol, frames } = event as ConnFrames
      const now = inputTime(self)
      for (const frame of frames) {
        const peer = heardFrom(context, frame, now)
        if (peer !== undefined) context.protocolRefs.get(protocol)?.send({ type: 'message', peer, body: frame.body })
      }
    }),
    routeToConnection: enqueueActions(({ context, event }) => {
      connByConnId(context, event)?.ref.send(event)
    }),
    routeDialFailure: enqueueActions(({ context, event }) => {
      const e = event as { dialId: number; reason: string }
      const key = context.byDialId.get(e.dialId)
      if (key !== undefined) context.conns.get(key)!.ref.send({ type: 'io.dial.failed', reason: e.reason })
    }),
    /** Tell the authenticating connection to close, with a reason. */
    closeConnection: enqueueActions(({ context, event, enqueue }, params: { reason: string }) => {
      const rec = connOf(context, event)
      if (rec) closeConn(rec, params.reason, enqueue as never)
    }),
    /** A connection proved its peer: the peer's chart decides (swarm/peer.machine.ts). */
    tellPeerAuthenticated: enqueueActions(({ context, event, enqueue, self }) => {
      const e = event as Authenticated
      stepPeer(context, enqueue as never, e.peer, authenticatedFacts(context, e), e, inputTime(self))
    }),
    /** A connection of a peer ended (before it leaves the registry): the peer's chart decides. */
    tellPeerConnectionEnded: enqueueActions(({ context, event, enqueue, self }, params: { closing: boolean }) => {
      const e = event as Ended
      const rec = connOf(context, e)!
      stepPeer(context, enqueue as never, peerOf(rec)!, endedFacts(context, rec, e.reason, params.closing), e, inputTime(self))
    }),
    /** The peer's probed connection answered, or stayed silent: the peer's chart decides. */
    tellPeerProbed: enqueueActions(({ context, event, enqueue, self }, params: { answered: boolean }) => {
      const e = event as { type: string; key: string }
      const facts = { type: params.answered ? 'peer.probeAnswered' : 'peer.probeFailed' } as const
      stepPeer(context, enqueue as never, peerOfConn(context, e), facts, e, inputTime(self))
    }),
    /** The connection has been open for a handshake's time. */
    recordSettled: ({ context, event }) => {
      const rec = connOf(context, event)
      if (rec) rec.settled = true
    },
    /** An outbound handshake proved its peer; the connection now waits for the responder's `ready`. */
    recordSecured: ({ context, event }) => {
      const e = event as { key: string; peer: string; handshakeHash: Uint8Array }
      const rec = connOf(context, event)
      if (!rec) return
      rec.securedPeer = e.peer
      rec.handshakeHash = e.handshakeHash
    },
    /** An ended connection: out of every registry, its actor stopped. */
    forgetConnection: enqueueActions(({ context, event }) => {
      const rec = connOf(context, event)!
      forget(context, rec)
      stopTracked(rec.ref)
    }),
    reportRefusal: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Ended
      reportRefused(context, enqueue as never, e.address, e.reason)
    }),
    reportDialFailure: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Ended
      dialFailed(context, enqueue as never, e.address, e.reason, e.expectedPeer)
    }),
    hangUp: enqueueActions(({ context, event }) => {
      const e = event as { peer: string; reason?: string }
      for (const rec of context.conns.values()) {
        if (peerOf(rec) !== e.peer) continue
        rec.closing = e.reason ?? Reasons.hungUp
        rec.ref.send({ type: 'conn.close', reason: rec.closing })
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
    /**
     * A connection actor threw: its socket is closed, or its dial cancelled, here (the actor,
     * stopped by its error, can no longer ask for it).
     */
    closeFailedConnection: enqueueActions(({ context, event, enqueue }) => {
      const rec = context.conns.get(childId(event))!
      if (rec.connId !== undefined) enqueue.emit({ type: 'effect.close', connId: rec.connId, reason: CRASHED })
      else if (rec.dialId !== undefined) enqueue.emit({ type: 'effect.cancelDial', dialId: rec.dialId })
    }),
    /**
     * Then it ends as a connection that closed with reason `internal-error`: the `conn.ended`
     * it can no longer send is raised for it, so that the transitions of every other end
     * decide (its peer's chart, a failed dial, a refused inbound connection) and nothing of it
     * is left behind (a peer whose chart still counted on it, a dial nobody hears the end of).
     */
    endFailedConnection: raise(({ context, event }) => crashedConnectionEnded(context.conns.get(childId(event))!)),
    /** A protocol actor threw: restarted within its budget, else given up (protocol-restart.ts). */
    restartFailedProtocol: enqueueActions(({ context, event, enqueue, self }) => {
      const error = (event as { error?: unknown }).error
      restartProtocol(context, self, enqueue as never, childId(event), String(error instanceof Error ? error.message : error))
    }),
    /** A child actor threw: never silently. */
    reportChildFailure: emit(({ event }, params: { code: 'connection-failed' }) => {
      const error = (event as { error?: unknown }).error
      const message = String(error instanceof Error ? error.message : error)
      return { type: 'swarm.error' as const, code: params.code, message: `${childId(event)}: ${message}` }
    }),
  },
  guards: {
    isInvalidAddress: ({ event }) => dialTarget(event as DialEvent).url === undefined,
    isSelfDial: ({ context, event }) => dialTarget(event as DialEvent).peer === context.peerId,
    isPeerConnected: ({ context, event }) => {
      const peer = dialTarget(event as DialEvent).peer
      return peer !== undefined && context.peers.has(peer)
    },
    isAtDialLimit: ({ context }) => countPending(context).dialing >= context.limits.maxPendingDials,
    isAtConnectionLimit: ({ context }) => context.conns.size >= context.limits.maxConnections,
    /** The connection opened for a dial that is still ours. */
    isOurDial: ({ context, event }) => {
      const dialId = (event as { dialId?: number }).dialId
      return dialId !== undefined && context.byDialId.has(dialId)
    },
    /** The connection opened for a dial we gave up (timed out) already. */
    isStaleDial: ({ event }) => (event as { dialId?: number }).dialId !== undefined,
    isConnectionFrame: ({ event }) => {
      const protocol = (event as { protocol: string }).protocol
      return protocol === HANDSHAKE_PROTOCOL || protocol === CONTROL_PROTOCOL
    },
    /** Its protocol takes frames from several peers in one `messages` (ProtocolDefinition.grouped). */
    isGroupedProtocol: ({ context, event }) => {
      const protocol = (event as ConnFrames).protocol
      return context.protocols.some((def) => def.id === protocol && def.grouped === true)
    },
    isUnknownConnection: ({ context, event }) => connOf(context, event) === undefined,
    isSelfConnection: ({ context, event }) => (event as Authenticated).peer === context.peerId,
    /** The connection is its peer's bound one. */
    isBoundConnection: ({ context, event }) => {
      const rec = connOf(context, event)
      return rec !== undefined && isBound(context, rec)
    },
    /** The connection matters to its peer's chart: it is the peer's bound one, or held for a probe. */
    isPeersConnection: ({ context, event }) => {
      const rec = connOf(context, event)!
      return rec.awaitingProbe === true || isBound(context, rec)
    },
    /** A dial that never opened and whose peer is not connected through another connection. */
    isFailedDial: ({ context, event }) => {
      const e = event as Ended
      const connectedAnyway = e.peer !== null && context.peers.has(e.peer)
      return e.direction === 'outbound' && !e.wasOpen && !connectedAnyway
    },
    /** An inbound connection that ended before it authenticated, other than a resolved duplicate or a closing swarm. */
    isRefusedInbound: ({ event }) => {
      const e = event as Ended
      return e.direction === 'inbound' && !e.wasOpen && isRefusal(e.reason)
    },
    isConnectionActor: ({ context, event }) => context.conns.has(childId(event)),
    noConnectionsLeft: ({ context }) => context.conns.size === 0,
  },
}).createMachine({
  id: 'swarm',
  context: ({ input }) => {
    const { seed, ...rest } = input
    return {
      ...rest,
      drbg: seal(createDrbg(unseal(seed))),
      dialSeq: 0,
      addresses: [],
      conns: new Map(),
      byConnId: new Map(),
      byDialId: new Map(),
      peers: new Map(),
      protocolRefs: new Map(),
      protocolRestarts: new Map(),
      protocolSigners: new Map(),
      admission: createAdmission(input.allowlist ?? DEFAULT_ALLOWLIST),
      refusals: null,
    }
  },
  initial: 'starting',
  on: {
    'io.conn.frame': [
      { guard: 'isConnectionFrame', actions: 'passFrameToConnection' },
      { actions: 'deliverToProtocol' },
    ],
    'io.conn.frames': [
      { guard: 'isGroupedProtocol', actions: 'deliverGroupToProtocol' },
      { actions: 'deliverEachToProtocol' },
    ],
    'io.conn.invalid': { actions: 'routeToConnection' },
    'io.conn.closed': { actions: 'routeToConnection' },
    'io.dial.failed': { actions: 'routeDialFailure' },
    'conn.authenticated': [
      { guard: 'isUnknownConnection' },
      { guard: 'isSelfConnection', actions: { type: 'closeConnection', params: { reason: Reasons.selfDial } } },
      { actions: 'tellPeerAuthenticated' },
    ],
    'conn.secured': { actions: 'recordSecured' },
    'conn.settled': { actions: 'recordSettled' },
    'conn.probe.answered': { guard: 'isBoundConnection', actions: { type: 'tellPeerProbed', params: { answered: true } } },
    'conn.probe.failed': { guard: 'isBoundConnection', actions: { type: 'tellPeerProbed', params: { answered: false } } },
    'io.call.done': { actions: 'forwardCallResult' },
    'xstate.error.actor.*': [
      { guard: 'isConnectionActor', actions: ['closeFailedConnection', { type: 'reportChildFailure', params: { code: 'connection-failed' } }, 'endFailedConnection'] },
      { actions: 'restartFailedProtocol' },
    ],
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
      entry: ['startProtocols', 'startRefusals'],
      on: {
        'io.listener.ready': { actions: 'announceListening' },
        'cmd.dial': DIAL,
        'proto.dial': DIAL,
        'io.conn.opened': [
          { guard: 'isOurDial', actions: 'bindDialedConnection' },
          { guard: 'isStaleDial', actions: { type: 'closeSocket', params: { reason: Reasons.dialTimeout } } },
          { actions: 'admitInbound' },
        ],
        'conn.ended': ended(false),
        'cmd.hangUp': { actions: 'hangUp' },
        'proto.hangUp': { actions: 'hangUp' },
        'cmd.protocol': { actions: 'forwardCommand' },
        'cmd.close': { target: 'closing', actions: 'beginClose' },
      },
    },
    /** Goodbyes sent, every connection closing; the peers disconnect as their connections end. */
    closing: {
      always: { guard: 'noConnectionsLeft', target: 'closed' },
      on: {
        'io.conn.opened': { actions: { type: 'closeSocket', params: { reason: Reasons.swarmClosed } } },
        'conn.ended': ended(true),
        'cmd.dial': { actions: 'refuseDialWhileClosing' },
        'proto.dial': {},
        'cmd.protocol': { actions: 'forwardCommand' },
      },
    },
    closed: {
      type: 'final',
      entry: ['stopProtocols', 'stopRefusals', 'announceClosed'],
    },
  },
})

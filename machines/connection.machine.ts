/**
 * The lifecycle of one connection: dialing → handshaking → (confirming) → authenticating →
 * open → closing → closed.
 *
 * One actor per connection, created by the root swarm machine (outbound at `cmd.dial`, inbound
 * at `io.conn.opened`). It runs the Noise handshake itself: its `handshaking` region is the
 * handshake chart (`handshakeRegion` of handshake.machine.ts, the one source of it), whose
 * pure steps work on the Noise state kept in `hs` (an invoked child machine cost one more
 * actor and ten more events per setup); asks the root to
 * accept the authenticated peer (the root resolves duplicates), checks while open that the
 * remote is alive (keep-alive, below), and always ends in `closed` with a reason, which it
 * reports to the root with `conn.ended`. Every way out has a reason; nothing throws.
 *
 * Key confirmation: the initiator's handshake completes when it *sends* Noise message 3, before
 * the responder has checked it (in a private network the psk is mixed in only there) and
 * before the responder's root has accepted the connection. So the responder sends one
 * encrypted control frame, `ready`, once it is open, and the initiator waits for it in
 * `confirming` before it counts the peer as connected: a node of another private network, or
 * a responder that refuses the connection, ends the dial as `dial.failed` with its reason.
 *
 * Keep-alive: received traffic is proof of life (as in libp2p's ping, TCP keepalive, HTTP/2
 * PING practice). `open.idle` pings only after `keepAlive` in which nothing at all was received
 * on the connection; a frame of any protocol moves the ping later, and a ping unanswered
 * within `pingTimeout` closes the connection. A remote that goes silent is therefore closed
 * `keepAlive + pingTimeout` after its last frame, as when every connection pinged on a fixed
 * period, and a busy connection sends no ping at all. Most frames do not pass through this
 * chart (the root hands them to their protocol), and an XState event per frame is a measured
 * cost, so the root does not tell it: it stamps the input time of every frame it routes for
 * this connection on `traffic`, plain data shared at creation (`ConnectionTraffic`), and the
 * chart reads the stamp when its wait ends (guard `heardDuringWait`: wait again, counted from
 * the last frame; otherwise ping). The stamp is an input's time, so a recorded node replays
 * it exactly from its recorded inputs, and a simulated network stays deterministic.
 *
 * When a quiet wait ends (lib/keep-alive.ts): the first one, counted from the opening, is
 * shortened by a seeded jitter, so connections opened together do not ping together; and the
 * dialer's waits after a ping or pong are shortened by a lead, so a quiet connection carries
 * one exchange per period, not one from each end. Both only shorten a wait: a silent remote is
 * closed at the latest `keepAlive + pingTimeout` after its last frame.
 * @module
 */
import { assign, emit, enqueueActions, sendParent, setup } from 'xstate'
import {
  createHandshakeContext, HANDSHAKE_PROTOCOL, handshakeRegion, readStep, writeStep, type HandshakeContext, type HandshakeInput, type HandshakeOutput,
} from './handshake.machine.js'
import { inputTime } from './lib/runtime.js'
import { quietWaitEnd } from './lib/keep-alive.js'
import { unseal } from './lib/secret.js'
import { Reasons, type Direction, type Effect } from './vocab.js'

export { KEEP_ALIVE_JITTER_SHARE, KEEP_ALIVE_LEAD_SHARE, keepAliveJitter, keepAliveLead } from './lib/keep-alive.js'

/** Wire id of the connection's own control frames (keep-alive ping/pong), after the handshake. */
export const CONTROL_PROTOCOL = '/xswarm/conn/1'

/** Timeouts of a connection, in milliseconds (documented defaults in lib/limits.ts). */
export interface ConnectionTimeouts {
  dial: number
  handshake: number
  /** How long an open connection may receive nothing before it pings (traffic is proof of life; the first wait is shorter by `keepAliveJitter`). */
  keepAlive: number
  /** How long a ping may wait for its pong before the peer counts as gone. */
  pingTimeout: number
  /** How long the root's probe (a ping) may wait for its pong: a new connection of the same peer is waiting. */
  probe: number
  /** How long a graceful close may take before the connection counts as closed anyway. */
  close: number
}

/**
 * What the connection has heard, shared by the root and the connection actor (plain data, no
 * event): the root writes `heardAt` as it routes each frame of this connection, of any protocol,
 * and the keep-alive reads it when its wait ends.
 */
export interface ConnectionTraffic {
  /** The input time of the last frame received on this connection (0 before any). */
  heardAt: number
}

export interface ConnectionInput {
  /** The key the root knows this actor by (`d<dialId>` or `c<connId>`). */
  key: string
  direction: Direction
  connId?: number
  dialId?: number
  /** For outbound: the address dialed (full, as the user gave it); for inbound: the remote address. */
  address: string
  /** For outbound: the transport url to dial. */
  url?: string
  /** For outbound: the peer id the address names, if any. */
  expectedPeer?: string
  timeouts: ConnectionTimeouts
  handshake: HandshakeInput
  /** Stamped by the root for every frame received (see `ConnectionTraffic`). */
  traffic: ConnectionTraffic
  /** How much sooner than `keepAlive` the first keep-alive wait ends (ms, drawn by the root: `keepAliveJitter()`). */
  keepAliveJitter: number
}

export interface ConnectionContext extends Omit<ConnectionInput, 'handshake'> {
  handshake: HandshakeInput
  /** The Noise handshake in progress (handshake.machine.ts's context); null before and after. */
  hs: HandshakeContext | null
  peer: string | null
  handshakeHash: Uint8Array | null
  reason: string | null
  wasOpen: boolean
  pingSeq: number
  /** Input time at which the connection opened (counts as heard: the keep-alive starts from it). */
  openedAt: number
  /** The last sign of life the current keep-alive wait counts from. */
  quietFrom: number
  /** Input time of the last keep-alive frame (ping or pong) received while open; null before any. */
  keepAliveHeardAt: number | null
}

/** What the root tells the connection, and the shell's facts about it. */
export type ConnectionEvent =
  /** The dial succeeded (outbound). */
  | { type: 'io.conn.opened'; connId: number; remoteAddr: string }
  /** The dial failed (outbound). */
  | { type: 'io.dial.failed'; reason: string }
  /** A handshake or control frame for this connection. */
  | { type: 'conn.frame'; protocol: string; body: unknown }
  /** The shell refused a frame of this connection (decode, decrypt, size, rate). */
  | { type: 'io.conn.invalid'; reason: string }
  /** The transport connection is gone. */
  | { type: 'io.conn.closed'; reason: string; byRemote: boolean }
  /** The root accepts the authenticated peer: the connection is open. */
  | { type: 'conn.accepted' }
  /** Close now, for `reason` (hang-up, duplicate, swarm closing, rejected by a limit). */
  | { type: 'conn.close'; reason: string }
  /** Is the remote still there? A new connection of the same peer waits for the answer. */
  | { type: 'conn.probe' }

/** Control frames: [0, seq] is a ping, [1, seq] its pong, [2, 0] the responder's `ready`. */
type ControlFrame = [0 | 1 | 2, number]

const PING = 0
const PONG = 1
const READY = 2

function isControlFrame(body: unknown): body is ControlFrame {
  return Array.isArray(body) && body.length === 2 && (body[0] === PING || body[0] === PONG || body[0] === READY) &&
    Number.isSafeInteger(body[1])
}

/** The last sign of life: the last frame received, or the opening if that was later. */
function lastHeard(context: ConnectionContext): number {
  return Math.max(context.traffic.heardAt, context.openedAt)
}

function controlKind(event: unknown): number | undefined {
  const e = event as { protocol?: string; body?: unknown }
  return e.protocol === CONTROL_PROTOCOL && isControlFrame(e.body) ? e.body[0] : undefined
}

export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
    input: {} as ConnectionInput,
    emitted: {} as Effect,
  },
  delays: {
    dialTimeout: ({ context }) => context.timeouts.dial,
    handshakeTimeout: ({ context }) => context.timeouts.handshake,
    /** `keepAlive` counted from the last sign of life (not from now), the first one shortened by the jitter, the dialer's after a keep-alive frame by the lead. */
    keepAlive: ({ context, self }) => Math.max(0, quietWaitEnd(context) - inputTime(self)),
    pingTimeout: ({ context }) => context.timeouts.pingTimeout,
    probeTimeout: ({ context }) => context.timeouts.probe,
    /** Open for longer than a handshake: a duplicate arriving now is no dial race. */
    settled: ({ context }) => context.timeouts.handshake,
    closeTimeout: ({ context }) => context.timeouts.close,
  },
  actions: {
    requestDial: emit(({ context }) => ({ type: 'effect.dial' as const, dialId: context.dialId!, url: context.url! })),
    bindConnection: assign({ connId: ({ event }) => (event as { connId: number }).connId }),
    setReason: assign({ reason: ({ context }, reason: string) => context.reason ?? reason }),
    reasonFromEvent: assign({
      reason: ({ context, event }) => context.reason ?? (event as { reason: string }).reason,
    }),
    /** Noise Initialize (the ephemeral key and the identity payload come in the input). */
    startHandshake: assign({ hs: ({ context }) => createHandshakeContext(context.handshake) }),
    /** Write our next handshake message into `hs.outbox` (or fail). */
    writeHandshake: assign({ hs: ({ context }) => ({ ...context.hs!, ...writeStep(context.hs!) }) }),
    /** Read the peer's handshake message (flags byte, Noise, identity payload, expected peer id). */
    readHandshake: assign({ hs: ({ context, event }) => ({ ...context.hs!, ...readStep(context.hs!, (event as { body: unknown }).body) }) }),
    /** Send the written handshake message, unencrypted. */
    sendHandshakeFrame: emit(({ context }) => ({
      type: 'effect.send' as const,
      connId: context.connId!,
      protocol: HANDSHAKE_PROTOCOL,
      body: context.hs!.outbox!,
    })),
    /** The handshake succeeded: remember the peer, hand the (sealed) transport keys to the shell, drop the Noise state. */
    secured: enqueueActions(({ context, enqueue }) => {
      const output = context.hs!.output as HandshakeOutput & { ok: true }
      // Forward secrecy: the ephemeral key is not needed any more; wipe it, do not keep it.
      unseal(context.handshake.keys).ephemeralPrivateKey.fill(0)
      enqueue.assign({ peer: output.peer, handshakeHash: output.handshakeHash, hs: null })
      enqueue.emit({ type: 'effect.secure', connId: context.connId!, keys: output.keys })
    }),
    /** Tell the root which peer this (outbound) connection proved, before it is confirmed. */
    reportSecured: sendParent(({ context }) => ({
      type: 'conn.secured',
      key: context.key,
      peer: context.peer!,
      handshakeHash: context.handshakeHash!,
    })),
    /** Ask the root to accept the authenticated peer. */
    requestAcceptance: sendParent(({ context }) => ({
      type: 'conn.authenticated',
      key: context.key,
      peer: context.peer!,
      handshakeHash: context.handshakeHash!,
      direction: context.direction,
    })),
    /** Responder: tell the initiator that we accepted it (its key confirmation). */
    sendReady: emit(({ context }) => ({
      type: 'effect.send' as const,
      connId: context.connId!,
      protocol: CONTROL_PROTOCOL,
      body: [READY, 0],
    })),
    /** A dial the machine gave up on: the shell aborts it (its socket and timer go too). */
    cancelDial: emit(({ context }) => ({ type: 'effect.cancelDial' as const, dialId: context.dialId! })),
    handshakeFailed: assign({
      reason: ({ context }) => context.reason ?? (context.hs!.output as { reason: string }).reason,
      hs: null,
    }),
    /** Forget the Noise state (it holds the ephemeral secret until the handshake completes). */
    dropHandshake: assign({ hs: null }),
    markOpen: assign({ wasOpen: true, openedAt: ({ self }) => inputTime(self) }),
    /** A keep-alive wait begins: it counts from the last sign of life. */
    startQuietWait: assign({ quietFrom: ({ context }) => lastHeard(context) }),
    sendPing: enqueueActions(({ context, enqueue }) => {
      const seq = context.pingSeq + 1
      enqueue.assign({ pingSeq: seq })
      enqueue.emit({ type: 'effect.send', connId: context.connId!, protocol: CONTROL_PROTOCOL, body: [PING, seq] })
    }),
    /** A ping or pong received while open: the dialer's next wait counts from it with the lead (`leadsKeepAlive`). */
    noteKeepAliveFrame: assign({ keepAliveHeardAt: ({ self }) => inputTime(self) }),
    answerPing: emit(({ context, event }) => ({
      type: 'effect.send' as const,
      connId: context.connId!,
      protocol: CONTROL_PROTOCOL,
      body: [PONG, ((event as { body: ControlFrame }).body)[1]],
    })),
    /** Open for a handshake's time: the root may probe it before a new connection of its peer loses to it. */
    reportSettled: sendParent(({ context }) => ({ type: 'conn.settled', key: context.key })),
    /** The probe's pong came: this connection is alive (the root keeps it). */
    reportProbeAnswered: sendParent(({ context }) => ({ type: 'conn.probe.answered', key: context.key })),
    /** No pong within the probe deadline: the root moves the peer to its new connection. */
    reportProbeFailed: sendParent(({ context }) => ({ type: 'conn.probe.failed', key: context.key })),
    requestClose: emit(({ context }) => ({
      type: 'effect.close' as const,
      connId: context.connId!,
      reason: context.reason ?? Reasons.hungUp,
    })),
    reportEnded: sendParent(({ context }) => ({
      type: 'conn.ended',
      key: context.key,
      connId: context.connId,
      dialId: context.dialId,
      peer: context.peer,
      expectedPeer: context.expectedPeer,
      address: context.address,
      direction: context.direction,
      wasOpen: context.wasOpen,
      reason: context.reason ?? 'closed',
    })),
  },
  guards: {
    isOutbound: ({ context }) => context.direction === 'outbound',
    handshakeFailed: ({ context }) => context.hs?.output?.ok === false,
    handshakeDone: ({ context }) => context.hs?.output?.ok === true,
    peerMismatch: ({ context }) => {
      const output = context.hs?.output
      return output?.ok === true && context.expectedPeer !== undefined && output.peer !== context.expectedPeer
    },
    isHandshakeFrame: ({ event }) => (event as { protocol: string }).protocol === HANDSHAKE_PROTOCOL,
    isPing: ({ event }) => controlKind(event) === PING,
    isPong: ({ context, event }) => controlKind(event) === PONG && (event as { body: ControlFrame }).body[1] === context.pingSeq,
    /** A pong for a ping of ours, late or repeated (a probe's ping overtook the keep-alive's): harmless. */
    isStalePong: ({ context, event }) => {
      const seq = (event as { body: ControlFrame }).body?.[1]
      return controlKind(event) === PONG && seq >= 1 && seq <= context.pingSeq
    },
    isReady: ({ event }) => controlKind(event) === READY,
    /** Something was received during the keep-alive wait: the remote is alive, no ping yet. */
    heardDuringWait: ({ context }) => lastHeard(context) > context.quietFrom,
  },
}).createMachine({
  id: 'connection',
  context: ({ input }) => ({
    ...input,
    hs: null,
    peer: null,
    handshakeHash: null,
    reason: null,
    wasOpen: false,
    pingSeq: 0,
    openedAt: 0,
    quietFrom: 0,
    keepAliveHeardAt: null,
  }),
  initial: 'starting',
  on: {
    'io.conn.closed': { target: '.closed', actions: 'reasonFromEvent' },
  },
  states: {
    starting: {
      always: [{ guard: 'isOutbound', target: 'dialing' }, { target: 'handshaking' }],
    },
    dialing: {
      entry: 'requestDial',
      on: {
        'io.conn.opened': { target: 'handshaking', actions: 'bindConnection' },
        'io.dial.failed': { target: 'closed', actions: 'reasonFromEvent' },
        'conn.close': { target: 'closed', actions: ['reasonFromEvent', 'cancelDial'] },
      },
      after: { dialTimeout: { target: 'closed', actions: [{ type: 'setReason', params: Reasons.dialTimeout }, 'cancelDial'] } },
    },
    /**
     * Noise XX (XXpsk3 in a private network) with the identity payloads: the handshake chart,
     * `handshakeRegion` of handshake.machine.ts, one state per message. Here: its deadline,
     * and a frame of another protocol, an invalid frame or a close end it with their reason.
     */
    handshaking: {
      ...handshakeRegion,
      on: {
        'conn.frame': { target: 'closing', actions: [{ type: 'setReason', params: Reasons.protocolViolation }, 'dropHandshake'] },
        'io.conn.invalid': { target: 'closing', actions: ['reasonFromEvent', 'dropHandshake'] },
        'conn.close': { target: 'closing', actions: ['reasonFromEvent', 'dropHandshake'] },
      },
      after: { handshakeTimeout: { target: 'closing', actions: [{ type: 'setReason', params: Reasons.handshakeTimeout }, 'dropHandshake'] } },
    },
    /** Initiator: keys are installed; waiting for the responder's `ready` (key confirmation). */
    confirming: {
      on: {
        'conn.frame': [
          { guard: 'isReady', target: 'authenticating', actions: 'requestAcceptance' },
          { guard: 'isPing', actions: 'answerPing' },
          { target: 'closing', actions: { type: 'setReason', params: Reasons.protocolViolation } },
        ],
        'io.conn.invalid': { target: 'closing', actions: 'reasonFromEvent' },
        'conn.close': { target: 'closing', actions: 'reasonFromEvent' },
      },
      after: { handshakeTimeout: { target: 'closing', actions: { type: 'setReason', params: Reasons.handshakeTimeout } } },
    },
    /** Keys are installed; waiting for the root to accept the peer (or reject a duplicate). */
    authenticating: {
      on: {
        'conn.accepted': [
          { guard: 'isOutbound', target: 'open' },
          { target: 'open', actions: 'sendReady' },
        ],
        'conn.close': { target: 'closing', actions: 'reasonFromEvent' },
        'io.conn.invalid': { target: 'closing', actions: 'reasonFromEvent' },
        'conn.frame': [{ guard: 'isPing', actions: 'answerPing' }],
      },
    },
    open: {
      entry: 'markOpen',
      initial: 'idle',
      states: {
        /** Nothing to do while frames arrive; `keepAlive` with nothing received → ping. */
        idle: {
          entry: 'startQuietWait',
          after: {
            keepAlive: [
              { guard: 'heardDuringWait', target: 'idle', reenter: true },
              { target: 'awaitingPong', actions: 'sendPing' },
            ],
          },
        },
        awaitingPong: {
          on: { 'conn.frame': { guard: 'isPong', target: 'idle', actions: 'noteKeepAliveFrame' } },
          after: { pingTimeout: { target: '#connection.closing', actions: { type: 'setReason', params: Reasons.pingTimeout } } },
        },
        /** The root asked whether the remote is still there (a new connection of the same peer waits). */
        probing: {
          entry: 'sendPing',
          on: { 'conn.frame': { guard: 'isPong', target: 'idle', actions: ['noteKeepAliveFrame', 'reportProbeAnswered'] } },
          after: {
            probeTimeout: { target: '#connection.closing', actions: [{ type: 'setReason', params: Reasons.pingTimeout }, 'reportProbeFailed'] },
          },
        },
      },
      after: { settled: { actions: 'reportSettled' } },
      on: {
        'conn.probe': { target: '.probing' },
        'conn.frame': [
          { guard: 'isPing', actions: ['answerPing', 'noteKeepAliveFrame'] },
          { guard: 'isStalePong' },
          { target: 'closing', actions: { type: 'setReason', params: Reasons.protocolViolation } },
        ],
        'io.conn.invalid': { target: 'closing', actions: 'reasonFromEvent' },
        'conn.close': { target: 'closing', actions: 'reasonFromEvent' },
      },
    },
    closing: {
      entry: 'requestClose',
      on: { 'conn.close': {} },
      after: { closeTimeout: { target: 'closed' } },
    },
    closed: {
      type: 'final',
      entry: 'reportEnded',
    },
  },
})

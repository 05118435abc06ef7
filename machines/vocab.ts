/**
 * The vocabulary between the shell and the machines: inputs in, effects and swarm events out.
 *
 * Facts are `domain.pastTense`, commands in are `cmd.verb`, commands out are `effect.verb`.
 * The shell turns every socket, listener, timer and user call into one `Input` on the swarm's
 * queue; the root machine settles it and emits `Effect`s (performed by the shell, in order)
 * and `SwarmEvent`s (handed to the user, in order). Nothing else crosses the seam.
 * @module
 */
import type { Secret } from './lib/secret.js'

/** How a connection came to be. */
export type Direction = 'inbound' | 'outbound'

// ---------------------------------------------------------------------------------------------
// Inputs: facts from the shell, and commands from the user.

/** The listeners are up, at these full dialable addresses (with /p2p/<id>). */
export interface ListenerReady { type: 'io.listener.ready'; addresses: string[] }
/** A connection opened: inbound (no dialId) or the answer to `effect.dial` with that dialId. */
export interface ConnOpened { type: 'io.conn.opened'; connId: number; dialId?: number; remoteAddr: string }
/** A frame arrived, already decrypted, decoded and shape-checked by the shell. */
export interface ConnFrame { type: 'io.conn.frame'; connId: number; protocol: string; body: unknown }
/**
 * Frames of one protocol from several connections that were queued one after another, in queue
 * order, settled as one input. The shell groups only frames of a protocol that takes groups
 * (`ProtocolDefinition.grouped`), and only frames taken together from the head of the queue.
 */
export interface ConnFrames { type: 'io.conn.frames'; protocol: string; frames: ConnFrame[] }
/** A frame arrived that the shell could not accept (decode, decrypt, size, rate): `reason` is the code. */
export interface ConnInvalid { type: 'io.conn.invalid'; connId: number; reason: string }
/** A connection is gone (`byRemote`: the remote closed it or it broke). */
export interface ConnClosed { type: 'io.conn.closed'; connId: number; reason: string; byRemote: boolean }
/** The dial with this id failed before a connection opened. */
export interface DialFailed { type: 'io.dial.failed'; dialId: number; reason: string }

/** User: dial an address (parsed by the shell: `url` is ws://host:port or memory://name). */
export interface CmdDial { type: 'cmd.dial'; address: string; url: string; peer?: string }
/** User: hang up on a peer. */
export interface CmdHangUp { type: 'cmd.hangUp'; peer: string; reason?: string }
/** User: a command for one protocol (`event` is delivered to that protocol's actor). */
export interface CmdProtocol { type: 'cmd.protocol'; protocol: string; event: { type: string } & Record<string, unknown> }
/** Shell: the swarm is started (its protocols start now). The first input, always. */
export interface CmdStart { type: 'cmd.start' }
/** User: close the swarm gracefully. */
export interface CmdClose { type: 'cmd.close' }
/** The answer to `effect.call` (a protocol's user function ran; `error` if it threw or rejected). */
export interface CallDone { type: 'io.call.done'; protocol: string; callId: number; value?: unknown; error?: string }

export type Input =
  | ListenerReady | ConnOpened | ConnFrame | ConnFrames | ConnInvalid | ConnClosed | DialFailed
  | CmdStart | CmdDial | CmdHangUp | CmdProtocol | CmdClose | CallDone

// ---------------------------------------------------------------------------------------------
// Effects: what the shell performs. Each names the input that will answer it, if any.

/** Open a connection to `url`; answered by `io.conn.opened{dialId}` or `io.dial.failed{dialId}`. */
export interface DialEffect { type: 'effect.dial'; dialId: number; url: string }
/** Give up a dial (timed out or no longer wanted): abort it and release its socket. */
export interface CancelDialEffect { type: 'effect.cancelDial'; dialId: number }
/** Send one frame on a connection (`connId`) or to a peer's bound connection (`peer`). */
export interface SendEffect { type: 'effect.send'; connId?: number; peer?: string; protocol: string; body: unknown }
/** From now on encrypt/decrypt this connection's frames with these cipher states (sealed: see lib/secret.ts). */
export interface SecureEffect { type: 'effect.secure'; connId: number; keys: Secret<SessionKeys> }
/** Frames to `peer` go to this connection from now on (`connId` undefined: the peer is gone). */
export interface BindEffect { type: 'effect.bind'; peer: string; connId: number | undefined }
/** Close a connection with a reason the remote can read; answered by `io.conn.closed`. */
export interface CloseEffect { type: 'effect.close'; connId: number; reason: string }
/** Stop listening (the swarm is closing). */
export interface UnlistenEffect { type: 'effect.unlisten' }
/**
 * Run the protocol's user function `fn` (from `ProtocolDefinition.calls`) with `args`, sync or
 * async; answered by `io.call.done{protocol, callId}` through the queue (e.g. pubsub validators).
 */
export interface CallEffect { type: 'effect.call'; protocol: string; callId: number; fn: string; args: unknown }

/** The transport keys a handshake derived (a Noise CipherState: key and next nonce). */
export interface CipherKeys { k: Uint8Array | null; n: number }
/** The transport keys a handshake derived: `send` encrypts what this side sends. */
export interface SessionKeys { send: CipherKeys; recv: CipherKeys }

export type Effect = DialEffect | CancelDialEffect | SendEffect | SecureEffect | BindEffect | CloseEffect | UnlistenEffect | CallEffect

// ---------------------------------------------------------------------------------------------
// Swarm events: what the user takes from `for await (const event of swarm)`.

/** The swarm listens at these full dialable addresses. */
export interface SwarmListening { type: 'swarm.listening'; addresses: string[] }
/** A peer is connected (exactly once per peer until `peer.disconnected`). */
export interface PeerConnected { type: 'peer.connected'; peer: string; address: string; direction: Direction }
/** A peer is gone, with the reason (`swarm-closed`, `ping-timeout`, `connection-lost`, ...). */
export interface PeerDisconnected { type: 'peer.disconnected'; peer: string; reason: string }
/** A dial did not end in a connection. */
export interface DialFailedEvent { type: 'dial.failed'; address: string; reason: string; peer?: string }
/** The swarm is closed; the last event of the stream. */
export interface SwarmClosed { type: 'swarm.closed' }
/** Something went wrong that is not tied to one peer (a listener died, a protocol actor failed). */
export interface SwarmError { type: 'swarm.error'; code: string; message: string }
/**
 * An inbound connection was refused (a connection limit, another private network) or ended
 * before it authenticated (a failed or timed-out handshake); at most 10 a second are shown
 * (machines/refusals.machine.ts), the rest are summarised by `connection.refused.suppressed`.
 */
export interface ConnectionRefused { type: 'connection.refused'; address: string; reason: string }
/** Refusals not shown in the window that just ended (or at close): how many, per reason. */
export interface ConnectionRefusedSuppressed { type: 'connection.refused.suppressed'; count: number; reasons: Record<string, number> }
/** Any event a protocol outputs (`ping.rtt`, `pubsub.message`, `peer.discovered`, ...). */
export interface ProtocolEvent { type: string; [key: string]: unknown }

export type CoreSwarmEvent =
  | SwarmListening | PeerConnected | PeerDisconnected | DialFailedEvent | SwarmClosed | SwarmError
  | ConnectionRefused | ConnectionRefusedSuppressed

/** Close reasons the core uses (a peer reads them as the WebSocket close reason). */
export const Reasons = {
  swarmClosed: 'swarm-closed',
  duplicate: 'duplicate',
  peerIdMismatch: 'peer-id-mismatch',
  selfDial: 'self-dial',
  alreadyConnected: 'already-connected',
  dialTimeout: 'dial-timeout',
  handshakeTimeout: 'handshake-timeout',
  handshakeFailed: 'handshake-failed',
  privateNetwork: 'private-network',
  pingTimeout: 'ping-timeout',
  hungUp: 'hung-up',
  tooManyConnections: 'too-many-connections',
  tooManyPending: 'too-many-pending-connections',
  tooManyPerPeer: 'too-many-connections-per-peer',
  tooManyDials: 'too-many-pending-dials',
  tooManyPerIp: 'too-many-connections-per-ip',
  tooManyPendingPerIp: 'too-many-pending-connections-per-ip',
  connectionRateLimit: 'connection-rate-limit',
  protocolViolation: 'protocol-violation',
  invalidMessage: 'invalid-message',
} as const

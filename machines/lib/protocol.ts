/**
 * The protocol API: a protocol is an id plus a statechart, and users get exactly this API.
 *
 * The swarm spawns one actor per protocol (systemId `protocol:<id>`), like rust-libp2p's
 * NetworkBehaviour. That actor receives `FromSwarm` events (past-tense facts plus the user's
 * commands addressed to it) and answers only with:
 *  - `emit(toPeer(id, peer, body))`: send a frame to a connected peer (`effect.send`);
 *  - `emit({ type: 'my.event', ... })`: any event whose type does not start with `effect.`
 *    is handed to the user in order (`ping.rtt`, `pubsub.message`, ...);
 *  - `sendTo(swarmRef, dialRequest(address))` / `hangUpRequest(peer, reason)`: ask the root
 *    swarm machine to dial or to close a peer; the answer arrives as `peer.connected` or
 *    `dial.failed` (dials) and `peer.disconnected` (hang-ups).
 * What the protocol does with one peer can be a chart of its own, the `handler` (a peer chart,
 * lib/peer-chart.ts): stepped purely by the behaviour, one plain entry per peer, no actor each.
 * It never touches IO, clocks or Math.random: time comes from `inputTime(self)` and delays
 * from XState `after` (the shell's clock), randomness from the seed in its input.
 *
 * Peer input is validated before it reaches the machine: `parse` turns a frame body into the
 * protocol's message type or returns `undefined`, and then the connection is closed with
 * `invalid-message` (machines never throw on a stranger's bytes).
 * @module
 */
import type { AnyStateMachine, EmittedFrom, EventFromLogic } from 'xstate'
import type { Direction, SendEffect, CallEffect, ProtocolEvent } from '../vocab.js'
import type { CryptoSuite } from './crypto.js'
import type { PeerChart } from './peer-chart.js'
import type { Signer } from './signer.js'

/** A protocol as the swarm runs it. */
/** A user command of a protocol that declares none: any event with a string `type`. */
export type AnyCommand = { type: string } & Record<string, unknown>

/**
 * A protocol: id, statechart, and (types only) the events it outputs and the commands it takes.
 * `defineProtocol` infers `TId`, `TOut` and `TCommand` from the id and the machine's `setup`
 * types (`emitted` and `events`), so `createSwarm({ protocols })` can narrow them.
 */
export interface ProtocolDefinition<
  TMessage = unknown,
  TId extends string = string,
  TOut extends { type: string } = any,
  TCommand extends { type: string } = any,
> {
  /** Wire id, `/name/version` style, e.g. `/xswarm/ping/1`. */
  readonly id: TId
  /** The behaviour statechart (one actor per swarm). Its input is `ProtocolInput`. */
  readonly machine: AnyStateMachine
  /** Validate a peer's frame body; `undefined` rejects it (the connection closes). Default: accept. */
  readonly parse?: (body: unknown) => TMessage | undefined
  /**
   * Combine two parsed messages from one peer that arrived in one batch frame, `first` before
   * `next`, into one message the machine handles exactly as it would handle the two in turn;
   * `undefined` keeps them apart. Optional: it lets a batch of small frames cost the machine one
   * step instead of one per frame. `first` came from `parse` (or from an earlier merge) and is
   * the merger's to change.
   */
  readonly merge?: (first: TMessage, next: TMessage) => TMessage | undefined
  /**
   * The machine also takes `messages` {items: {peer, body}[]}: this protocol's frames from
   * several connections that were queued one after another, in queue order, to be handled in
   * one step exactly as the same `message`s in turn. Optional, like `merge`: it lets a burst of
   * frames from different peers cost the machine one step (and one round of sends) instead of
   * one per frame. Absent or false: every frame is a `message`.
   */
  readonly grouped?: boolean
  /** Protocol options, passed through to the machine's input as `options` (plain data). */
  readonly options?: unknown
  /**
   * User functions the machine may ask the shell to run with `emit(callRequest(...))`, e.g. a
   * message validator. The result comes back as a `call.done` event through the queue.
   */
  readonly calls?: Record<string, (args: any) => unknown>
  /**
   * The protocol's per-peer chart, if it has one (like rust-libp2p's ConnectionHandler): made
   * with `peerChart(machine, actions)` (lib/peer-chart.ts) and stepped by the behaviour, one
   * entry per peer in a Map of its context (no actor per peer). Declared here so `xswarm export`
   * draws it next to the behaviour and readers know it is the protocol's.
   */
  readonly handler?: PeerChart<any, any>
  /** Types only, never set: the user events this protocol outputs and the commands it takes. */
  readonly __types?: { out: TOut; command: TCommand }
}

/** The `type`s of the facts every protocol actor receives (not user commands). */
type FactType = FromSwarm['type']

/**
 * The user events among a machine's emitted events: effects dropped; a machine that declares
 * no literal event types (emitted `{ type: string }`) gives `ProtocolEvent`.
 */
export type UserEventsOf<TEmitted> = IsAny<TEmitted> extends true ? ProtocolEvent : TEmitted extends { type: infer T extends string }
  ? string extends T ? ProtocolEvent : T extends `effect.${string}` ? never : TEmitted
  : never

/** The user commands among a machine's events: facts from the swarm and xstate's own dropped. */
export type UserCommandsOf<TEvent> = IsAny<TEvent> extends true ? AnyCommand : TEvent extends { type: infer T extends string }
  ? string extends T ? AnyCommand : T extends FactType | `xstate.${string}` ? never : TEvent
  : never

/** The user events a protocol definition outputs (`ProtocolEvent` when it does not say). */
export type ProtocolOutputs<P> = P extends { __types?: { out: infer O } } ? UserEventsOf<O> : never
/** The user commands a protocol definition takes (any command when it does not say). */
export type ProtocolCommands<P> = P extends { __types?: { command: infer C } } ? UserCommandsOf<C> : never

type IsAny<T> = 0 extends 1 & T ? true : false

/** What every protocol actor gets as its input. */
export interface ProtocolInput<TOptions = unknown> {
  /** The local peer id. */
  peerId: string
  /** This protocol's id. */
  protocol: string
  /** 32 seed bytes for the protocol's own rng (see lib/rng.ts), derived from the swarm's seed. */
  seed: Uint8Array
  /** `ProtocolDefinition.options`. */
  options: TOptions
  /** The swarm's own dialable addresses (may be empty until listening; see `swarm.listening`). */
  addresses: string[]
  /** Pure crypto primitives (native where available): hashing, verification. */
  crypto: CryptoSuite
  /**
   * Signs with the swarm's identity key, domain-separated by this protocol's id (lib/signer.ts):
   * no protocol can produce another protocol's signatures or the handshake's identity binding.
   * `signer.verify` checks a signature of the same protocol on another node. The key itself
   * never enters a machine.
   */
  signer: Signer
  /** The swarm's ed25519 identity public key (32 bytes). */
  publicKey: Uint8Array
}

/** Facts and commands a protocol actor receives. `TCommand` are its user commands. */
export type FromSwarm<TMessage = unknown, TCommand extends { type: string } = never> =
  /** A peer connected (once per peer; duplicate connections are never shown). */
  | { type: 'peer.connected'; peer: string; direction: Direction; address: string }
  /** A connected peer is gone. */
  | { type: 'peer.disconnected'; peer: string; reason: string }
  /** A frame for this protocol from a connected peer, after `parse`. */
  | { type: 'message'; peer: string; body: TMessage }
  /** Frames for this protocol from several peers, in queue order (only if it is `grouped`). */
  | { type: 'messages'; items: { peer: string; body: TMessage }[] }
  /** A dial (anyone's) did not end in a connection. */
  | { type: 'dial.failed'; address: string; reason: string; peer?: string }
  /** The swarm listens at these addresses. */
  | { type: 'swarm.listening'; addresses: string[] }
  /** The swarm is closing: stop timers, send goodbyes now; connections close right after. */
  | { type: 'swarm.closing' }
  /** A user function asked for with `callRequest` finished (`error` if it threw or rejected). */
  | { type: 'call.done'; callId: number; value?: unknown; error?: string }
  | TCommand

/** A dial request for the root swarm machine (send it with `sendTo(({system}) => system.get('swarm'), ...)`). */
export interface DialRequest { type: 'proto.dial'; address: string }
/** A hang-up request for the root swarm machine. */
export interface HangUpRequest { type: 'proto.hangUp'; peer: string; reason: string }

/** `effect.send` of one frame of protocol `protocol` to a connected peer. */
export function toPeer(protocol: string, peer: string, body: unknown): SendEffect {
  return { type: 'effect.send', peer, protocol, body }
}

/** `effect.call`: ask the shell to run `ProtocolDefinition.calls[fn](args)`; `call.done{callId}` answers. */
export function callRequest(protocol: string, callId: number, fn: string, args: unknown): CallEffect {
  return { type: 'effect.call', protocol, callId, fn, args }
}

export function dialRequest(address: string): DialRequest {
  return { type: 'proto.dial', address }
}

export function hangUpRequest(peer: string, reason: string): HangUpRequest {
  return { type: 'proto.hangUp', peer, reason }
}

/** The systemId of a protocol's actor, for `system.get(protocolSystemId(id))`. */
export function protocolSystemId(id: string): string {
  return `protocol:${id}`
}

const PROTOCOL_ID = /^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)+$/

/**
 * Check a protocol definition at the boundary and return it, typed: the id as a literal, the
 * events the machine emits (`setup({ types: { emitted } })`, effects left out) as its outputs and
 * the events it accepts (`types: { events }`, facts left out) as its commands. Give the wire
 * message type through `parse`'s return type (or as the one type argument, which keeps the
 * outputs and commands untyped).
 */
export function defineProtocol<TMessage = unknown, const TId extends string = string, TMachine extends AnyStateMachine = AnyStateMachine>(
  def: ProtocolDefinition<TMessage, TId, any, any> & { machine: TMachine },
): ProtocolDefinition<TMessage, TId, UserEventsOf<EmittedFrom<TMachine>>, UserCommandsOf<EventFromLogic<TMachine>>> {
  if (typeof def !== 'object' || def === null) throw new TypeError('"protocol" expected an object')
  if (typeof def.id !== 'string' || !PROTOCOL_ID.test(def.id) || def.id.length > 256) {
    throw new RangeError(`"protocol.id" expected "/name/version" (at most 256 characters), got ${JSON.stringify(def.id)}`)
  }
  if (!def.machine || typeof (def.machine as { transition?: unknown }).transition !== 'function') {
    throw new TypeError(`"protocol.machine" of ${def.id} expected an XState machine`)
  }
  if (def.calls !== undefined && (typeof def.calls !== 'object' || Object.values(def.calls).some((f) => typeof f !== 'function'))) {
    throw new TypeError(`"protocol.calls" of ${def.id} expected an object of functions`)
  }
  if (def.handler !== undefined && (typeof def.handler !== 'object' || def.handler === null ||
      typeof (def.handler as { send?: unknown }).send !== 'function' || typeof def.handler.machine?.transition !== 'function')) {
    throw new TypeError(`"protocol.handler" of ${def.id} expected a peer chart (from peerChart(machine, actions))`)
  }
  if (def.parse !== undefined && typeof def.parse !== 'function') {
    throw new TypeError(`"protocol.parse" of ${def.id} expected a function`)
  }
  if (def.merge !== undefined && typeof def.merge !== 'function') {
    throw new TypeError(`"protocol.merge" of ${def.id} expected a function`)
  }
  if (def.grouped !== undefined && typeof def.grouped !== 'boolean') {
    throw new TypeError(`"protocol.grouped" of ${def.id} expected a boolean`)
  }
  return def as ProtocolDefinition<TMessage, TId, UserEventsOf<EmittedFrom<TMachine>>, UserCommandsOf<EventFromLogic<TMachine>>>
}

/**
 * Split a canonical dialable address (`ws(s)://host:port[/path]/p2p/<id>`, `memory://name/p2p/<id>`, or
 * without the /p2p part) into the transport url and the peer id; `undefined` if it is not of
 * that form. For addresses that came from peers (discovery), before dialing them.
 */
export function splitAddress(address: string): { url: string; peer?: string } | undefined {
  if (typeof address !== 'string' || address.length > 512) return undefined
  const m = /^((?:wss?:\/\/(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}(?:\/(?!p2p(?:\/|$))[A-Za-z0-9._~-]{1,64})*)|(?:memory:\/\/[A-Za-z0-9._-]+))(?:\/p2p\/([1-9A-HJ-NP-Za-km-z]{32,64}|[a-z2-7]{52}))?\/?$/.exec(address)
  if (!m) return undefined
  return m[2] ? { url: m[1], peer: m[2] } : { url: m[1] }
}

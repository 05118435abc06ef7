/**
 * The events a swarm hands out and the commands its protocols take, as types.
 *
 * `SwarmEvent` is a discriminated union of every built-in event with its fields, so
 * `switch (event.type)` narrows (`case 'peer.connected': event.peer` is a string).
 * `createSwarm({ protocols })` widens it with the events your protocols declare: the
 * `emitted` types of the machine given to `defineProtocol` (effects left out), and types
 * `swarm.command(id, event)` by each protocol's `events` (facts from the swarm left out). A
 * protocol whose machine declares no literal event types adds `ProtocolEvent` (any `type`),
 * which keeps code compiling but stops narrowing: declare `types: { emitted }` in `setup`.
 * @module
 */
import type { DiscoveryCommand, DiscoveryUserEvent } from '../machines/discovery/context.js'
import type { AnyCommand, ProtocolCommands, ProtocolOutputs } from '../machines/lib/protocol.js'
import type { PingCommand, PingRtt } from '../machines/protocols/ping.machine.js'
import type { PubsubCommand } from '../machines/pubsub/pubsub.machine.js'
import type { PubsubUserEvent } from '../machines/pubsub/state.js'
import type { CoreSwarmEvent } from '../machines/vocab.js'
import type { ActorsUserEvent } from '../machines/actors/context.js'

export type { DiscoveryCommand, DiscoveryUserEvent, PingCommand, PingRtt, PubsubCommand, PubsubUserEvent }

/** A watched actor stopped or became unreachable (once per watch); also what `watchActor` delivers to the watching actor. */
export type ActorDown = Extract<ActorsUserEvent, { type: 'actor.down' }>
/** A watched actor was restarted by its supervision (`restarts` so far). */
export type ActorRestarted = Extract<ActorsUserEvent, { type: 'actor.restarted' }>
/** A plain send that could not be delivered (a dead letter): `reason` is a failure code (README "Actors"). */
export type ActorUndelivered = Extract<ActorsUserEvent, { type: 'actor.undelivered' }>
/** A protocol actor that threw was started again (`error`: what it threw). */
export interface ProtocolRestarted { type: 'protocol.restarted'; protocol: string; restarts: number; error: string }

/** Events of the actor layer (README "Actors"), and `protocol.restarted`. */
export type ActorEvent = ActorDown | ActorRestarted | ActorUndelivered | ProtocolRestarted

/** Every built-in event a swarm hands out: core, ping, pubsub, discovery (and actors). */
export type SwarmEvent = CoreSwarmEvent | PingRtt | PubsubUserEvent | DiscoveryUserEvent | ActorEvent

/** The built-in event of one `type`, e.g. `SwarmEventOf<'pubsub.message'>`. */
export type SwarmEventOf<T extends SwarmEvent['type']> = Extract<SwarmEvent, { type: T }>

/** The commands of the built-in protocols, by protocol id (for `swarm.command`). */
export interface BuiltinCommands {
  '/xswarm/ping/1': PingCommand
  '/xswarm/pubsub/1': PubsubCommand
  '/xswarm/discovery/1': DiscoveryCommand
}

/** Events of a swarm running these user protocols: the built-ins plus what each declares. */
export type EventsOf<P extends readonly unknown[]> = SwarmEvent | ProtocolOutputs<P[number]>

/** Commands by protocol id of a swarm running these user protocols (built-ins included). */
export type CommandsOf<P extends readonly unknown[]> = string extends IdOf<P[number]>
  ? BuiltinCommands // protocols whose ids are not known to the compiler: the built-ins typed, the rest any command
  : Omit<BuiltinCommands, IdOf<P[number]>> & { [D in P[number] as IdOf<D>]: ProtocolCommands<D> }

type IdOf<D> = D extends { readonly id: infer I extends string } ? I : never

/** The command type `swarm.command(protocol, …)` takes for `protocol` (any command for an unknown id). */
export type CommandFor<C, P extends string> = P extends keyof C ? C[P] : AnyCommand

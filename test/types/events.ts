/**
 * Type test (compiled by test/unit/types.test.ts with tsc, never run): SwarmEvent narrows,
 * user protocols widen it with the events they declare, and `command()` is typed by protocol.
 * Each `@ts-expect-error` line must be an error, or tsc fails on the unused directive.
 */
import { emit, setup, type AnyActorRef } from 'xstate'
import { expectTypeOf } from 'vitest'
import {
  createSwarm, defineProtocol, toPeer, type FromSwarm, type ProtocolInput, type Swarm, type SwarmEvent, type SwarmEventOf,
  type PubsubUserEvent, type DiscoveryUserEvent, type PeerConnected, type PingRtt, type ProtocolEvent,
  type ActorDown, type ActorRestarted, type ActorUndelivered, type ActorEvent, watchActor, unwatchActor,
} from '../../src/index.js'

declare const swarm: Awaited<ReturnType<typeof createSwarm<[]>>>

// --- built-in events narrow by `type` ---
declare const e: SwarmEvent
switch (e.type) {
  case 'peer.connected':
    expectTypeOf(e.peer).toEqualTypeOf<string>()
    expectTypeOf(e.direction).toEqualTypeOf<'inbound' | 'outbound'>()
    break
  case 'pubsub.message':
    expectTypeOf(e.data).toEqualTypeOf<Uint8Array>()
    expectTypeOf(e.from).toEqualTypeOf<string>()
    break
  case 'dial.failed':
    expectTypeOf(e.reason).toEqualTypeOf<string>()
    expectTypeOf(e.peer).toEqualTypeOf<string | undefined>()
    break
  case 'discovery.peer.found':
    expectTypeOf(e.addresses).toEqualTypeOf<string[]>()
    break
  case 'ping.rtt':
    expectTypeOf(e.rtt).toEqualTypeOf<number>()
    break
  case 'actor.down':
    expectTypeOf(e.address).toEqualTypeOf<string>()
    expectTypeOf(e.reason).toEqualTypeOf<string>()
    break
  case 'actor.restarted':
    expectTypeOf(e.restarts).toEqualTypeOf<number>()
    break
  case 'actor.undelivered':
    expectTypeOf(e.from).toEqualTypeOf<string>()
    expectTypeOf(e.reason).toEqualTypeOf<string>()
    break
  case 'protocol.restarted':
    expectTypeOf(e.protocol).toEqualTypeOf<string>()
    expectTypeOf(e.error).toEqualTypeOf<string>()
    break
}
// @ts-expect-error: no built-in event has this type
if (e.type === 'no.such.event') void 0
expectTypeOf<SwarmEventOf<'peer.connected'>>().toEqualTypeOf<PeerConnected>()
expectTypeOf<Extract<SwarmEvent, { type: 'ping.rtt' }>>().toEqualTypeOf<PingRtt>()
expectTypeOf<PubsubUserEvent>().toMatchTypeOf<SwarmEvent>()
expectTypeOf<DiscoveryUserEvent>().toMatchTypeOf<SwarmEvent>()
// every actor-layer event a swarm hands out is in the union, with its fields
expectTypeOf<SwarmEventOf<'actor.down'>>().toEqualTypeOf<ActorDown>()
expectTypeOf<ActorDown>().toEqualTypeOf<{ type: 'actor.down'; address: string; reason: string }>()
expectTypeOf<ActorRestarted>().toEqualTypeOf<{ type: 'actor.restarted'; address: string; restarts: number }>()
expectTypeOf<ActorUndelivered>().toEqualTypeOf<{ type: 'actor.undelivered'; address: string; from: string; reason: string }>()
expectTypeOf<ActorEvent>().toMatchTypeOf<SwarmEvent>()
// @ts-expect-error: the layer's internal answers (actors.*) are never handed out
expectTypeOf<SwarmEventOf<'actors.answer'>>().toEqualTypeOf<ActorDown>()

// --- watchActor in a machine: the target from context, actor.down among its events ---
const watching = setup({
  types: { context: {} as { target: AnyActorRef }, events: {} as ActorDown | ActorRestarted },
  actions: { watchIt: watchActor(({ context }) => context.target), forget: unwatchActor(({ context }) => context.target) },
}).createMachine({
  context: ({ self }) => ({ target: self }),
  entry: 'watchIt',
  on: { 'actor.down': { actions: [unwatchActor('ws://h:1/p2p/x/actor/y'), 'forget'] } },
})
void watching

// --- a swarm without user protocols: iterating gives SwarmEvent; built-in commands are typed ---
async function consume(): Promise<void> {
  for await (const event of swarm) {
    expectTypeOf(event).toEqualTypeOf<SwarmEvent>()
    if (event.type === 'peer.disconnected') expectTypeOf(event.reason).toEqualTypeOf<string>()
  }
}
void consume
swarm.command('/xswarm/ping/1', { type: 'ping.send', peer: 'x' })
swarm.command('/xswarm/discovery/1', { type: 'discovery.protect', peer: 'x', tag: 'mine' })
// @ts-expect-error: ping takes ping.send, with a peer
swarm.command('/xswarm/ping/1', { type: 'ping.send' })
// @ts-expect-error: not a pubsub command
swarm.command('/xswarm/pubsub/1', { type: 'pubsub.nonsense', topic: 't' })
swarm.command('/some/other/1', { type: 'anything', goes: 1 }) // an id the compiler does not know: any command

// --- a user protocol that declares its events and commands widens both ---
const ID = '/example/hello/1'
type Say = { type: 'hello.say'; peer: string; text: string }
type Heard = { type: 'hello.heard'; from: string; text: string }
const hello = setup({
  types: { events: {} as FromSwarm<{ text: string }, Say>, input: {} as ProtocolInput, emitted: {} as Heard | ReturnType<typeof toPeer> },
}).createMachine({
  on: {
    'hello.say': { actions: emit(({ event }) => toPeer(ID, event.peer, { text: event.text })) },
    message: { actions: emit(({ event }) => ({ type: 'hello.heard' as const, from: event.peer, text: event.body.text })) },
  },
})
const protocol = defineProtocol({ id: ID, machine: hello, parse: (b): { text: string } | undefined => (typeof b === 'object' ? (b as { text: string }) : undefined) })

async function userProtocol(): Promise<void> {
  const s = await createSwarm({ protocols: [protocol] })
  for await (const event of s) {
    if (event.type === 'hello.heard') expectTypeOf(event.text).toEqualTypeOf<string>()
    if (event.type === 'peer.connected') expectTypeOf(event.peer).toEqualTypeOf<string>()
  }
  s.command(ID, { type: 'hello.say', peer: 'p', text: 'hi' })
  // @ts-expect-error: hello.say needs text
  s.command(ID, { type: 'hello.say', peer: 'p' })
  s.command('/xswarm/pubsub/1', { type: 'pubsub.subscribe', topic: 't' })
  const plain: Swarm = s // any typed swarm is a Swarm
  void plain
}
void userProtocol

// --- a protocol whose machine declares no event types: compiles, adds ProtocolEvent ---
const loose = defineProtocol({ id: '/loose/1', machine: setup({}).createMachine({}) })
async function looseProtocol(): Promise<void> {
  const s = await createSwarm({ protocols: [loose] })
  for await (const event of s) {
    expectTypeOf(event).toEqualTypeOf<SwarmEvent | ProtocolEvent>()
    if (event.type === 'loose.thing') void event
  }
}
void looseProtocol

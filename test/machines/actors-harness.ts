/**
 * The actors protocol machine alone, for its tests: started with a SimulatedClock for its timers,
 * collecting the frames, calls and events it emits, and the commands it sends to a stand-in for
 * the discovery protocol. Peer ids are 44-character base58 strings so that addresses parse.
 * @module
 */
import { createActor, fromTransition, SimulatedClock } from 'xstate'
import { actorsMachine, ACTORS_ID } from '../../machines/actors/actors.machine.js'
import { DEFAULT_ACTOR_LIMITS, DEFAULT_ACTOR_TIMEOUTS, type ActorLimits, type ActorTimeouts } from '../../machines/actors/options.js'
import { encodeMessage, parseActorFrame, type ActorMessage } from '../../machines/actors/wire.js'
import { nobleSuite } from '../../machines/lib/crypto-noble.js'
import { bindRuntime } from '../../machines/lib/runtime.js'
import { protocolSystemId } from '../../machines/lib/protocol.js'
import { createSignerIssuer } from '../../machines/lib/signer.js'

export type Ev = { type: string; [k: string]: unknown }
export const ME = 'M'.repeat(44)
export const B = 'B'.repeat(44)
export const C = 'C'.repeat(44)
export const nodeOf = (p: string) => `memory://${p.slice(0, 4).toLowerCase()}/p2p/${p}`
export const addr = (p: string, name: string) => `${nodeOf(p)}/actor/${name}`

/** The machine with these limits and timeouts over the defaults, started. */
export function start(limits: Partial<ActorLimits> = {}, timeouts: Partial<ActorTimeouts> = {}) {
  const clock = new SimulatedClock()
  const out: Ev[] = []
  const actor = createActor(actorsMachine, {
    clock,
    input: {
      peerId: ME, protocol: ACTORS_ID, seed: new Uint8Array(32), addresses: [nodeOf(ME)],
      options: { limits: { ...DEFAULT_ACTOR_LIMITS, ...limits }, timeouts: { ...DEFAULT_ACTOR_TIMEOUTS, ...timeouts }, offered: [] },
      crypto: nobleSuite, signer: createSignerIssuer(nobleSuite, new Uint8Array(32)).issue(ACTORS_ID), publicKey: new Uint8Array(32),
    },
  })
  bindRuntime(actor, { sink: () => {}, now: () => clock.now() })
  actor.on('*', (e) => { out.push(e as unknown as Ev) })
  // A stand-in for the discovery protocol in the same system: it keeps the commands it is sent.
  const toDiscovery: Ev[] = []
  const discovery = createActor(fromTransition((s: null, e: Ev) => { toDiscovery.push(e); return s }, null), { parent: actor, systemId: protocolSystemId('/xswarm/discovery/1') } as never)
  discovery.start()
  actor.start()
  const send = (e: Ev) => actor.send(e as never)
  return {
    actor, send, clock,
    drain: () => out.splice(0),
    /** The commands the discovery protocol was sent since the last call (`discovery.protect`, ...). */
    discoveryCommands: () => toDiscovery.splice(0),
    /** Frames sent to `peer`, decoded back to messages. */
    framesTo: (events: Ev[], peer: string) => events.filter((e) => e.type === 'effect.send' && e.peer === peer).flatMap((e) => parseActorFrame(e.body, DEFAULT_ACTOR_LIMITS)!),
    from: (peer: string, ...msgs: ActorMessage[]) => send({ type: 'message', peer, body: parseActorFrame(msgs.map(encodeMessage), DEFAULT_ACTOR_LIMITS) }),
    connect: (peer: string) => send({ type: 'peer.connected', peer, direction: 'outbound', address: nodeOf(peer) }),
  }
}

/** An actor event envelope (`seq` > 0: at least once; `from` `~a<n>`: an ask's reply slot). */
export const msg = (to: string, from: string, seq = 0, epoch = 0, event: Ev = { type: 'hi' }): ActorMessage =>
  ({ k: 'msg', to, from, event, refs: [], trace: 't', seq, epoch })

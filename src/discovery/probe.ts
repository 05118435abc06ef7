/**
 * A one-node driver for the discovery machine: the swarm's side of the protocol API, recorded.
 *
 * Tests (and examples) feed it FromSwarm facts and user commands and read back what the
 * machine asked for: frames (`effect.send`), user events, and the `proto.dial` /
 * `proto.hangUp` requests it sent to the actor with systemId `swarm`. Time is an xstate
 * `SimulatedClock`, also used as the input time (`inputTime(self)`), so `after` timers and
 * backoff deadlines line up.
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { createActor, fromTransition, SimulatedClock, type Actor, type AnyActorRef } from 'xstate'
import { discoveryMachine, discoveryProtocol, DISCOVERY_ID } from '../../machines/discovery/discovery.machine.js'
import type { DiscoveryContext, DiscoveryEvent } from '../../machines/discovery/context.js'
import { keyToPeerId } from '../../machines/discovery/kbucket.js'
import type { DiscoveryOptions } from '../../machines/discovery/options.js'
import type { CryptoSuite } from '../../machines/lib/crypto.js'
import { protocolSystemId, type ProtocolInput } from '../../machines/lib/protocol.js'
import { bindRuntime, spawnTracked } from '../../machines/lib/runtime.js'
import type { Signer } from '../../machines/lib/signer.js'

/** A deterministic peer id (base58 of sha256(label)) for tests and simulations. */
export function simPeerId(label: string): string {
  return keyToPeerId(sha256(new TextEncoder().encode(label)))
}

/** Discovery never signs: a signer that refuses. */
const NO_SIGNER: Signer = {
  protocol: DISCOVERY_ID,
  publicKey: new Uint8Array(32),
  sign: () => { throw new Error('a simulated discovery node does not sign') },
  verify: () => false,
}

/** A protocol input for a discovery actor that never needs crypto (discovery does not sign). */
export function simInput(peerId: string, addresses: string[], options: DiscoveryOptions, seed: Uint8Array): ProtocolInput<DiscoveryOptions> {
  return {
    peerId, protocol: DISCOVERY_ID, seed, addresses,
    options: discoveryProtocol(options).options as DiscoveryOptions,
    crypto: {} as CryptoSuite, signer: NO_SIGNER, publicKey: new Uint8Array(32),
  }
}

type Recorded = { type: string; [key: string]: unknown }

export class DiscoveryProbe {
  readonly clock = new SimulatedClock()
  readonly peerId: string
  readonly address: string
  /** `proto.dial` / `proto.hangUp` requests, in order. */
  readonly requests: Recorded[] = []
  /** Everything the machine emitted (frames and user events), in order. */
  readonly emitted: Recorded[] = []
  readonly root: AnyActorRef
  readonly actor: Actor<typeof discoveryMachine>

  constructor(options: DiscoveryOptions = {}, init: { label?: string; seed?: number } = {}) {
    this.peerId = simPeerId(init.label ?? 'probe')
    this.address = `memory://probe/p2p/${this.peerId}`
    this.root = createActor(fromTransition((s: null, e: Recorded) => { this.requests.push(e); return s }, null), {
      clock: this.clock, systemId: 'swarm',
    })
    bindRuntime(this.root, { sink: (e) => this.emitted.push(e as Recorded), now: () => this.clock.now() })
    this.root.start()
    const seed = sha256(new TextEncoder().encode(`probe-seed/${init.seed ?? 1}`))
    this.actor = spawnTracked(this.root, discoveryMachine, {
      id: 'discovery', systemId: protocolSystemId(DISCOVERY_ID), input: simInput(this.peerId, [this.address], options, seed),
    })
  }

  send(event: DiscoveryEvent | Recorded): void {
    this.actor.send(event as DiscoveryEvent)
  }

  /** Advance simulated time in steps of at most `step` ms (timers fire at most `step` late). */
  advance(ms: number, step = 10): void {
    const end = this.clock.now() + ms
    while (this.clock.now() < end) this.clock.set(Math.min(end, this.clock.now() + step))
  }

  get context(): DiscoveryContext {
    return this.actor.getSnapshot().context
  }

  /** Connect a peer (as the swarm would report it). */
  connect(peer: string, direction: 'inbound' | 'outbound' = 'inbound', address = `memory://${peer.slice(0, 8)}/p2p/${peer}`): void {
    this.send({ type: 'peer.connected', peer, direction, address: direction === 'outbound' ? address : 'memory://remote' })
  }

  /** Frame bodies sent, optionally only those to `peer`. */
  frames(peer?: string): Array<{ peer: string; body: any }> {
    return this.emitted
      .filter((e) => e.type === 'effect.send' && (peer === undefined || e.peer === peer))
      .map((e) => ({ peer: e.peer as string, body: e.body }))
  }

  events(type: string): Recorded[] {
    return this.emitted.filter((e) => e.type === type)
  }

  dials(): string[] {
    return this.requests.filter((r) => r.type === 'proto.dial').map((r) => r.address as string)
  }

  hangUps(): Array<{ peer: string; reason: string }> {
    return this.requests.filter((r) => r.type === 'proto.hangUp').map((r) => ({ peer: r.peer as string, reason: r.reason as string }))
  }

  /** Forget what was recorded so far. */
  clear(): void {
    this.requests.length = 0
    this.emitted.length = 0
  }

  stop(): void {
    this.root.stop()
  }
}

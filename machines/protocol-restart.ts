/**
 * Protocol actors that throw are restarted, like supervised user actors (README "Actors").
 *
 * A protocol actor that throws is stopped by XState, and its failure reaches the root as
 * `xstate.error.actor.protocol:<id>`. The root starts a fresh actor of the same protocol (a
 * new seed, the same options) and rebuilds what a new actor needs to know from the root's own
 * state: its addresses (`swarm.listening`) and every connected peer (`peer.connected`), then
 * says so with `protocol.restarted { protocol, restarts, error }`. Past `MAX_RESTARTS` within
 * `RESTART_WINDOW_MS` it stays down: `swarm.error { code: 'protocol-failed', protocol, final:
 * true }`, and the shell refuses commands to it with that code instead of dropping them.
 * @module
 */
import type { AnyActorRef } from 'xstate'
import { protocolSystemId, type ProtocolDefinition, type ProtocolInput } from './lib/protocol.js'
import { drbgBytes } from './lib/rng.js'
import { inputTime, spawnTracked } from './lib/runtime.js'
import { unseal } from './lib/secret.js'
import type { Signer } from './lib/signer.js'
import type { SwarmContext } from './swarm/registry.js'

/** Restarts allowed per protocol within the window (Erlang's supervisor intensity and period). */
export const MAX_RESTARTS = 3
export const RESTART_WINDOW_MS = 60_000

/** Start (or start again) the actor of one protocol; the root keeps its ref. */
export function startProtocol(context: SwarmContext, self: AnyActorRef, def: ProtocolDefinition): AnyActorRef {
  const input: ProtocolInput = {
    peerId: context.peerId,
    protocol: def.id,
    seed: drbgBytes(unseal(context.drbg), 32),
    options: def.options,
    addresses: context.addresses,
    crypto: context.suite,
    signer: signerOf(context, def.id),
    publicKey: context.identityKey,
  }
  const id = protocolSystemId(def.id)
  const ref = spawnTracked(self, def.machine, { id, systemId: id, input })
  context.protocolRefs.set(def.id, ref)
  return ref
}

/** The protocol's signer: issued at its first start, the same one for its restarts. */
function signerOf(context: SwarmContext, protocol: string): Signer {
  let signer = context.protocolSigners.get(protocol)
  if (!signer) {
    signer = context.signers.issue(protocol)
    context.protocolSigners.set(protocol, signer)
  }
  return signer
}

type Enqueue = { emit(event: { type: string } & Record<string, unknown>): void; sendTo(ref: AnyActorRef, event: { type: string }): void }

/** The protocol actor `systemId` threw `message`: restart it within the budget, or give it up. */
export function restartProtocol(context: SwarmContext, self: AnyActorRef, enqueue: Enqueue, systemId: string, message: string): void {
  const def = context.protocols.find((d) => protocolSystemId(d.id) === systemId)
  const failed = (final: boolean) => enqueue.emit({ type: 'swarm.error', code: 'protocol-failed', message: `${systemId}: ${message}`, ...(def ? { protocol: def.id } : {}), ...(final ? { final } : {}) })
  if (!def) return failed(false)
  const now = inputTime(self)
  const times = (context.protocolRestarts.get(def.id) ?? []).filter((t) => t > now - RESTART_WINDOW_MS)
  if (times.length >= MAX_RESTARTS) {
    context.protocolRefs.delete(def.id)
    return failed(true)
  }
  times.push(now)
  context.protocolRestarts.set(def.id, times)
  failed(false)
  const ref = startProtocol(context, self, def)
  if (context.addresses.length > 0) enqueue.sendTo(ref, { type: 'swarm.listening', addresses: context.addresses } as never)
  for (const [peer, rec] of context.peers) enqueue.sendTo(ref, { type: 'peer.connected', peer, direction: rec.direction, address: rec.address } as never)
  enqueue.emit({ type: 'protocol.restarted', protocol: def.id, restarts: times.length, error: message })
}

/**
 * A pubsub protocol actor alone, for the model tests of its charts: real ed25519 keys derived
 * from a label, a SimulatedClock, the runtime bound (input time = the clock), started.
 * @module
 */
import { createActor, SimulatedClock, type AnyActorRef } from 'xstate'
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { base58 } from '@scure/base'
import { nobleSuite } from '../../machines/lib/crypto-noble.js'
import { bindRuntime } from '../../machines/lib/runtime.js'
import { createSignerIssuer } from '../../machines/lib/signer.js'
import { pubsubProtocol, PUBSUB_ID, type PubsubProtocolOptions } from '../../machines/pubsub/pubsub.machine.js'

export interface TestKey { peerId: string; publicKey: Uint8Array; secretKey: Uint8Array }

/** A key pair and its peer id, the same for the same label. */
export function testKey(label: string): TestKey {
  const secretKey = sha256(new TextEncoder().encode(label))
  const publicKey = ed25519.getPublicKey(secretKey)
  return { peerId: base58.encode(sha256(publicKey)), publicKey, secretKey }
}

/** A started pubsub actor with these options, as `me`, on its own simulated clock; `seed`: its rng's (default all zeros). */
export function startPubsub(options: PubsubProtocolOptions, me: TestKey, seed: Uint8Array = new Uint8Array(32)): { actor: AnyActorRef; clock: SimulatedClock } {
  const clock = new SimulatedClock()
  const protocol = pubsubProtocol(options)
  const actor = createActor(protocol.machine, {
    clock,
    input: {
      peerId: me.peerId, protocol: PUBSUB_ID, seed, options: protocol.options, addresses: [],
      crypto: nobleSuite, publicKey: me.publicKey, signer: createSignerIssuer(nobleSuite, me.secretKey).issue(PUBSUB_ID),
    },
  } as never)
  bindRuntime(actor, { sink: () => {}, now: () => clock.now() })
  actor.start()
  return { actor, clock }
}

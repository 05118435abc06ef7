/**
 * Each protocol signs only in its own domain: a user protocol's signer cannot produce a pubsub
 * signature or the handshake's identity binding (machines/lib/signer.ts).
 *
 * Alone: signatures of one protocol never verify for another or as the binding, and the issuer
 * hands out one signer per protocol and none after the swarm started its protocols. In a
 * simulated network: a user protocol on A signs a pubsub message "by A" with its own signer and
 * sends it to B's pubsub; B never delivers it, while A's real message (sent after it on the same
 * connection) arrives.
 */
import { describe, expect, it } from 'vitest'
import { emit, setup, type AnyActorRef } from 'xstate'
import { IDENTITY_BINDING_PREFIX, identityBindingMessage } from '../../machines/handshake.machine.js'
import { nobleSuite } from '../../machines/lib/crypto-noble.js'
import { defineProtocol, toPeer, type ProtocolInput } from '../../machines/lib/protocol.js'
import { createSignerIssuer, PROTOCOL_SIGNATURE_DOMAIN, verifyProtocolSignature, type Signer } from '../../machines/lib/signer.js'
import { PUBSUB_ID, signedBytes } from '../../machines/pubsub/wire.js'
import { createSimulation } from '../../src/testing/simulation.js'
import { connectSim, createSimTestSwarm, eventsOf, useSwarmCleanup } from '../helpers/swarm-test.js'

useSwarmCleanup()

const suite = nobleSuite
const secretKey = new Uint8Array(32).fill(3)
const publicKey = suite.ed25519PublicKey(secretKey)
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)

describe('protocol signers', () => {
  it('a signature of one protocol verifies for that protocol only, never for another or as the identity binding', () => {
    const issuer = createSignerIssuer(suite, secretKey)
    const user = issuer.issue('/user/evil/1')
    const pubsub = issuer.issue(PUBSUB_ID)
    const message = bytes('the same bytes')
    const signature = user.sign(message)
    expect(user.verify(signature, message, publicKey)).toBe(true)
    expect(verifyProtocolSignature(suite, '/user/evil/1', signature, message, publicKey)).toBe(true)
    expect(pubsub.verify(signature, message, publicKey)).toBe(false)
    expect(suite.ed25519Verify(signature, message, publicKey)).toBe(false) // not a raw signature either
    // The identity binding: whatever a protocol signs, it is not `prefix ‖ static key` under the identity key.
    const staticKey = suite.x25519PublicKey(new Uint8Array(32).fill(9))
    const forged = user.sign(identityBindingMessage(staticKey))
    expect(suite.ed25519Verify(forged, identityBindingMessage(staticKey), publicKey)).toBe(false)
    // Nor can a protocol id be chosen to make its signed bytes start like the binding's: the
    // domain prefix (before any id byte) already differs from the binding's prefix.
    expect(PROTOCOL_SIGNATURE_DOMAIN.findIndex((b, i) => b !== IDENTITY_BINDING_PREFIX[i])).toBeLessThan(IDENTITY_BINDING_PREFIX.length)
    // Two ids whose concatenation with the message is the same bytes still sign differently.
    const a = issuer.issue('/a/1')
    expect(verifyProtocolSignature(suite, '/a/1x', a.sign(bytes('y')), bytes('y'), publicKey)).toBe(false)
    expect(verifyProtocolSignature(suite, '/a/1', a.sign(bytes('xy')), bytes('xy'), publicKey)).toBe(true)
    expect(verifyProtocolSignature(suite, '/a/1x', a.sign(bytes('xy')), bytes('y'), publicKey)).toBe(false)
  })

  it('the issuer gives one signer per protocol, none after it is closed, and prints no key', () => {
    const issuer = createSignerIssuer(suite, secretKey)
    const signer = issuer.issue('/user/a/1')
    expect(() => issuer.issue('/user/a/1')).toThrow(/already issued/)
    issuer.close()
    expect(() => issuer.issue(PUBSUB_ID)).toThrow(/refused/)
    expect(JSON.stringify({ signer, issuer })).toBe('{"signer":"[signer /user/a/1]","issuer":"[signer issuer]"}')
  })

  it('a user protocol cannot sign a pubsub message that a peer delivers; the swarm\'s issuer is closed after start', async () => {
    let evilSigner: Signer | undefined
    const EVIL = '/user/evil/1'
    // A protocol that signs a pubsub message authored by its own node with its own signer and sends it to pubsub.
    const evil = defineProtocol({
      id: EVIL,
      machine: setup({
        types: { context: {} as { signer: Signer; self: string }, input: {} as ProtocolInput },
        actions: {
          forge: emit(({ context, event }) => {
            const { peer, n } = event as unknown as { peer: string; n: number }
            const data = bytes('forged')
            const { buffer, signedLength } = signedBytes(context.self, n, 'chat', data)
            const s = context.signer.sign(buffer.subarray(0, signedLength))
            return toPeer(PUBSUB_ID, peer, { msg: [{ f: context.self, k: context.signer.publicKey, n, t: 'chat', d: data, s }] })
          }),
        },
      }).createMachine({
        context: ({ input }) => { evilSigner = input.signer; return { signer: input.signer, self: input.peerId } },
        on: { 'evil.forge': { actions: 'forge' } },
      }),
    })
    let root: AnyActorRef | undefined
    const sim = createSimulation()
    const a = await createSimTestSwarm(sim, {
      seed: 1, protocols: [evil],
      inspect: (ev) => { if ((ev.actorRef as unknown as { systemId?: string }).systemId === 'swarm') root ??= ev.actorRef as AnyActorRef },
    })
    const b = await createSimTestSwarm(sim, { seed: 2 })
    await connectSim(sim, a, b)
    for (const s of [a, b]) s.subscribe('chat')
    const seen = (s: typeof a) => eventsOf(s).some((e) => e.type === 'pubsub.peer.subscribed')
    expect((await sim.run({ until: () => seen(a) && seen(b), forMs: 5000 })).satisfied).toBe(true)

    expect(evilSigner?.protocol).toBe(EVIL)
    // What the user protocol can reach through the root's context refuses to issue pubsub's signer.
    const issuer = (root!.getSnapshot() as { context: { signers: { issue: (id: string) => Signer } } }).context.signers
    expect(() => issuer.issue(PUBSUB_ID)).toThrow(/refused/)

    a.command(EVIL, { type: 'evil.forge', peer: b.peerId, n: 424242 })
    a.publish('chat', bytes('real'))
    const messages = () => eventsOf(b).filter((e) => e.type === 'pubsub.message') as unknown as { from: string; data: Uint8Array }[]
    expect((await sim.run({ until: () => messages().length > 0, forMs: 5000 })).satisfied).toBe(true)
    await sim.run({ forMs: 2000 }) // any later copy would have arrived by now (virtual time)
    expect(messages().map((m) => new TextDecoder().decode(m.data))).toEqual(['real'])
    expect(messages()[0].from).toBe(a.peerId)
  })
})

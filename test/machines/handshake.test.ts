/**
 * The handshake chart (the `handshaking` region of the connection machine) with real crypto
 * (`nobleSuite` and `nativeSuite`): two connection actors exchange their handshake frames
 * through recording parents, and each ends with the keys handed to the shell (and the peer it
 * proved) or in `closing` with a reason. Success, tampering, private-network mismatches and a
 * bad identity binding each end with the documented outcome; nothing throws. The pure steps
 * the region runs (`createHandshakeContext`, `writeStep`, `readStep`) give the same frames and
 * outputs.
 * @module
 */
import { describe, expect, it } from 'vitest'
import { createActor, setup, type Actor } from 'xstate'
import { connectionMachine, type ConnectionInput } from '../../machines/connection.machine.js'
import {
  createHandshakeContext, HANDSHAKE_PROTOCOL, handshakeRegion, identityBindingMessage, readStep, writeStep, type HandshakeContext, type HandshakeInput, type HandshakeOutput,
} from '../../machines/handshake.machine.js'
import { DEFAULT_TIMEOUTS } from '../../machines/lib/limits.js'
import type { SessionKeys } from '../../machines/vocab.js'
import { nobleSuite } from '../../machines/lib/crypto-noble.js'
import type { CryptoSuite } from '../../machines/lib/crypto.js'
import { peerIdFromPublicKey } from '../../machines/lib/peer-id.js'
import { createDrbg, drbgBytes } from '../../machines/lib/rng.js'
import { nativeSuite } from '../../src/crypto/native.js'
import { seal, unseal, type Secret } from '../../machines/lib/secret.js'

function seeded(seed: number): (n: number) => Uint8Array {
  const key = new Uint8Array(32)
  new DataView(key.buffer).setUint32(0, seed)
  const drbg = createDrbg(key)
  return (n) => drbgBytes(drbg, n)
}

interface Party { input: HandshakeInput; peerId: string }

/** A node's handshake input, from a seed. `signStatic` overrides the key the identity signs. */
function party(suite: CryptoSuite, seed: number, initiator: boolean, opts: { psk?: Uint8Array; signStatic?: Uint8Array; expectedPeer?: string } = {}): Party {
  const random = seeded(seed)
  const secret = random(32)
  const identityKey = suite.ed25519PublicKey(secret)
  const privateKey = random(32)
  const staticKey = { privateKey, publicKey: suite.x25519PublicKey(privateKey) }
  const identitySignature = suite.ed25519Sign(secret, identityBindingMessage(opts.signStatic ?? staticKey.publicKey))
  return {
    peerId: peerIdFromPublicKey(suite.sha256, identityKey),
    input: {
      suite, initiator, identityKey,
      keys: seal({ staticKey, ephemeralPrivateKey: random(32), identitySignature, ...(opts.psk ? { psk: opts.psk } : {}) }),
      ...(opts.expectedPeer ? { expectedPeer: opts.expectedPeer } : {}),
    },
  }
}

/** What one side of a handshake ended with, as its connection actor shows it. */
type Outcome = { ok: true; peer: string; handshakeHash: Uint8Array; keys: Secret<SessionKeys> } | { ok: false; reason: string }

interface Side { actor: Actor<typeof connectionMachine>; effects: Ev[]; toParent: Ev[] }
type Ev = { type: string; [k: string]: any }

/**
 * A real connection actor (real handshake steps) under a recording parent, its socket open.
 * It gets its own copy of the keys: a finished handshake wipes its ephemeral key.
 */
function start(shared: HandshakeInput): Side {
  const keys = unseal(shared.keys)
  const input = { ...shared, keys: seal({ ...keys, ephemeralPrivateKey: keys.ephemeralPrivateKey.slice() }) }
  const toParent: Ev[] = []
  const parent = createActor(setup({}).createMachine({ on: { '*': { actions: ({ event }) => { toParent.push(event) } } } }))
  parent.start()
  const connInput: ConnectionInput = input.initiator
    ? { key: 'd1', direction: 'outbound', dialId: 1, address: 'memory://b', url: 'memory://b', expectedPeer: input.expectedPeer, timeouts: DEFAULT_TIMEOUTS, handshake: input, traffic: { heardAt: 0 }, keepAliveJitter: 0 }
    : { key: 'c1', direction: 'inbound', connId: 1, address: 'memory://a', timeouts: DEFAULT_TIMEOUTS, handshake: input, traffic: { heardAt: 0 }, keepAliveJitter: 0 }
  const actor = createActor(connectionMachine, { input: connInput, parent } as never) as Actor<typeof connectionMachine>
  const effects: Ev[] = []
  actor.on('*', (e) => { effects.push(e as Ev) })
  actor.start()
  if (input.initiator) actor.send({ type: 'io.conn.opened', connId: 1, remoteAddr: 'memory://b' })
  return { actor, effects, toParent }
}

/** The handshake frames a side has sent and nobody took yet. */
function takeFrames(side: Side, taken: number): Uint8Array[] {
  return side.effects.filter((e) => e.type === 'effect.send' && e.protocol === HANDSHAKE_PROTOCOL).slice(taken).map((e) => e.body)
}

/**
 * Its outcome: done when the handshake region handed the keys to the shell (the initiator then
 * waits in `confirming`, the responder in `authenticating`), failed when it left for `closing`.
 */
function outcome(side: Side): Outcome {
  const snap = side.actor.getSnapshot()
  const secure = side.effects.find((e) => e.type === 'effect.secure')
  const proved = side.toParent.find((e) => e.type === 'conn.secured' || e.type === 'conn.authenticated')
  if (secure && proved) return { ok: true, peer: proved.peer, handshakeHash: proved.handshakeHash, keys: secure.keys }
  if (snap.matches('closing')) return { ok: false, reason: snap.context.reason! }
  return { ok: false, reason: `(still ${JSON.stringify(snap.value)})` }
}

type Tamper = (index: number, body: Uint8Array) => unknown

/**
 * Run a handshake between two connection actors to its end, delivering frames alternately;
 * `tamper` may change frame `index` (0, 1, 2).
 */
function handshake(a: HandshakeInput, b: HandshakeInput, tamper: Tamper = (_i, body) => body): { a: Outcome; b: Outcome; frames: number; sent: Uint8Array[] } {
  const A = start(a)
  const B = start(b)
  const taken = new Map<Side, number>([[A, 0], [B, 0]])
  let frames = 0
  const sent: Uint8Array[] = []
  for (let round = 0; round < 10; round++) {
    let moved = false
    for (const [from, to] of [[A, B], [B, A]] as const) {
      for (const body of takeFrames(from, taken.get(from)!)) {
        taken.set(from, taken.get(from)! + 1)
        if (!to.actor.getSnapshot().matches('handshaking')) continue
        sent.push(body)
        to.actor.send({ type: 'conn.frame', protocol: HANDSHAKE_PROTOCOL, body: tamper(frames++, body) })
        moved = true
      }
    }
    if (!moved) break
  }
  return { a: outcome(A), b: outcome(B), frames, sent }
}

const flip = (at: number) => (body: Uint8Array): Uint8Array => {
  const copy = body.slice()
  copy[Math.min(at, copy.length - 1)] ^= 0x01
  return copy
}

const PSK = new Uint8Array(32).fill(7)

for (const suite of [nobleSuite, nativeSuite]) {
  describe(`handshake region of the connection chart (${suite.name} crypto)`, () => {
    it('two connection actors finish with each other\'s peer ids, the same handshake hash and mirrored keys', () => {
      const alice = party(suite, 1, true)
      const bob = party(suite, 2, false)
      const r = handshake(alice.input, bob.input)
      expect(r.frames).toBe(3)
      expect(r.a.ok && r.b.ok).toBe(true)
      if (!r.a.ok || !r.b.ok) return
      expect(r.a.peer).toBe(bob.peerId)
      expect(r.b.peer).toBe(alice.peerId)
      expect(r.a.handshakeHash).toEqual(r.b.handshakeHash)
      expect(r.a.handshakeHash.length).toBe(32)
      const [ka, kb] = [unseal(r.a.keys), unseal(r.b.keys)]
      expect(ka.send).toEqual(kb.recv)
      expect(ka.recv).toEqual(kb.send)
      expect(ka.send.k).not.toEqual(ka.recv.k)
    })

    it('a private network (XXpsk3) with the same key succeeds, with a different hash than without', () => {
      const open = handshake(party(suite, 1, true).input, party(suite, 2, false).input)
      const priv = handshake(party(suite, 1, true, { psk: PSK }).input, party(suite, 2, false, { psk: PSK }).input)
      expect(priv.a.ok && priv.b.ok).toBe(true)
      if (!priv.a.ok || !open.a.ok) return
      expect(priv.a.handshakeHash).not.toEqual(open.a.handshakeHash)
    })

    it('a tampered frame ends the reading side with a handshake-* failure reason', () => {
      for (const index of [1, 2]) {
        for (const at of [1, 10, 40, 1000]) {
          const r = handshake(party(suite, 1, true).input, party(suite, 2, false).input, (i, body) => (i === index ? flip(at)(body) : body))
          const reader = index === 1 ? r.a : r.b
          expect(reader.ok, `frame ${index} byte ${at}`).toBe(false)
          if (!reader.ok) expect(reader.reason).toMatch(/^handshake-/)
        }
      }
    })

    it('a tampered first frame (the clear ephemeral key) makes the initiator fail to decrypt the answer', () => {
      const r = handshake(party(suite, 1, true).input, party(suite, 2, false).input, (i, body) => (i === 0 ? flip(5)(body) : body))
      expect(r.a).toEqual({ ok: false, reason: 'handshake-decrypt-failed' })
    })

    it('malformed frames: not bytes, too short, truncated', () => {
      for (const body of ['hello', new Uint8Array(1), null, 42]) {
        const r = handshake(party(suite, 1, true).input, party(suite, 2, false).input, (i, b) => (i === 0 ? body : b))
        expect(r.b).toEqual({ ok: false, reason: 'handshake-malformed' })
      }
      const cut = handshake(party(suite, 1, true).input, party(suite, 2, false).input, (i, b) => (i === 1 ? (b as Uint8Array).subarray(0, 40) : b))
      expect(cut.a).toEqual({ ok: false, reason: 'handshake-bad-length' })
    })

    it('flags mismatch (one side private, the other not) → private-network, on both orders', () => {
      const r1 = handshake(party(suite, 1, true, { psk: PSK }).input, party(suite, 2, false).input)
      expect(r1.b).toEqual({ ok: false, reason: 'private-network' })
      const r2 = handshake(party(suite, 1, true).input, party(suite, 2, false, { psk: PSK }).input)
      expect(r2.b).toEqual({ ok: false, reason: 'private-network' })
    })

    it('psk mismatch → private-network', () => {
      const other = new Uint8Array(32).fill(8)
      const r = handshake(party(suite, 1, true, { psk: PSK }).input, party(suite, 2, false, { psk: other }).input)
      const failed = [r.a, r.b].filter((o) => !o.ok)
      expect(failed.length).toBeGreaterThan(0)
      expect(failed[0]).toEqual({ ok: false, reason: 'private-network' })
    })

    it('an identity signature over another static key → handshake-bad-signature (either side)', () => {
      const wrong = suite.x25519PublicKey(new Uint8Array(32).fill(3))
      const r1 = handshake(party(suite, 1, true).input, party(suite, 2, false, { signStatic: wrong }).input)
      expect(r1.a).toEqual({ ok: false, reason: 'handshake-bad-signature' })
      const r2 = handshake(party(suite, 1, true, { signStatic: wrong }).input, party(suite, 2, false).input)
      expect(r2.b).toEqual({ ok: false, reason: 'handshake-bad-signature' })
    })

    it('the initiator checks the expected peer id after message 2 and never sends message 3 to an impostor', () => {
      const bob = party(suite, 2, false)
      const carol = party(suite, 3, false)
      const ok = handshake(party(suite, 1, true, { expectedPeer: bob.peerId }).input, bob.input)
      expect(ok.a.ok && ok.b.ok).toBe(true)
      const r = handshake(party(suite, 1, true, { expectedPeer: carol.peerId }).input, bob.input)
      expect(r.a).toEqual({ ok: false, reason: 'peer-id-mismatch' })
      expect(r.frames).toBe(2) // message 3, which carries the initiator's identity, was not sent
      expect(r.b.ok).toBe(false) // the responder is left waiting (its connection's timeout ends it)
    })

    it('reserved bits of the flags byte must be zero', () => {
      const r = handshake(party(suite, 1, true).input, party(suite, 2, false).input, (i, body) => {
        if (i !== 0) return body
        const copy = body.slice()
        copy[0] |= 0x80
        return copy
      })
      expect(r.b).toEqual({ ok: false, reason: 'handshake-malformed' })
    })

    it('an identity key swapped for another node\'s (signature no longer matches) → handshake-bad-signature', () => {
      const bob = party(suite, 2, false)
      const mallory = party(suite, 3, false)
      const forged = { ...bob.input, identityKey: mallory.input.identityKey }
      const r = handshake(party(suite, 1, true).input, forged)
      expect(r.a).toEqual({ ok: false, reason: 'handshake-bad-signature' })
    })
  })
}

describe('handshake region: one source', () => {
  it('the connection chart\'s `handshaking` region is handshakeRegion, one state per Noise message', () => {
    const handshaking = connectionMachine.root.states.handshaking
    expect(handshaking.config.states).toBe(handshakeRegion.states)
    expect(Object.keys(handshaking.states)).toEqual([
      'starting', 'sendingInitiation', 'awaitingResponse', 'checkingResponse', 'sendingFinish',
      'awaitingInitiation', 'checkingInitiation', 'sendingResponse', 'awaitingFinish', 'checkingFinish',
    ])
  })
})

describe('handshake region: suites interoperate', () => {
  it('noble initiator and native responder agree', () => {
    const r = handshake(party(nobleSuite, 1, true).input, party(nativeSuite, 2, false).input)
    expect(r.a.ok && r.b.ok).toBe(true)
    if (r.a.ok && r.b.ok) expect(r.a.handshakeHash).toEqual(r.b.handshakeHash)
  })
})

/**
 * The steps the connection's handshake region runs, driven by hand in the same order
 * (initiator writes, responder reads and writes, ...), stopping at the first output.
 */
function steps(a: HandshakeInput, b: HandshakeInput, tamper: Tamper = (_i, body) => body): { a: HandshakeOutput | null; b: HandshakeOutput | null; frames: Uint8Array[] } {
  let A: HandshakeContext = createHandshakeContext(a)
  let B: HandshakeContext = createHandshakeContext(b)
  const frames: Uint8Array[] = []
  let writer = 'A'
  for (let i = 0; i < 3; i++) {
    const [from, to] = writer === 'A' ? [A, B] : [B, A]
    const written = { ...from, ...writeStep(from) }
    if (written.output && !written.output.ok) { if (writer === 'A') A = written; else B = written; break }
    frames.push(written.outbox!)
    const read = { ...to, ...readStep(to, tamper(i, written.outbox!)) }
    if (writer === 'A') { A = written; B = read } else { B = written; A = read }
    if (read.output && !read.output.ok) break
    writer = writer === 'A' ? 'B' : 'A'
  }
  return { a: A.output, b: B.output, frames }
}

describe('handshake steps (what the region runs)', () => {
  it('give the same frames, peers, hash and keys as the connection actors, for XX and XXpsk3', () => {
    for (const psk of [undefined, PSK]) {
      const alice = party(nativeSuite, 1, true, psk ? { psk } : {})
      const bob = party(nativeSuite, 2, false, psk ? { psk } : {})
      const byMachine = handshake(alice.input, bob.input)
      const bySteps = steps(alice.input, bob.input)
      expect(bySteps.frames).toHaveLength(3)
      expect(bySteps.frames).toEqual(byMachine.sent)
      for (const side of ['a', 'b'] as const) {
        const [step, machine] = [bySteps[side], byMachine[side]]
        expect(step?.ok && machine.ok).toBe(true)
        if (!step?.ok || !machine.ok) return
        expect(step.peer).toBe(machine.peer)
        expect(step.handshakeHash).toEqual(machine.handshakeHash)
        expect(unseal(step.keys)).toEqual(unseal(machine.keys))
      }
      expect(bySteps.a?.ok && bySteps.a.peer).toBe(bob.peerId)
      expect(bySteps.a?.ok && bySteps.a.identityKey).toEqual(bob.input.identityKey)
    }
  })

  it('fail the same way: a tampered message 2, a flags mismatch, a wrong expected peer', () => {
    const alice = party(nativeSuite, 1, true)
    const bob = party(nativeSuite, 2, false)
    for (const [tamper, reason] of [
      [(i: number, body: Uint8Array) => (i === 1 ? flip(40)(body) : body), 'handshake-decrypt-failed'],
      [(i: number, body: Uint8Array) => (i === 0 ? Uint8Array.of(1, ...body.subarray(1)) : body), 'private-network'],
    ] as const) {
      const machine = handshake(alice.input, bob.input, tamper)
      const bySteps = steps(alice.input, bob.input, tamper)
      const failed = [bySteps.a, bySteps.b].find((o) => o && !o.ok)
      expect(failed).toEqual({ ok: false, reason })
      expect([machine.a, machine.b]).toContainEqual({ ok: false, reason })
    }
    const wrong = party(nativeSuite, 1, true, { expectedPeer: 'NotBob' })
    expect(steps(wrong.input, bob.input).a).toEqual({ ok: false, reason: 'peer-id-mismatch' })
    expect(handshake(wrong.input, bob.input).a).toEqual({ ok: false, reason: 'peer-id-mismatch' })
  })
})

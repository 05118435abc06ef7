/**
 * Attacks before and during the secure handshake, against a live node over real WebSockets:
 * random bytes as the first message, truncated, mutated (bit flips) and replayed Noise
 * messages, valid msgpack frames that are not handshake frames, forged identity payloads,
 * lying WebSocket length headers. In every case the attacker's connection must end with a
 * readable reason, within a bound, while an honest peer connected to the same node keeps
 * measuring ping RTTs, with no unhandled rejection or uncaught exception anywhere.
 * @module
 */
import fc from 'fast-check'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { HANDSHAKE_PROTOCOL } from '../../machines/handshake.machine.js'
import { encodeFrame } from '../../src/codec/frame.js'
import { nativeSuite } from '../../src/crypto/native.js'
import {
  RawPeer, RawSocket, Target, useFaultRecorder, rawIdentity, settledHeapMiB, within,
} from '../helpers/raw-peer.js'

useFaultRecorder(() => target)
let target: Target
let heapBefore = 0

/** Every reason a node may close a connection with during a handshake (all readable). */
const HANDSHAKE_REASONS = new Set([
  'frame-malformed', 'frame-too-complex', 'frame-extension', 'frame-forbidden-key', 'frame-too-large',
  'protocol-violation', 'handshake-malformed', 'handshake-bad-length', 'handshake-decrypt-failed',
  'handshake-low-order-key', 'handshake-bad-payload', 'handshake-bad-signature', 'handshake-too-long',
  'handshake-timeout', 'private-network', 'rate-limit',
])

beforeAll(async () => {
  target = await Target.start({ timeouts: { handshake: 1000 }, limits: { maxPendingConnections: 256 } })
  heapBefore = await settledHeapMiB()
})


/** Force a responder that answered message 1 to give up now: a message 3 far too short. */
function junkMessage3(): Uint8Array {
  return encodeFrame(HANDSHAKE_PROTOCOL, new Uint8Array([0, 1, 2, 3]))
}

/**
 * Send `frame` as message 1. The node either closes at once with a reason, or answers with
 * message 2 (it cannot tell a forged ephemeral key from a real one); then a junk message 3
 * makes it close. Returns the close reason.
 */
async function sendFirst(frame: Uint8Array): Promise<string> {
  const peer = await RawPeer.connect(target.address)
  peer.sendRaw(frame)
  const answered = await peer.nextRaw(3000).then(() => true, () => false)
  if (answered) peer.sendRaw(junkMessage3())
  const info = await peer.waitClosed(3000)
  return info.readable
}

describe('before the handshake', () => {
  it('random bytes as the first message: closed with a readable reason (50 connections)', async () => {
    const reasons = new Map<string, number>()
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 4096 }), async (bytes) => {
        const peer = await RawPeer.connect(target.address)
        peer.sendRaw(bytes)
        const info = await peer.waitClosed(3000)
        reasons.set(info.readable, (reasons.get(info.readable) ?? 0) + 1)
        expect(HANDSHAKE_REASONS.has(info.readable), `unexpected reason ${info.readable}`).toBe(true)
      }),
      { numRuns: 50 },
    )
    expect(reasons.get('frame-malformed') ?? 0).toBeGreaterThan(40)
    await target.assertHonestAlive()
  })

  it('random bodies in a handshake frame: answered or closed, never accepted', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 300 }), async (body) => {
        const reason = await sendFirst(encodeFrame(HANDSHAKE_PROTOCOL, body))
        expect(HANDSHAKE_REASONS.has(reason), `unexpected reason ${reason}`).toBe(true)
      }),
      { numRuns: 30 },
    )
    await target.assertHonestAlive()
  })

  it('a handshake frame whose body is not bytes: handshake-malformed', async () => {
    for (const body of ['hello', 42, null, [1, 2, 3], { e: new Uint8Array(32) }]) {
      expect(await sendFirst(encodeFrame(HANDSHAKE_PROTOCOL, body))).toBe('handshake-malformed')
    }
    await target.assertHonestAlive()
  })

  it('valid msgpack frames that are not handshake frames: protocol-violation', async () => {
    for (const [protocol, body] of [['/xswarm/ping/1', [0, 1]], ['/xswarm/conn/1', [0, 1]], ['/evil/1', { a: 1 }]] as const) {
      const peer = await RawPeer.connect(target.address)
      peer.sendRaw(encodeFrame(protocol, body))
      expect((await peer.waitClosed(3000)).readable).toBe('protocol-violation')
    }
    await target.assertHonestAlive()
  })

  it('truncated message 1 (every length of the Noise message): handshake-bad-length', async () => {
    const full = new Uint8Array(33) // flags + e
    crypto.getRandomValues(full.subarray(1))
    for (let len = 2; len < 33; len += 3) {
      expect(await sendFirst(encodeFrame(HANDSHAKE_PROTOCOL, full.subarray(0, len)))).toBe('handshake-bad-length')
    }
    // A body of one byte is not even a flags byte plus a message.
    expect(await sendFirst(encodeFrame(HANDSHAKE_PROTOCOL, full.subarray(0, 1)))).toBe('handshake-malformed')
    await target.assertHonestAlive()
  })

  it('truncated frame bytes (cut anywhere in the envelope): frame-malformed', async () => {
    const peer = await RawPeer.connect(target.address)
    const rec = await peer.handshake().catch(() => null)
    peer.terminate()
    expect(rec).not.toBeNull()
    for (const cut of [1, 2, 10, 17, 18, 19, 30, rec!.msg1.length - 1]) {
      expect(await sendFirst(rec!.msg1.subarray(0, cut))).toBe('frame-malformed')
    }
    await target.assertHonestAlive()
  })

  it('bit flips in message 1 (fast-check): answered or closed with a reason', async () => {
    const probe = await RawPeer.connect(target.address)
    const { msg1 } = await probe.handshake()
    probe.terminate()
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: msg1.length * 8 - 1 }), async (bit) => {
        const mutated = msg1.slice()
        mutated[bit >> 3] ^= 1 << (bit & 7)
        const reason = await sendFirst(mutated)
        expect(HANDSHAKE_REASONS.has(reason), `bit ${bit}: unexpected reason ${reason}`).toBe(true)
      }),
      { numRuns: 40 },
    )
    await target.assertHonestAlive()
  })

  it('bit flips in message 3 (fast-check): never an authenticated peer, reserved flag bits included', async () => {
    // msg3 frame: 0x92, fixstr(15) '/xswarm/noise/1' (16 bytes), bin8 header (2 bytes), then the flags byte.
    const FLAGS_OFFSET = 1 + 16 + 2
    const accepted: number[] = []
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 180 * 8 - 1 }), async (rawBit) => {
        const peer = await RawPeer.connect(target.address)
        const identity = rawIdentity()
        let bit = 0
        await peer.handshake({
          identity,
          mutate3: (frame) => {
            bit = rawBit % (frame.length * 8)
            const out = frame.slice()
            out[bit >> 3] ^= 1 << (bit & 7)
            return out
          },
        })
        const since = performance.now()
        const outcome = await Promise.race([
          peer.waitClosed(3000).then((info) => info.readable),
          target.node.waitFor((e) => e.type === 'peer.connected' && (e as { peer: string }).peer === identity.peerId, 3000, since)
            .then(() => 'connected'),
        ])
        if (outcome === 'connected') {
          accepted.push(bit)
          peer.terminate()
          await target.disconnectReason(identity.peerId)
        } else {
          expect(HANDSHAKE_REASONS.has(outcome), `bit ${bit}: unexpected reason ${outcome}`).toBe(true)
        }
      }),
      // Every run flips a bit of the flags byte or after it, reserved flag bits included (they are
      // in the prologue, so a flipped one fails the handshake like any other bit).
      { numRuns: 40, examples: [[FLAGS_OFFSET * 8 + 1], [FLAGS_OFFSET * 8 + 7], [FLAGS_OFFSET * 8]] },
    )
    expect(accepted, 'flipped bits with which the node still accepted the peer').toEqual([])
    await target.assertHonestAlive()
  })

  // Regression test (found by this suite, fixed in ec8a2be). What it was:
  // BUG (hardening, low; machines/handshake.machine.ts `readStep`: only `body[0] & FLAG_PRIVATE`
  // is looked at): the flags byte is outside the Noise transcript (not in the prologue, not
  // hashed) and its 7 reserved bits are ignored, so anyone on the path can set them without
  // the handshake failing. Harmless today; the day a bit gains a meaning (a capability, a
  // version), a man-in-the-middle could flip it undetected (a silent downgrade). Fix: refuse
  // a flags byte with reserved bits set (`handshake-malformed`) and mix the flags byte into the
  // prologue (`HANDSHAKE_PROLOGUE ‖ flags`) so both sides must have seen the same byte.
  it('reserved flag bits set in message 3 are refused (the flags byte is not malleable)', async () => {
    const FLAGS_OFFSET = 1 + 16 + 2
    for (const bit of [1, 7]) {
      const peer = await RawPeer.connect(target.address)
      const identity = rawIdentity()
      const since = performance.now()
      await peer.handshake({ identity, mutate3: (frame) => { const out = frame.slice(); out[FLAGS_OFFSET] |= 1 << bit; return out } })
      const outcome = await Promise.race([
        peer.waitClosed(2000).then((info) => info.readable),
        target.node.waitFor((e) => e.type === 'peer.connected' && (e as { peer: string }).peer === identity.peerId, 2000, since)
          .then(() => 'connected'),
      ])
      peer.terminate()
      expect(outcome, `reserved flag bit ${bit}`).not.toBe('connected')
    }
  })

  it('a forged identity payload (signature not over our static key): handshake-bad-signature', async () => {
    const peer = await RawPeer.connect(target.address)
    const identity = rawIdentity()
    identity.signature = rawIdentity().signature // valid signature, by someone else, over another static key
    await peer.handshake({ identity })
    expect((await peer.waitClosed(3000)).readable).toBe('handshake-bad-signature')
    expect(target.node.count((e) => e.type === 'peer.connected' && (e as { peer: string }).peer === identity.peerId)).toBe(0)
    await target.assertHonestAlive()
  })

  it('replay: message 1 of a recorded session opens nothing and is dropped by the handshake timeout', async () => {
    const honest = await RawPeer.connect(target.address)
    const recorded = await honest.handshake()
    const replay = await RawPeer.connect(target.address)
    replay.sendRaw(recorded.msg1)
    const msg2 = await replay.nextRaw(3000)
    expect(msg2).not.toEqual(recorded.msg2) // fresh ephemeral key on the node's side
    const t0 = performance.now()
    expect((await replay.waitClosed(3000)).readable).toBe('handshake-timeout')
    expect(performance.now() - t0).toBeLessThan(2500)
    honest.terminate()
    await target.assertHonestAlive()
  })

  it('replay: message 3 of one session into another: handshake-decrypt-failed', async () => {
    const a = await RawPeer.connect(target.address)
    const recorded = await a.handshake()
    const b = await RawPeer.connect(target.address)
    await b.handshake({ mutate3: () => recorded.msg3 })
    expect((await b.waitClosed(3000)).readable).toBe('handshake-decrypt-failed')
    // Replayed again into the session it belongs to, after the handshake: a plaintext frame where
    // an encrypted one is due.
    a.sendRaw(recorded.msg3)
    expect((await a.waitClosed(3000)).readable).toBe('decrypt-failed')
    await target.assertHonestAlive()
  })

  it('a handshake that stops after message 1: handshake-timeout', async () => {
    const peer = await RawPeer.connect(target.address)
    const e = nativeSuite.x25519PublicKey(crypto.getRandomValues(new Uint8Array(32)))
    peer.sendRaw(encodeFrame(HANDSHAKE_PROTOCOL, Uint8Array.of(0, ...e)))
    await peer.nextRaw(3000) // message 2; then silence
    expect((await peer.waitClosed(3000)).readable).toBe('handshake-timeout')
    await target.assertHonestAlive()
  })
})

describe('raw WebSocket bytes', () => {
  it('a frame header declaring 2 GiB: refused from the header (1009 frame-too-large), nothing buffered', async () => {
    const raw = await RawSocket.connect(target.port)
    expect(raw.head).toMatch(/^HTTP\/1.1 101/)
    const t0 = performance.now()
    raw.write(RawSocket.frame(new Uint8Array(16), 2 ** 31))
    await raw.waitEnded(3000)
    expect(performance.now() - t0).toBeLessThan(3500)
    expect(raw.closeFrame()?.readable).toBe('frame-too-large')
    await target.assertHonestAlive()
  })

  it('garbage instead of an HTTP upgrade: the socket ends, the node is unaffected', async () => {
    const raw = await RawSocket.connect(target.port, false)
    raw.write(Buffer.from(crypto.getRandomValues(new Uint8Array(2048))))
    await raw.waitEnded(3000)
    await target.assertHonestAlive()
  })

  it('a text message and a ping storm: closed or ignored, never a crash', async () => {
    const raw = await RawSocket.connect(target.port)
    for (let i = 0; i < 200; i++) raw.write(RawSocket.frame(new Uint8Array(8), 8, 0x9)) // ws pings
    raw.write(RawSocket.frame(new TextEncoder().encode('{"hello":1}'), 11, 0x1)) // a text frame
    await within(raw.ended$.catch(() => {}), 4000, 'the node to end the text-frame connection').catch(() => raw.destroy())
    await target.assertHonestAlive()
  })
})

describe('afterwards', () => {
  it('memory returns near where it was once every attacker is gone', async () => {
    const after = await settledHeapMiB()
    // Generous: fast-check, ws buffers and JIT warm-up allocate too. A leak per connection
    // (hundreds of connections above) would show as tens of MiB.
    console.log(`handshake attacks: heap ${heapBefore.toFixed(1)} MiB before, ${after.toFixed(1)} MiB after`)
    expect(after).toBeLessThan(heapBefore * 1.5 + 16)
    expect(target.node.swarm.peers()).toEqual([target.honest.swarm.peerId])
    await target.assertHonestAlive()
  })
})

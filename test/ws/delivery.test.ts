/**
 * Delivery does not depend on how fast the user reads (issue 8 item 1), over real WebSockets:
 * a close is an input behind the frames that arrived before it, and an offending frame closes
 * the connection only when the queue reaches it, so the legal frames before it are delivered.
 * The receiving user takes nothing until the sender's close (or offence) is already queued.
 * @module
 */
import { describe, expect, it } from 'vitest'
import { BATCH_SEND_PARTS } from '../../src/codec/batch.js'
import type { AnySwarmEvent as SwarmEvent, Swarm } from '../../src/swarm.js'
import { connect, createTestSwarm, drive, nextEvent, NUMBERS_ID, numbersProtocol, useSwarmCleanup } from '../helpers/swarm-test.js'

useSwarmCleanup()

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Wait (bounded) until `swarm` has at least `n` inputs queued: what arrived is all there, untaken. */
async function queuedAtLeast(swarm: Swarm, n: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (swarm.stats().queued < n) {
    if (Date.now() > deadline) throw new Error(`queued stayed at ${swarm.stats().queued}, waiting for ${n}`)
    await sleep(5)
  }
}

/** Take events from `a` until `peer` is disconnected; returns the numbers received before that and the event. */
async function numbersUntilDisconnected(a: Swarm, peer: string): Promise<{ got: number[]; disconnected: SwarmEvent }> {
  const got: number[] = []
  const disconnected = await nextEvent(a, (e) => {
    if (e.type === 'numbers.got') got.push((e as unknown as { n: number }).n)
    return e.type === 'peer.disconnected' && (e as { peer?: string }).peer === peer
  }, { what: 'peer.disconnected', timeoutMs: 10_000 })
  return { got, disconnected }
}

describe('ws: nothing lost at a close', () => {
  it('B sends 200 frames and hangs up; A takes events only after the close is queued: all 200 arrive before peer.disconnected', async () => {
    const a = await createTestSwarm({ ping: false, protocols: [numbersProtocol()] })
    const b = await createTestSwarm({ ping: false, protocols: [numbersProtocol()] })
    await connect(a, b)
    const N = 200
    b.command(NUMBERS_ID, { type: 'numbers.send', peer: a.peerId, count: N })
    b.hangUp(a.peerId, 'done-sending')
    await nextEvent(b, (e) => e.type === 'peer.disconnected', { what: 'B: peer.disconnected' })
    // A's user has taken nothing yet: the 200 frames (in batches of 64) and the close are all
    // waiting in A's queue.
    await queuedAtLeast(a, Math.ceil(N / BATCH_SEND_PARTS) + 1)
    const { got, disconnected } = await numbersUntilDisconnected(a, b.peerId)
    expect(got).toEqual(Array.from({ length: N }, (_, i) => i + 1))
    expect(disconnected).toMatchObject({ peer: b.peerId, reason: 'done-sending' })
    expect(a.stats().dropped).toBe(0)
  }, 20_000)

  it('a frame over the rate limit closes the connection only when the queue reaches it: the frames before it arrive', async () => {
    const a = await createTestSwarm({ ping: false, protocols: [numbersProtocol()], limits: { maxFramesPerSecond: 40 } })
    const b = await createTestSwarm({ ping: false, protocols: [numbersProtocol()] })
    await connect(a, b)
    // The handshake spent a few of A's tokens; 200 frames in one burst exceed the rest.
    b.command(NUMBERS_ID, { type: 'numbers.send', peer: a.peerId, count: 200 })
    await drive([b], () => b.stats().framesOut >= Math.ceil(200 / BATCH_SEND_PARTS), { what: 'B sent 200 frames (in batches)' })
    // Every part of a batch counts against the limit: the offence is found among the parts, and
    // the parts before it are delivered. A has taken nothing yet.
    await queuedAtLeast(a, Math.ceil(200 / BATCH_SEND_PARTS))
    const { got, disconnected } = await numbersUntilDisconnected(a, b.peerId)
    expect(got.length).toBeGreaterThanOrEqual(20)
    expect(got.length).toBeLessThan(200)
    expect(got).toEqual(Array.from({ length: got.length }, (_, i) => i + 1))
    expect(disconnected).toMatchObject({ peer: b.peerId, reason: 'rate-limit' })
  }, 20_000)
})

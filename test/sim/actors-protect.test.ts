/**
 * The actor layer and discovery together: a connected peer this node sends actor frames to is
 * protected from discovery's connection manager (tag `actors`), so a connection discovery opened
 * for a lookup is not closed under the asks that came to use it; the protection ends when the
 * peer disconnects. A peer that only sends to us is not protected by that (it protects us).
 */
import { describe, expect, it } from 'vitest'
import { assign, setup } from 'xstate'
import { createSimulation } from '../../src/testing/simulation.js'
import { startProtectingSwarms } from '../helpers/discovery-tags.js'

const counter = setup({ types: { context: {} as { n: number } } }).createMachine({
  context: { n: 0 },
  on: { inc: { actions: assign({ n: ({ context }) => context.n + 1 }) } },
})

describe('peers with actor traffic are protected in discovery', () => {
  it('protects the peer we send to with the actors tag, and withdraws it when it disconnects', async () => {
    const sim = createSimulation()
    const { swarms: [a, b], tags } = await startProtectingSwarms(sim, 2, 700)
    const hosted = a.actors.spawn(counter, { name: 'counter', accept: 'any' })
    b.dial(a.addresses[0])
    await sim.run({ until: () => b.isConnected(a.peerId), forMs: 5_000 })
    expect(tags(1, a.peerId)).not.toContain('actors')

    b.actors.ref(hosted.address).send({ type: 'inc' })
    await sim.run({ until: () => hosted.ref.getSnapshot().context.n === 1, forMs: 5_000 })
    expect(hosted.ref.getSnapshot().context.n).toBe(1)
    expect(tags(1, a.peerId)).toContain('actors')
    expect(tags(0, b.peerId)).not.toContain('actors')

    b.hangUp(a.peerId)
    await sim.run({ until: () => !b.isConnected(a.peerId), forMs: 5_000 })
    await sim.run({ forMs: 100 })
    expect(tags(1, a.peerId)).not.toContain('actors')
  })
})

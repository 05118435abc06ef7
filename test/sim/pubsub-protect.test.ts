/**
 * Pubsub and discovery together: peers in a pubsub mesh are protected from discovery's
 * connection manager (tag `pubsub`), and unprotected once they leave every mesh.
 */
import { describe, expect, it } from 'vitest'
import { createSimulation } from '../../src/testing/simulation.js'
import { startProtectingSwarms } from '../helpers/discovery-tags.js'

describe('pubsub mesh peers are protected in discovery', () => {
  it('protects mesh peers with the pubsub tag, and withdraws it after unsubscribe', async () => {
    const sim = createSimulation()
    const { swarms, tags } = await startProtectingSwarms(sim, 3, 900)
    for (const s of swarms) s.subscribe('t')
    swarms[1].dial(swarms[0].addresses[0])
    swarms[2].dial(swarms[0].addresses[0])
    await sim.run({ forMs: 5_000 })
    expect(swarms[0].peers()).toHaveLength(2)
    expect(tags(0, swarms[1].peerId)).toContain('pubsub')
    expect(tags(0, swarms[2].peerId)).toContain('pubsub')
    swarms[1].unsubscribe('t')
    await sim.run({ forMs: 5_000 })
    expect(tags(0, swarms[1].peerId)).not.toContain('pubsub')
    expect(tags(0, swarms[2].peerId)).toContain('pubsub')
  })
})

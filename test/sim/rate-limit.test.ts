/**
 * The inbound rate limit is a token bucket per connection (README "Limits"): a burst of up to
 * one second's worth of frames passes, the bucket refills with time, and a burst beyond it
 * closes the connection with `rate-limit`. On a simulated network, so "a second later" is
 * virtual time, not a sleep.
 */
import { describe, expect, it } from 'vitest'
import { createSimulation } from '../../src/testing/simulation.js'
import type { Swarm, SwarmEvent } from '../../src/swarm.js'
import { connectSim, createSimTestSwarm, eventsOf, NUMBERS_ID, numbersProtocol, useSwarmCleanup } from '../helpers/swarm-test.js'

useSwarmCleanup()

const of = (s: Swarm, type: string) => (eventsOf(s) as Array<SwarmEvent & Record<string, any>>).filter((e) => e.type === type)

describe('maxFramesPerSecond', () => {
  it('a burst within the bucket passes, the bucket refills after a second, a burst beyond it is rate-limit', async () => {
    const sim = createSimulation()
    const RATE = 50
    const a = await createSimTestSwarm(sim, { seed: 1, protocols: [numbersProtocol()], ping: false, pubsub: false })
    const b = await createSimTestSwarm(sim, { seed: 2, protocols: [numbersProtocol()], ping: false, pubsub: false, limits: { maxFramesPerSecond: RATE } })
    await connectSim(sim, a, b)
    await sim.run({ forMs: 1000 }) // the handshake's frames are a second old: the bucket is full again
    const got = () => of(b, 'numbers.got').length
    // Two bursts of 40, a second apart: 80 frames in all, more than the bucket holds at once.
    a.command(NUMBERS_ID, { type: 'numbers.send', peer: b.peerId, count: 40 })
    expect((await sim.run({ until: () => got() === 40, forMs: 500 })).satisfied).toBe(true)
    await sim.run({ forMs: 1000 })
    a.command(NUMBERS_ID, { type: 'numbers.send', peer: b.peerId, count: 40, from: 41 })
    expect((await sim.run({ until: () => got() === 80, forMs: 500 })).satisfied).toBe(true)
    expect(b.isConnected(a.peerId)).toBe(true)
    // A burst above one second's worth, a second later: the connection closes with rate-limit.
    await sim.run({ forMs: 1000 })
    a.command(NUMBERS_ID, { type: 'numbers.send', peer: b.peerId, count: RATE + 10, from: 81 })
    expect((await sim.run({ until: () => of(b, 'peer.disconnected').length > 0, forMs: 2000 })).satisfied).toBe(true)
    expect(of(b, 'peer.disconnected')[0]).toMatchObject({ peer: a.peerId, reason: 'rate-limit' })
    expect(got()).toBeLessThanOrEqual(80 + RATE)
  })
})

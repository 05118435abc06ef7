/**
 * Frame coalescing (src/codec/batch.ts): the frames one settle sends to a peer leave as one
 * encrypted frame (a batch of at most 64), and the receiver hands every part to its protocol,
 * in order, as if each had come alone. On a simulated network (a batch leaves at the end of
 * its settle there).
 */
import { describe, expect, it } from 'vitest'
import { createSimulation } from '../../src/testing/simulation.js'
import type { AnySwarmEvent, Swarm } from '../../src/swarm.js'
import { connectSim, createSimTestSwarm, eventsOf, NUMBERS_ID, numbersProtocol, useSwarmCleanup } from '../helpers/swarm-test.js'

useSwarmCleanup()

const got = (s: Swarm): number[] =>
  (eventsOf(s) as Array<AnySwarmEvent & Record<string, any>>).filter((e) => e.type === 'numbers.got').map((e) => e.n as number)

describe('batches', () => {
  it('200 frames sent in one settle leave as 4 socket frames and arrive all, in order', async () => {
    const sim = createSimulation()
    const a = await createSimTestSwarm(sim, { seed: 1, protocols: [numbersProtocol()], ping: false, pubsub: false, discovery: false })
    const b = await createSimTestSwarm(sim, { seed: 2, protocols: [numbersProtocol()], ping: false, pubsub: false, discovery: false })
    await connectSim(sim, a, b)
    await sim.run({ forMs: 1000 })
    const before = a.stats().framesOut
    a.command(NUMBERS_ID, { type: 'numbers.send', peer: b.peerId, count: 200 })
    expect((await sim.run({ until: () => got(b).length === 200, forMs: 1000 })).satisfied).toBe(true)
    expect(got(b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
    expect(a.stats().framesOut - before).toBe(4) // 64 + 64 + 64 + 8
    expect(b.isConnected(a.peerId)).toBe(true)
  })
})

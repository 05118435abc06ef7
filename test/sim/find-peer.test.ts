/**
 * `findPeer` settles in order with the event stream (issue 8 item 6): when the user takes the
 * event its answer came out as, not when a machine emitted it. A's user takes nothing while
 * `close()` settles every input (the answer included), then takes the events one by one.
 * @module
 */
import { describe, expect, it } from 'vitest'
import '../../src/discovery/builtin.js'
import { createSimulation } from '../../src/testing/simulation.js'
import type { FoundPeer } from '../../src/swarm.js'
import { createSimTestSwarm, nextSimEvent, takeLogged, useSwarmCleanup } from '../helpers/swarm-test.js'

useSwarmCleanup()

/** Let every pending promise callback run. */
const settleCallbacks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

describe('simulation: findPeer in order with the events', () => {
  it('the promise settles when the user takes discovery.peer.found, not before', async () => {
    const sim = createSimulation()
    const a = await createSimTestSwarm(sim, { seed: 61, discovery: {}, ping: false }, false)
    const b = await createSimTestSwarm(sim, { seed: 62, discovery: {}, ping: false })
    a.dial(b.addresses[0])
    await nextSimEvent(sim, a, (e) => e.type === 'peer.connected', { what: 'A: peer.connected' })

    let found: FoundPeer | undefined
    const query = a.findPeer(b.peerId).then((f) => { found = f })
    let closed = false
    void a.close().then(() => { closed = true })
    expect((await sim.run({ until: () => closed, forMs: 10_000 })).satisfied).toBe(true)
    await settleCallbacks()
    expect(found).toBeUndefined() // the answer was settled in the machines, but A's user has not taken it

    const taken: string[] = []
    for (let event = takeLogged(a); event !== undefined; event = takeLogged(a)) {
      taken.push(event.type)
      await settleCallbacks()
      if (event.type === 'discovery.peer.found') break
      expect(found, `settled before the answer was taken (after ${taken.join(', ')})`).toBeUndefined()
    }
    expect(taken).toContain('discovery.peer.found')
    expect(found).toMatchObject({ peer: b.peerId })
    await query
  })
})

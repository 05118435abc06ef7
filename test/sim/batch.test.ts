/**
 * Frame coalescing (src/codec/batch.ts): the frames one settle sends to a peer leave as one
 * encrypted frame (a batch of at most 64), and the receiver hands every part to its protocol,
 * in order, as if each had come alone. On a simulated network (a batch leaves at the end of
 * its settle there). A protocol with `merge` gets a batch's consecutive parts as one message.
 */
import { describe, expect, it } from 'vitest'
import { enqueueActions, setup } from 'xstate'
import { defineProtocol, toPeer } from '../../machines/lib/protocol.js'
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

/** A protocol whose messages are lists of numbers, merged up to 100 numbers per message. */
const LISTS_ID = '/test/lists/1'
function listsProtocol() {
  const machine = setup({
    actions: {
      sendEach: enqueueActions(({ event, enqueue }) => {
        const e = event as unknown as { peer: string; count: number }
        for (let i = 1; i <= e.count; i++) enqueue.emit(toPeer(LISTS_ID, e.peer, [i]) as never)
      }),
      receive: enqueueActions(({ event, enqueue }) => {
        enqueue.emit({ type: 'lists.got', ns: (event as unknown as { body: number[] }).body } as never)
      }),
    },
  }).createMachine({ id: 'lists', on: { 'lists.send': { actions: 'sendEach' }, message: { actions: 'receive' } } })
  return defineProtocol<number[]>({
    id: LISTS_ID,
    machine,
    parse: (body) => (Array.isArray(body) && body.every((n) => Number.isSafeInteger(n)) ? (body as number[]) : undefined),
    merge: (first, next) => (first.length + next.length <= 100 ? [...first, ...next] : undefined),
  })
}

describe('batches merged by their protocol', () => {
  it('200 frames in one settle reach a merging protocol as one message per batch, every number in order', async () => {
    const sim = createSimulation()
    const options = { protocols: [listsProtocol()], ping: false, pubsub: false, discovery: false } as const
    const a = await createSimTestSwarm(sim, { seed: 1, ...options })
    const b = await createSimTestSwarm(sim, { seed: 2, ...options })
    await connectSim(sim, a, b)
    await sim.run({ forMs: 1000 })
    a.command(LISTS_ID, { type: 'lists.send', peer: b.peerId, count: 200 })
    const lists = (): number[][] => (eventsOf(b) as Array<AnySwarmEvent & Record<string, any>>).filter((e) => e.type === 'lists.got').map((e) => e.ns as number[])
    expect((await sim.run({ until: () => lists().flat().length === 200, forMs: 1000 })).satisfied).toBe(true)
    expect(lists().map((ns) => ns.length)).toEqual([64, 64, 64, 8])
    expect(lists().flat()).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
  })
})

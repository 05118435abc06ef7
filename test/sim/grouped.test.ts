/**
 * Grouped protocols (`ProtocolDefinition.grouped`): frames of one protocol from several peers
 * that are queued together at a node reach its machine as one `messages` step, in queue order,
 * each item as the `message` it would have been; a protocol that does not take groups still
 * gets one `message` per frame. On a simulated network, where frames sent at one moment with
 * one latency are queued together at their receiver. A recording of such a node replays to the
 * same events: the group is recorded as the one input it was settled as. A step takes at most
 * MAX_GATHERED_FRAMES frames, so one step's work stays bounded however many are queued.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { enqueueActions, setup } from 'xstate'
import { defineProtocol, toPeer } from '../../machines/lib/protocol.js'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eventToJson } from '../../src/cli/log.js'
import { replay } from '../../src/record/replay.js'
import { MAX_GATHERED_FRAMES } from '../../src/runtime/driver.js'
import { createSimulation, type Simulation } from '../../src/testing/simulation.js'
import type { AnySwarmEvent, Swarm } from '../../src/swarm.js'
import { connectSim, createSimTestSwarm, eventsOf, useSwarmCleanup } from '../helpers/swarm-test.js'

useSwarmCleanup()
const dir = mkdtempSync(join(tmpdir(), 'xswarm-grouped-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const TAGS_ID = '/test/tags/1'

/** Each `tags.send` sends one tag to a peer; each step that receives tags reports them as one event. */
function tagsProtocol(grouped: boolean) {
  const machine = setup({
    actions: {
      sendTag: enqueueActions(({ event, enqueue }) => {
        const e = event as unknown as { peer: string; tag: string }
        enqueue.emit(toPeer(TAGS_ID, e.peer, e.tag) as never)
      }),
      receiveOne: enqueueActions(({ event, enqueue }) => {
        const { peer, body } = event as unknown as { peer: string; body: string }
        enqueue.emit({ type: 'tags.got', items: [[peer, body]] } as never)
      }),
      receiveMany: enqueueActions(({ event, enqueue }) => {
        const { items } = event as unknown as { items: { peer: string; body: string }[] }
        enqueue.emit({ type: 'tags.got', items: items.map((i) => [i.peer, i.body]) } as never)
      }),
    },
  }).createMachine({
    id: 'tags',
    on: { 'tags.send': { actions: 'sendTag' }, message: { actions: 'receiveOne' }, messages: { actions: 'receiveMany' } },
  })
  return defineProtocol<string>({
    id: TAGS_ID,
    machine,
    parse: (body) => (typeof body === 'string' && body.length <= 16 ? body : undefined),
    grouped,
  })
}

const steps = (s: Swarm): [string, string][][] =>
  (eventsOf(s) as Array<AnySwarmEvent & Record<string, any>>).filter((e) => e.type === 'tags.got').map((e) => e.items)

/** A hub and three leaves; each leaf sends the hub `perLeaf` tags (one frame each) at the same moment. */
async function burst(grouped: boolean, record?: string, perLeaf = 1): Promise<{ sim: Simulation; hub: Swarm; leaves: Swarm[]; got: [string, string][][] }> {
  const sim = createSimulation()
  const options = { protocols: [tagsProtocol(grouped)], ping: false, pubsub: false, discovery: false } as const
  const hub = await createSimTestSwarm(sim, { seed: 1, ...options, ...(record ? { record } : {}) })
  const leaves = [await createSimTestSwarm(sim, { seed: 2, ...options }), await createSimTestSwarm(sim, { seed: 3, ...options }), await createSimTestSwarm(sim, { seed: 4, ...options })]
  for (const leaf of leaves) await connectSim(sim, leaf, hub)
  await sim.run({ forMs: 1000 })
  for (let k = 0; k < perLeaf; k++) {
    leaves.forEach((leaf, i) => leaf.command(TAGS_ID, { type: 'tags.send', peer: hub.peerId, tag: perLeaf === 1 ? `t${i}` : `t${i}.${k}` }))
  }
  expect((await sim.run({ until: () => steps(hub).flat().length === 3 * perLeaf, forMs: 1000 })).satisfied).toBe(true)
  return { sim, hub, leaves, got: steps(hub) }
}

describe('grouped protocols', () => {
  it('frames from several peers queued together reach a grouped protocol as one step, each with its peer', async () => {
    const { leaves, got } = await burst(true)
    expect(got).toHaveLength(1)
    expect([...got[0]].sort()).toEqual(leaves.map((leaf, i) => [leaf.peerId, `t${i}`]).sort())
  })

  it(`a step takes at most ${MAX_GATHERED_FRAMES} frames: 42 queued together settle as ${MAX_GATHERED_FRAMES} then ${42 - MAX_GATHERED_FRAMES}, each peer's in order`, async () => {
    const { leaves, got } = await burst(true, undefined, 14)
    expect(got.map((items) => items.length)).toEqual([MAX_GATHERED_FRAMES, 42 - MAX_GATHERED_FRAMES])
    leaves.forEach((leaf, i) => {
      const tags = got.flat().filter(([peer]) => peer === leaf.peerId).map(([, tag]) => tag)
      expect(tags).toEqual(Array.from({ length: 14 }, (_, k) => `t${i}.${k}`))
    })
  })

  it('a protocol that does not take groups gets one message per frame', async () => {
    const { leaves, got } = await burst(false)
    expect(got).toHaveLength(3)
    expect(got.map((items) => items[0]).sort()).toEqual(leaves.map((leaf, i) => [leaf.peerId, `t${i}`]).sort())
  })

  it('the same run replays the same steps from its seed', async () => {
    const first = (await burst(true)).got
    const second = (await burst(true)).got
    expect(second).toEqual(first)
  })

  it("a recording of the hub replays to the events it handed out (a group is an input like any other)", async () => {
    const file = join(dir, 'hub.rec')
    const { sim, hub, got } = await burst(true, file)
    expect(got).toHaveLength(1)
    const closed = hub.close()
    expect((await sim.run({ until: () => eventsOf(hub).some((e) => e.type === 'swarm.closed'), forMs: 5000 })).satisfied).toBe(true)
    await closed
    const lines = (events: readonly { type: string }[]): string[] => events.map((e) => eventToJson(e as never))
    const replayed = await replay(file, { protocols: [tagsProtocol(true)] })
    expect(replayed.endReason).toBe('closed')
    expect(lines(replayed.events)).toEqual(lines(eventsOf(hub)))
    expect(replayed.events.filter((e) => e.type === 'tags.got')).toEqual([{ type: 'tags.got', items: got[0] }])
  })
})

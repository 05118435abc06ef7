/**
 * `watchActor` / `unwatchActor` inside machines, on a simulated network (virtual time, seeded):
 * a machine hosted on node B watches an actor on node A and transitions on the one
 * `actor.down` it receives (A's actor stopped, A closed, or A killed and away past the grace
 * period), sees `actor.restarted` after a supervised restart, and hears nothing after unwatching.
 * @module
 */
import { describe, expect, it } from 'vitest'
import { assign, createActor, setup, type AnyActorRef } from 'xstate'
import { unwatchActor, watchActor, type ActorDown, type ActorRestarted } from '../../src/index.js'
import type { Swarm } from '../../src/swarm.js'
import { eventsOf, simPair, transportOf, useSwarmCleanup } from '../helpers/swarm-test.js'

useSwarmCleanup()

const idle = setup({}).createMachine({ on: { crash: { actions: () => { throw new Error('crash') } } } })

/** Watches the ref it is given on entry; `forget` unwatches; records what it hears. */
const watcher = setup({
  types: {
    input: {} as { target: AnyActorRef | string },
    context: {} as { target: AnyActorRef | string; heard: (ActorDown | ActorRestarted)[] },
    events: {} as ActorDown | ActorRestarted | { type: 'forget' },
  },
  actions: { watchIt: watchActor(({ context }) => context.target) },
}).createMachine({
  context: ({ input }) => ({ target: input.target, heard: [] }),
  initial: 'watching',
  states: {
    watching: {
      entry: ['watchIt', 'watchIt'], // twice: still one watch, one actor.down
      on: {
        'actor.down': { target: 'down', actions: assign({ heard: ({ context, event }) => [...context.heard, event] }) },
        'actor.restarted': { actions: assign({ heard: ({ context, event }) => [...context.heard, event] }) },
        forget: { target: 'forgot', actions: unwatchActor(({ context }) => context.target) },
      },
    },
    down: { on: { 'actor.down': { actions: assign({ heard: ({ context, event }) => [...context.heard, event] }) } } },
    forgot: { on: { '*': { actions: assign({ heard: ({ context, event }) => [...context.heard, event as ActorDown] }) } } },
  },
})

function watchFromB(b: Swarm, address: string, name = 'w') {
  return b.actors.spawn(watcher, { name, input: { target: b.actors.ref(address) } })
}

describe('watchActor in a machine', () => {
  it('the target stops: the watching machine gets exactly one actor.down, and nothing on the stream', async () => {
    const { sim, a, b } = await simPair(61)
    const target = a.actors.spawn(idle, { name: 'target', accept: 'any' })
    const w = watchFromB(b, target.address)
    await sim.run({ forMs: 50 })
    a.actors.stop('target')
    const r = await sim.run({ until: () => w.ref.getSnapshot().matches('down'), forMs: 5000 })
    expect(r.satisfied).toBe(true)
    await sim.run({ forMs: 5000 })
    expect(w.ref.getSnapshot().context.heard).toEqual([{ type: 'actor.down', address: target.address, reason: 'stopped' }])
    expect(eventsOf(b).filter((e) => e.type.startsWith('actor.'))).toEqual([])
  }, 30_000)

  it('a supervised restart is actor.restarted; its node closing is node-closed', async () => {
    const { sim, a, b } = await simPair(71)
    const target = a.actors.spawn(idle, { name: 'target', accept: 'any', supervise: { restart: 'on-error' } })
    const w = watchFromB(b, target.address)
    await sim.run({ forMs: 50 })
    target.ref.send({ type: 'crash' })
    await sim.run({ until: () => w.ref.getSnapshot().context.heard.length === 1, forMs: 5000 })
    expect(w.ref.getSnapshot().context.heard).toEqual([{ type: 'actor.restarted', address: target.address, restarts: 1 }])
    void a.close()
    const r = await sim.run({ until: () => w.ref.getSnapshot().matches('down'), forMs: 5000 })
    expect(r.satisfied).toBe(true)
    expect(w.ref.getSnapshot().context.heard[1]).toEqual({ type: 'actor.down', address: target.address, reason: 'node-closed' })
  }, 30_000)

  it('its node killed: peer-disconnected only after the grace period (virtual time)', async () => {
    const { sim, a, b } = await simPair(81)
    const target = a.actors.spawn(idle, { name: 'target', accept: 'any' })
    const w = watchFromB(b, target.address)
    await sim.run({ forMs: 50 })
    sim.network.kill(transportOf(a))
    sim.remove(a)
    const killedAt = sim.now()
    await sim.run({ until: () => !b.isConnected(a.peerId), forMs: 5000 })
    await sim.run({ forMs: 2900 - (sim.now() - killedAt) })
    expect(w.ref.getSnapshot().matches('watching')).toBe(true)
    const r = await sim.run({ until: () => w.ref.getSnapshot().matches('down'), forMs: 10_000 })
    expect(r.satisfied).toBe(true)
    expect(sim.now() - killedAt).toBeGreaterThanOrEqual(3000)
    expect(w.ref.getSnapshot().context.heard).toEqual([{ type: 'actor.down', address: target.address, reason: 'peer-disconnected' }])
  }, 30_000)

  it('after unwatchActor nothing comes; a local (not hosted) watcher and a local target work too', async () => {
    const { sim, a, b } = await simPair(91)
    const target = a.actors.spawn(idle, { name: 'target', accept: 'any' })
    const w = watchFromB(b, target.address)
    const local = b.actors.spawn(idle, { name: 'local' })
    const w2 = watchFromB(b, local.address, 'w2')
    await sim.run({ forMs: 50 })
    w.ref.send({ type: 'forget' })
    await sim.run({ forMs: 50 })
    a.actors.stop('target')
    b.actors.stop('local')
    await sim.run({ until: () => w2.ref.getSnapshot().matches('down'), forMs: 5000 })
    await sim.run({ forMs: 5000 })
    expect(w.ref.getSnapshot().context.heard).toEqual([])
    expect(w2.ref.getSnapshot().context.heard).toEqual([{ type: 'actor.down', address: local.address, reason: 'stopped' }])
  }, 30_000)

  it('outside a swarm the action fails with a clear error', () => {
    const actor = createActor(watcher, { input: { target: 'x' } })
    const errors: unknown[] = []
    actor.subscribe({ error: (e) => errors.push(e) })
    actor.start()
    expect(String(errors[0])).toMatch(/watchActor: actor .* is not in a swarm's actor system/)
  })
})

/**
 * The actor layer over real WebSockets in one process: a counter hosted on A, asked from B,
 * sent to with `sendTo` from a machine on B (the reply pattern across nodes), every typed ask
 * failure, accept, undelivered sends, watch and supervision.
 * @module
 */
import { describe, expect, it } from 'vitest'
import { assign, createActor, fromPromise, sendTo, setup, type AnyActorRef, type EventObject } from 'xstate'
import { defineProtocol } from '../../machines/lib/protocol.js'
import { XswarmError } from '../../src/errors.js'
import type { Swarm, SwarmEvent } from '../../src/swarm.js'
import { connect, createTestSwarm, drive, eventsOf, useSwarmCleanup } from '../helpers/swarm-test.js'

useSwarmCleanup()

/** A counter: `inc` adds, `get {replyTo}` answers `count {n}`, `boom` throws. */
const counter = setup({
  types: { context: {} as { n: number }, input: {} as { start?: number } | undefined, events: {} as { type: 'inc' } | { type: 'get'; replyTo: AnyActorRef } | { type: 'boom' } },
  actions: {
    reply: sendTo(({ event }) => (event as { replyTo: AnyActorRef }).replyTo, ({ context }) => ({ type: 'count', n: context.n })),
    fail: () => { throw new Error('boom') },
  },
}).createMachine({
  context: ({ input }) => ({ n: input?.start ?? 0 }),
  on: {
    inc: { actions: assign({ n: ({ context }) => context.n + 1 }) },
    get: { actions: 'reply' },
    boom: { actions: 'fail' },
  },
})

/** Drive both swarms until `promise` settles; returns its outcome. */
async function settle<T>(swarms: Swarm[], promise: Promise<T>): Promise<{ value?: T; error?: XswarmError }> {
  let outcome: { value?: T; error?: XswarmError } | undefined
  promise.then((value) => { outcome = { value } }, (error) => { outcome = { error } })
  await drive(swarms, () => outcome !== undefined, { what: 'the promise', timeoutMs: 15_000 })
  return outcome!
}

const typesOf = (s: Swarm, type: string) => eventsOf(s).filter((e) => e.type === type)

async function pair(optionsA = {}, optionsB = {}) {
  const a = await createTestSwarm(optionsA)
  const b = await createTestSwarm(optionsB)
  await connect(b, a)
  return { a, b }
}

describe('actors over WebSockets', () => {
  it('a burst of large events in one task leaves in several frames: every one delivered, in order', async () => {
    const { a, b } = await pair()
    const got: number[] = []
    const sink = setup({ types: { events: {} as { type: 'big'; i: number; text: string } } }).createMachine({
      on: { big: { actions: ({ event }) => { got.push(event.i) } } },
    })
    const hosted = a.actors.spawn(sink, { name: 'sink', accept: 'any' })
    const text = 'x'.repeat(5000) // 300 of these are ~1.5 MB: more than one frame (maxFrameBytes 1 MiB)
    for (let i = 0; i < 300; i++) b.actors.send(hosted.address, { type: 'big', i, text })
    await drive([a, b], () => got.length === 300, { what: '300 large events', timeoutMs: 15_000 })
    expect(got).toEqual(Array.from({ length: 300 }, (_, i) => i))
    expect(typesOf(b, 'swarm.error')).toEqual([])
  })

  it('an event over maxEventBytes is refused by the sender as the receiver would refuse it: rejected, nothing lost silently', async () => {
    const { a, b } = await pair()
    const hosted = a.actors.spawn(counter, { name: 'c', accept: 'any' })
    const huge = 'x'.repeat(100 * 1024)
    b.actors.send(hosted.address, { type: 'inc', huge })
    const asked = await settle([a, b], b.actors.ask(hosted.address, { type: 'get', huge }))
    expect(asked.error?.code).toBe('rejected')
    await drive([a, b], () => typesOf(b, 'actor.undelivered').length === 1, { what: 'actor.undelivered' })
    expect(typesOf(b, 'actor.undelivered')[0]).toMatchObject({ reason: 'rejected' })
    expect(typesOf(b, 'swarm.error')).toEqual([])
    expect((await settle([a, b], b.actors.ask(hosted.address, { type: 'get' }))).value).toEqual({ type: 'count', n: 0 })
  })

  it('ask: a counter on A answers B; sends from B count; refs in events cross both ways', async () => {
    const { a, b } = await pair()
    const spawned = a.actors.spawn(counter, { name: 'counter', accept: 'any', input: { start: 5 } })
    expect(spawned.address).toBe(`${a.addresses[0]}/actor/counter`)
    const ref = b.actors.ref(spawned.address)
    ref.send({ type: 'inc' })
    ref.send({ type: 'inc' })
    const reply = await settle([a, b], b.actors.ask(ref, { type: 'get' }))
    expect(reply.value).toEqual({ type: 'count', n: 7 })
    expect(spawned.ref.getSnapshot().context.n).toBe(7)
  })

  it('sendTo from a machine on B reaches A, and the reply comes back to that machine (replyTo: self)', async () => {
    const { a, b } = await pair()
    const spawned = a.actors.spawn(counter, { name: 'counter', accept: 'any' })
    const ref = b.actors.ref(spawned.address)
    const client = setup({
      types: { context: {} as { got: number | null; counter: AnyActorRef }, input: {} as { counter: AnyActorRef } },
    }).createMachine({
      context: ({ input }) => ({ got: null, counter: input.counter }),
      entry: [sendTo(({ context }) => context.counter, { type: 'inc' }), sendTo(({ context }) => context.counter, ({ self }) => ({ type: 'get', replyTo: self }))],
      on: { count: { actions: assign({ got: ({ event }) => (event as unknown as { n: number }).n }) } },
    })
    const actor = createActor(client, { input: { counter: ref } }).start()
    await drive([a, b], () => actor.getSnapshot().context.got !== null, { what: 'the reply in the client machine' })
    expect(actor.getSnapshot().context.got).toBe(1)
  })

  it('every ask failure is typed: no-such-actor, rejected (accept local), timeout, actor-stopped, unreachable', async () => {
    const { a, b } = await pair()
    const node = a.addresses[0]
    a.actors.spawn(counter, { name: 'private' })
    const silent = a.actors.spawn(setup({}).createMachine({ context: { got: 0 }, on: { get: { actions: assign({ got: ({ context }) => context.got + 1 }) } } }), { name: 'silent', accept: 'any' })
    a.actors.spawn(counter, { name: 'picky', accept: (_from, event) => event.type !== 'get' })
    const code = async (p: Promise<unknown>) => (await settle([a, b], p)).error?.code
    expect(await code(b.actors.ask(`${node}/actor/nobody`, { type: 'get' }))).toBe('no-such-actor')
    expect(await code(b.actors.ask(`${node}/actor/private`, { type: 'get' }))).toBe('rejected')
    expect(await code(b.actors.ask(`${node}/actor/picky`, { type: 'get' }))).toBe('rejected')
    expect(await code(b.actors.ask(`${node}/actor/silent`, { type: 'get' }, { timeout: 200 }))).toBe('timeout')
    const pending = b.actors.ask(`${node}/actor/silent`, { type: 'get' }, { timeout: 5000 })
    await drive([a, b], () => silent.ref.getSnapshot().context.got === 2, { what: 'the second ask reaching silent' })
    a.actors.stop('silent')
    expect(await code(pending)).toBe('actor-stopped')
    const gone = await createTestSwarm()
    const address = `${gone.addresses[0]}/actor/x`
    await gone.close()
    expect(await code(b.actors.ask(address, { type: 'get' }))).toBe('unreachable')
  })

  it('a send that cannot be delivered is reported as actor.undelivered and counted', async () => {
    const { a, b } = await pair()
    b.actors.ref(`${a.addresses[0]}/actor/nobody`).send({ type: 'hello' })
    await drive([a, b], () => typesOf(b, 'actor.undelivered').length === 1, { what: 'actor.undelivered' })
    expect(typesOf(b, 'actor.undelivered')[0]).toMatchObject({ reason: 'no-such-actor', from: '' })
    expect(b.actors.counters.undelivered).toBe(1)
  })

  it('watch: actor.down once when the actor stops; restarts are seen as actor.restarted', async () => {
    const { a, b } = await pair()
    const c = a.actors.spawn(counter, { name: 'c', accept: 'any', supervise: { restart: 'on-error', maxRestarts: 1, backoffMs: 10 } })
    b.actors.watch(c.address)
    const ref = b.actors.ref(c.address)
    ref.send({ type: 'inc' })
    ref.send({ type: 'boom' })
    await drive([a, b], () => typesOf(b, 'actor.restarted').length === 1, { what: 'actor.restarted' })
    expect(typesOf(b, 'actor.restarted')[0]).toEqual({ type: 'actor.restarted', address: c.address, restarts: 1 })
    expect(c.ref.getSnapshot().context.n).toBe(0)
    ref.send({ type: 'boom' })
    await drive([a, b], () => typesOf(b, 'actor.down').length === 1, { what: 'actor.down' })
    expect(typesOf(b, 'actor.down')).toEqual([{ type: 'actor.down', address: c.address, reason: 'error' }])
    expect(a.actors.names()).toEqual([])
  })

  it('hosts any logic (fromPromise): the ask reply comes from its output via a machine', async () => {
    const { a, b } = await pair()
    const worker = setup({ actors: { work: fromPromise(async ({ input }: { input: number }) => input * 2) } }).createMachine({
      on: {
        job: {
          actions: sendTo(({ event }) => (event as unknown as { replyTo: AnyActorRef }).replyTo, ({ event }) => ({ type: 'done', v: (event as unknown as { n: number }).n * 2 })),
        },
      },
    })
    a.actors.spawn(worker, { name: 'w', accept: 'any' })
    const r = await settle([a, b], b.actors.ask(`${a.addresses[0]}/actor/w`, { type: 'job', n: 21 } as EventObject))
    expect(r.value).toEqual({ type: 'done', v: 42 })
  })
})

describe('protocol actors are supervised too', () => {
  it('a protocol that throws is restarted (protocol.restarted, its peers rebuilt); past the budget command() throws protocol-failed', async () => {
    const seen: string[] = []
    const boom = setup({}).createMachine({
      on: {
        'peer.connected': { actions: ({ event }) => { seen.push((event as unknown as { peer: string }).peer) } },
        'boom.now': { actions: () => { throw new Error('kaboom') } },
      },
    })
    const protocol = defineProtocol({ id: '/test/boom/1', machine: boom })
    const { a, b } = await pair({ protocols: [protocol] }, { protocols: [protocol] })
    for (let i = 1; i <= 3; i++) {
      a.command('/test/boom/1', { type: 'boom.now' })
      await drive([a, b], () => typesOf(a, 'protocol.restarted').length === i, { what: `restart ${i}` })
    }
    expect(seen.filter((p) => p === b.peerId).length).toBe(4)
    a.command('/test/boom/1', { type: 'boom.now' })
    await drive([a, b], () => typesOf(a, 'swarm.error').some((e) => (e as { final?: boolean }).final === true), { what: 'the final failure' })
    expect(() => a.command('/test/boom/1', { type: 'boom.now' })).toThrow(expect.objectContaining({ code: 'protocol-failed' }))
    // The actor layer still works on that node.
    a.actors.spawn(counter, { name: 'c', accept: 'any' })
    expect((await settle([a, b], b.actors.ask(`${a.addresses[0]}/actor/c`, { type: 'get' }))).value).toEqual({ type: 'count', n: 0 })
  })
})

export type { SwarmEvent }

/**
 * machines/lib/enqueue.ts: its `enqueueActions` runs what XState's runs, in the same order,
 * also when a callback settles another actor whose own enqueued actions run one level deeper
 * (the machines rely on that: the root routes a frame to a protocol actor that emits at once).
 * @module
 */
import { describe, expect, it } from 'vitest'
import { assign, createActor, enqueueActions as xstateEnqueueActions, setup, type AnyActorRef } from 'xstate'
import { enqueueActions } from '../../machines/lib/enqueue.js'

type Enqueue = typeof xstateEnqueueActions

/** A parent that, on `go`, emits, sends to its child (which emits and assigns), then emits again. */
function family(enqueue: Enqueue) {
  const child = setup({ types: { context: {} as { n: number } } }).createMachine({
    context: { n: 0 },
    on: {
      poke: {
        actions: enqueue(({ enqueue, context }) => {
          enqueue.emit({ type: 'child.poked', n: context.n } as never)
          enqueue.assign({ n: context.n + 1 })
        }),
      },
    },
  })
  return setup({ types: { context: {} as { child?: AnyActorRef; log: string[] } }, actors: { child } }).createMachine({
    context: { log: [] },
    entry: enqueue(({ enqueue }) => enqueue.spawnChild('child', { id: 'kid' })),
    on: {
      go: {
        actions: [
          enqueue(({ enqueue, self }) => {
            enqueue.emit({ type: 'before' })
            ;(self.getSnapshot().children.kid as AnyActorRef).send({ type: 'poke' })
            enqueue.sendTo(({ self: me }) => me.getSnapshot().children.kid as AnyActorRef, { type: 'poke' })
            enqueue.emit({ type: 'after' })
          }),
          assign({ log: ({ context }) => [...context.log, 'assigned'] }),
          enqueue(() => {}),
        ],
      },
    },
  })
}

function run(enqueue: Enqueue): { events: unknown[]; log: string[]; n: number } {
  const events: unknown[] = []
  const actor = createActor(family(enqueue))
  actor.on('*', (e) => events.push(e))
  const kid = (): AnyActorRef => actor.getSnapshot().children.kid as AnyActorRef
  actor.start()
  kid().on('*', (e: unknown) => events.push(e))
  actor.send({ type: 'go' })
  actor.send({ type: 'go' })
  return { events, log: actor.getSnapshot().context.log, n: kid().getSnapshot().context.n }
}

describe('enqueueActions (machines/lib/enqueue.ts)', () => {
  it('emits, sends, spawns and assigns as XState\'s enqueueActions does, in the same order', () => {
    const ours = run(enqueueActions)
    expect(ours).toEqual(run(xstateEnqueueActions))
    expect(ours.n).toBe(4)
    // The child settles a direct send at once; the parent's enqueued emit, sendTo, emit follow in order.
    expect(ours.events.map((e) => (e as { type: string }).type)).toEqual([
      'child.poked', 'before', 'child.poked', 'after', 'child.poked', 'before', 'child.poked', 'after',
    ])
  })

  it('refuses check() with a message that says what to use instead', () => {
    const machine = setup({}).createMachine({ on: { go: { actions: enqueueActions(({ check }) => { check('anything' as never) }) } } })
    const actor = createActor(machine)
    const errors: unknown[] = []
    actor.subscribe({ error: (e) => errors.push(e) })
    actor.start()
    actor.send({ type: 'go' })
    expect(String(errors[0])).toMatch(/check\(\) is not supported/)
  })
})

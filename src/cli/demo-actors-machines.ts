/**
 * The actors of `xswarm demo --actors`: a counter, a coordinator that hands out jobs and
 * watches its workers (`watchActor`), and a worker. Small on purpose: the demo shows the actor
 * layer (asks and replies, at-least-once sends, death watch), not a scheduler.
 * @module
 */
import { assign, enqueueActions, sendTo, setup, type AnyActorRef } from 'xstate'
import { atLeastOnce } from '../actors/remote-ref.js'
import { watchActor } from '../actors/watch-action.js'
import type { ActorDown } from '../events.js'

/** `inc` adds one; `get {replyTo}` answers `count {n}`. */
export const demoCounter = setup({
  types: { context: {} as { n: number }, events: {} as { type: 'inc' } | { type: 'get'; replyTo: AnyActorRef } },
  actions: {
    add: assign({ n: ({ context }) => context.n + 1 }),
    reply: sendTo(({ event }) => (event as { replyTo: AnyActorRef }).replyTo, ({ context }) => ({ type: 'count', n: context.n })),
  },
}).createMachine({ context: { n: 0 }, on: { inc: { actions: 'add' }, get: { actions: 'reply' } } })

/** `job {id, replyTo}` is answered at once with `done {id, by}` (`by`: the worker's node). */
export const demoWorker = setup({
  types: { input: {} as { by: string }, context: {} as { by: string }, events: {} as { type: 'job'; id: number; replyTo: AnyActorRef } },
  actions: { report: sendTo(({ event }) => event.replyTo, ({ context, event }) => ({ type: 'done', id: event.id, by: context.by })) },
}).createMachine({ context: ({ input }) => ({ by: input.by }), on: { job: { actions: 'report' } } })

export interface CoordinatorContext {
  workers: AnyActorRef[]
  /** Addresses of workers that are down. */
  down: string[]
  queue: number[]
  /** job → the address of the worker it was given to */
  inflight: Record<number, string>
  /** job → the node that did it (a repeated `done` changes nothing) */
  done: Record<number, string>
  /** Round-robin position. */
  next: number
}

type CoordinatorEvent = { type: 'jobs'; ids: number[] } | { type: 'done'; id: number; by: string } | ActorDown

/**
 * Watches every worker on start; hands each job to the next live worker, at least once; a
 * worker's `actor.down` puts its unfinished jobs back in the queue for the others.
 */
export const demoCoordinator = setup({
  types: { input: {} as { workers: AnyActorRef[] }, context: {} as CoordinatorContext, events: {} as CoordinatorEvent },
  actions: {
    watchWorkers: enqueueActions(({ context, enqueue }) => { for (const worker of context.workers) enqueue(watchActor(worker)) }),
    enqueueJobs: assign({ queue: ({ context, event }) => [...context.queue, ...(event as { ids: number[] }).ids] }),
    dispatch: enqueueActions(({ context, enqueue, self }) => {
      const live = context.workers.filter((w) => !context.down.includes(w.id))
      if (live.length === 0 || context.queue.length === 0) return
      const given: Record<number, string> = {}
      context.queue.forEach((id, i) => {
        const worker = live[(context.next + i) % live.length]
        given[id] = worker.id
        enqueue.sendTo(atLeastOnce(worker), { type: 'job', id, replyTo: self })
      })
      enqueue.assign({ queue: [], inflight: { ...context.inflight, ...given }, next: context.next + context.queue.length })
    }),
    recordDone: assign(({ context, event }) => {
      const { id, by } = event as { id: number; by: string }
      if (context.done[id] !== undefined) return {}
      const { [id]: _, ...inflight } = context.inflight
      return { done: { ...context.done, [id]: by }, inflight }
    }),
    requeue: assign(({ context, event }) => {
      const { address } = event as ActorDown
      const lost = Object.entries(context.inflight).filter(([, w]) => w === address).map(([id]) => Number(id))
      return { down: [...context.down, address], queue: [...lost, ...context.queue], inflight: Object.fromEntries(Object.entries(context.inflight).filter(([, w]) => w !== address)) }
    }),
  },
}).createMachine({
  context: ({ input }) => ({ workers: input.workers, down: [], queue: [], inflight: {}, done: {}, next: 0 }),
  entry: 'watchWorkers',
  on: {
    jobs: { actions: ['enqueueJobs', 'dispatch'] },
    done: { actions: 'recordDone' },
    'actor.down': { actions: ['requeue', 'dispatch'] },
  },
})

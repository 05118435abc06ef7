/**
 * The actors of the work-queue example (examples/work-queue.ts), also hosted by real OS
 * processes in the process test (`xswarm node --actors`).
 *
 * The coordinator hands queued jobs to idle workers at least once (`atLeastOnce(ref)`), and is
 * idempotent: a result for a job already done changes nothing. A job comes back to the queue
 * when its worker is reported down (`workerDown`, from a watch) or says `ready` again while
 * the coordinator still counts a job on it (its node restarted and lost it).
 */
import { assign, enqueueActions, sendTo, setup, type AnyActorRef } from 'xstate'
import { atLeastOnce } from '../src/actors/remote-ref.js'

export interface CoordinatorContext {
  queue: number[]
  /** job → the worker's address */
  inflight: Record<number, string>
  done: number[]
  idle: AnyActorRef[]
  redelivered: number[]
}
export type CoordinatorEvent =
  | { type: 'ready'; worker: AnyActorRef }
  | { type: 'done'; id: number; worker: AnyActorRef }
  | { type: 'workerDown'; address: string }

/** Jobs of `address` back to the front of the queue; the worker is no longer idle. */
function requeue(context: CoordinatorContext, address: string): Partial<CoordinatorContext> {
  const lost = Object.entries(context.inflight).filter(([, w]) => w === address).map(([id]) => Number(id))
  const inflight = Object.fromEntries(Object.entries(context.inflight).filter(([, w]) => w !== address))
  return { queue: [...lost, ...context.queue], inflight, redelivered: [...context.redelivered, ...lost], idle: context.idle.filter((w) => w.id !== address) }
}

export function coordinatorMachine(jobs: number) {
  return setup({
    types: { context: {} as CoordinatorContext, events: {} as CoordinatorEvent },
    actions: {
      /** Hand queued jobs to idle workers, at least once. */
      dispatch: enqueueActions(({ context, enqueue }) => {
        while (context.queue.length > 0 && context.idle.length > 0) {
          const id = context.queue.shift()!
          const worker = context.idle.shift()!
          context.inflight[id] = worker.id
          enqueue.sendTo(atLeastOnce(worker), { type: 'job', id })
        }
      }),
    },
  }).createMachine({
    context: { queue: Array.from({ length: jobs }, (_, i) => i + 1), inflight: {}, done: [], idle: [], redelivered: [] },
    on: {
      ready: {
        actions: [
          assign(({ context, event }) => {
            const back = requeue(context, event.worker.id)
            return { ...back, idle: [...(back.idle ?? context.idle), event.worker] }
          }),
          'dispatch',
        ],
      },
      done: {
        actions: [
          assign(({ context, event }) => {
            if (context.done.includes(event.id)) return {}
            const { [event.id]: _, ...inflight } = context.inflight
            return { done: [...context.done, event.id], inflight, idle: [...context.idle, event.worker] }
          }),
          'dispatch',
        ],
      },
      workerDown: { actions: [assign(({ context, event }) => requeue(context, event.address)), 'dispatch'] },
    },
  })
}

/**
 * A worker: says it is ready, then does its jobs one at a time (`workMs` each, in the order
 * they came) and reports each; `status {replyTo}` answers with the jobs it holds.
 */
export function workerMachine(workMs: number) {
  return setup({
    types: { context: {} as { coordinator: AnyActorRef; jobs: number[] }, input: {} as { coordinator: AnyActorRef } },
    delays: { work: workMs },
    guards: { hasJob: ({ context }) => context.jobs.length > 0 },
    actions: {
      take: assign({ jobs: ({ context, event }) => [...context.jobs, (event as unknown as { id: number }).id] }),
      report: sendTo(({ context }) => context.coordinator, ({ context, self }) => ({ type: 'done', id: context.jobs[0], worker: self })),
      next: assign({ jobs: ({ context }) => context.jobs.slice(1) }),
      status: sendTo(({ event }) => (event as unknown as { replyTo: AnyActorRef }).replyTo, ({ context }) => ({ type: 'status', jobs: context.jobs })),
    },
  }).createMachine({
    context: ({ input }) => ({ coordinator: input.coordinator, jobs: [] }),
    entry: sendTo(({ context }) => context.coordinator, ({ self }) => ({ type: 'ready', worker: self })),
    on: { job: { actions: 'take' }, status: { actions: 'status' } },
    initial: 'idle',
    states: {
      idle: { always: { guard: 'hasJob', target: 'working' } },
      working: { after: { work: { target: 'idle', actions: ['report', 'next'] } } },
    },
  })
}

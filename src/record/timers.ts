/**
 * Numbering the root's timers, so that a recording can say which one fired.
 *
 * A timer reaches the queue as a callback XState stored (src/runtime/clock.ts); a replay
 * re-creates the same timers in the same order, because the machines are deterministic, so
 * the n-th timer the swarm's machines set is the same timer live and replayed. Timers of the
 * user's hosted actors (src/actors/hosting.ts: same actor system, same clock) are not the
 * machines': they are left unnumbered and never recorded, since what they make the hosted
 * actors do reaches the root only as inputs, which are recorded. The source of each timer is
 * known from XState's scheduler, which is wrapped here (only when recording or replaying).
 * @module
 */
import type { AnyActorRef } from 'xstate'
import type { QueueClock, TimerInput } from '../runtime/clock.js'

type Schedule = (source: AnyActorRef, ...rest: unknown[]) => void

/** Number the machines' timers from 1 (`timer.seq`); `onMachineTimer` sees each one. */
export function numberMachineTimers(root: AnyActorRef, clock: QueueClock, onMachineTimer?: (timer: TimerInput) => void): void {
  const scheduler = (root.system as unknown as { scheduler: { schedule: Schedule } }).scheduler
  const schedule = scheduler.schedule
  let fromUser = false
  scheduler.schedule = (source, ...rest) => {
    const was = fromUser
    fromUser = !inTree(source, root)
    try {
      schedule(source, ...rest)
    } finally {
      fromUser = was
    }
  }
  let seq = 0
  clock.onTimer = (timer) => {
    if (fromUser) return
    timer.seq = ++seq
    onMachineTimer?.(timer)
  }
}

/** Is `actor` the root or below it (hosted actors hang below a stand-in parent instead)? */
function inTree(actor: AnyActorRef | undefined, root: AnyActorRef): boolean {
  for (let a: AnyActorRef | undefined = actor; a; a = (a as { _parent?: AnyActorRef })._parent) if (a === root) return true
  return false
}

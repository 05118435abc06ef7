/**
 * Model-based test of the refusals chart (machines/refusals.machine.ts): `xstate/graph` walks it
 * and every edge is replayed on a real actor under a simulated clock (model-walk.ts), so every
 * state is entered and every transition taken, both branches of each guard included: samples
 * that first refuse more than a window's budget make `withinWindowBudget` and `someSuppressed`
 * decide the other way.
 * @module
 */
import { describe, expect, it } from 'vitest'
import { createActor, SimulatedClock, type AnyMachineSnapshot, type InspectionEvent } from 'xstate'
import { REFUSAL_WINDOW_MS, REFUSALS_PER_WINDOW, refusalsMachine } from '../../machines/refusals.machine.js'
import { walkAndReplay, type Ev, type Sample } from './model-walk.js'

const refused = (i: number): Ev => ({ type: 'refused', address: `ws://10.0.0.${i}:4000`, reason: i % 2 ? 'private-network' : 'too-many-connections' })
const flood = Array.from({ length: REFUSALS_PER_WINDOW + 1 }, (_, i) => refused(i))
const WINDOW_ENDS = 'xstate.after.refusalWindow.refusals.reporting'

const samples = (): Sample[] => [
  refused(100),
  { ...refused(101), before: flood }, // over the budget: counted, not shown
  { type: 'flush' },
  { type: 'flush', before: flood }, // a summary of the suppressed ones
  { type: WINDOW_ENDS },
  { type: WINDOW_ENDS, before: flood },
]

function start(inspect: (event: InspectionEvent) => void) {
  const clock = new SimulatedClock()
  const actor = createActor(refusalsMachine, { clock, inspect })
  actor.start()
  return {
    send(event: Ev): void {
      if (event.type === WINDOW_ENDS) clock.increment(REFUSAL_WINDOW_MS)
      else actor.send(event as never)
    },
    snapshot: () => actor.getSnapshot() as AnyMachineSnapshot,
  }
}

describe('refusals chart: model-based (xstate/graph)', () => {
  it('every edge replayed on a real actor reaches the predicted state; every transition is taken', () => {
    const { edges, states } = walkAndReplay({ machine: refusalsMachine, samples, start })
    expect(states).toBe(2)
    expect(edges).toBeGreaterThanOrEqual(6)
  })
})

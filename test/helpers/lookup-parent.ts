/**
 * A stand-in for the discovery actor as a lookup's parent: it records the lookup's
 * `lookup.query` requests (tests answer them with `lookup.response` / `lookup.failed`).
 * @module
 */
import { createActor, fromTransition, type SimulatedClock } from 'xstate'
import type { LookupQuery } from '../../machines/discovery/lookup.machine.js'

export function lookupParent(clock: SimulatedClock) {
  const queries: LookupQuery[] = []
  const parent = createActor(fromTransition((s: null, e: { type: string }) => {
    if (e.type === 'lookup.query') queries.push(e as LookupQuery)
    return s
  }, null), { clock }).start()
  return { parent, queries }
}

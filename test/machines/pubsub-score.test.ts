/**
 * The score's threshold check (`scoreAtLeast`, O(1) while its last score bounds the score from
 * below) answers exactly what computing the score answers, whatever happens in between: grafts,
 * prunes, deliveries, penalties, decay and time, with the default weights and with P1/P3 weights
 * of the other sign.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEFAULT_SCORE, type ScoreParams } from '../../machines/pubsub/params.js'
import {
  computeScore, createStats, decayStats, scoreAtLeast, scoreBehaviour, scoreFirstDelivery, scoreGraft, scoreInvalid, scoreMeshDelivery, scorePrune,
} from '../../machines/pubsub/score.js'

const step = fc.record({
  op: fc.constantFrom('graft', 'prune', 'first', 'mesh', 'invalid', 'behaviour', 'decay', 'none'),
  topic: fc.constantFrom('a', 'b'),
  dt: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40_000 }), fc.double({ min: 0, max: 5, noNaN: true })),
  threshold: fc.constantFrom(-100, -80, -50, -10, -1, 0, 0.5, 1, 3),
})

const variants: Array<[string, Partial<ScoreParams>]> = [
  ['default weights', {}],
  ['P3 on', { meshDeliveriesWeight: -1, meshDeliveriesThreshold: 3, meshDeliveriesActivation: 1000 }],
  ['P1 negative, P2 negative, P3 positive', { timeInMeshWeight: -0.5, firstDeliveriesWeight: -1, meshDeliveriesWeight: 1, meshDeliveriesActivation: 500 }],
  ['negative topic weight', { topicWeight: -1, meshDeliveriesWeight: -1, meshDeliveriesActivation: 2000 }],
]

describe('scoreAtLeast', () => {
  for (const [name, overrides] of variants) {
    it(`answers as computeScore >= threshold (${name})`, () => {
      const p: ScoreParams = { ...DEFAULT_SCORE, ...overrides }
      fc.assert(fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const stats = createStats()
        let now = 1000
        for (const { op, topic, dt, threshold } of steps) {
          now += dt
          if (op === 'graft') scoreGraft(stats, topic, now)
          else if (op === 'prune') scorePrune(stats, topic, p, now)
          else if (op === 'first') scoreFirstDelivery(stats, topic, p)
          else if (op === 'mesh') scoreMeshDelivery(stats, topic, p)
          else if (op === 'invalid') scoreInvalid(stats, topic)
          else if (op === 'behaviour') scoreBehaviour(stats)
          else if (op === 'decay') decayStats(stats, p)
          expect(scoreAtLeast(stats, p, now, threshold)).toBe(computeScore(stats, p, now) >= threshold)
        }
      }), { numRuns: 300 })
    })
  }
})

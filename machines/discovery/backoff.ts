/**
 * Exponential backoff with jitter, drawn from the machine's seeded rng.
 *
 * Used for bootstrap redials and for per-peer dial backoff. The delay of attempt `n` (0-based)
 * is `min(max, base·2^n)` scaled by a uniform factor in `[1 - jitter, 1 + jitter]`, so peers
 * that lost the same bootstrap node do not all come back in the same millisecond.
 * @module
 */
import { nextFloat, type Rng } from '../lib/rng.js'

/** Backoff schedule, in milliseconds. */
export interface BackoffOptions {
  /** Delay of the first retry. */
  base: number
  /** Upper bound before jitter. */
  max: number
  /** Relative jitter in [0, 1]: 0.2 spreads each delay over ±20%. */
  jitter: number
}

/** The (unjittered) delay of attempt `attempt`. */
export function backoffCeiling(attempt: number, options: BackoffOptions): number {
  const n = Math.max(0, Math.min(40, Math.floor(attempt)))
  return Math.min(options.max, options.base * 2 ** n)
}

/** The delay before retry number `attempt` (0-based), jittered with `rng`; always ≥ 1 ms. */
export function backoffDelay(attempt: number, options: BackoffOptions, rng: Rng): number {
  const d = backoffCeiling(attempt, options)
  const factor = 1 + options.jitter * (2 * nextFloat(rng) - 1)
  return Math.max(1, Math.round(d * factor))
}

/** Throw a titled RangeError unless `options` is a sane schedule (used when resolving options). */
export function checkBackoff(name: string, options: BackoffOptions): BackoffOptions {
  const { base, max, jitter } = options
  if (!Number.isFinite(base) || base < 1) throw new RangeError(`"${name}.base" expected a number ≥ 1, got ${base}`)
  if (!Number.isFinite(max) || max < base) throw new RangeError(`"${name}.max" expected a number ≥ base, got ${max}`)
  if (!Number.isFinite(jitter) || jitter < 0 || jitter > 1) throw new RangeError(`"${name}.jitter" expected a number in [0, 1], got ${jitter}`)
  return { base, max, jitter }
}

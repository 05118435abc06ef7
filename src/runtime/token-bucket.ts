/**
 * A token bucket: at most `perSecond` units per second, with bursts up to one second's worth.
 *
 * One per connection and per measure (frames, bytes): the edge takes from both for every frame
 * that arrives, before it is queued (src/runtime/conn-edge.ts).
 * @module
 */
export class TokenBucket {
  private tokens: number
  private refilledAt: number
  private readonly perSecond: number

  constructor(perSecond: number, now: number) {
    this.perSecond = perSecond
    this.tokens = perSecond
    this.refilledAt = now
  }

  /** Take `amount` at time `now` (ms); false when the bucket is overdrawn. */
  take(amount: number, now: number): boolean {
    const elapsed = (now - this.refilledAt) / 1000
    if (elapsed > 0) {
      this.tokens = Math.min(this.perSecond, this.tokens + elapsed * this.perSecond)
      this.refilledAt = now
    }
    this.tokens -= amount
    return this.tokens >= 0
  }
}

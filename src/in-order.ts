/**
 * Promises settled in order with the event stream.
 *
 * A promise the swarm hands out (`findPeer`; the actor layer's `ask`, `spawnOn`, `lookup`)
 * must not settle about a state the user's event stream has not reached: its answer comes out
 * of the queue like any event, so it settles when the consumer takes the event at the position
 * where the answer came out, not when the machine emitted it. Usage in the facade: when an
 * answer arrives (in `Swarm._event`, right after its event was put in the stream), call
 * `swarm._settleInOrder(() => resolve(value))`; the facade runs it as the consumer takes that
 * event. A settlement registered when the stream is already past its position runs at once.
 * @module
 */
export class InOrder {
  /** Settlements waiting for the consumer, by stream position (non-decreasing). */
  private readonly due: { position: number; settle: () => void }[] = []
  /** Events taken by the consumer so far. */
  private taken = 0

  /** Run `settle` once the consumer has taken the event at `position` (1 = the first event). */
  at(position: number, settle: () => void): void {
    if (position <= this.taken) settle()
    else this.due.push({ position, settle })
  }

  /** The consumer took one more event: run the settlements due at it. */
  took(): void {
    this.taken++
    let i = 0
    while (i < this.due.length && this.due[i].position <= this.taken) i++
    for (const { settle } of this.due.splice(0, i)) settle()
  }
}

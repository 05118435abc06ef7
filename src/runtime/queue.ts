/**
 * The swarm's one FIFO of inputs.
 *
 * Everything that happens (socket data, closes, timers, user calls) is appended here and
 * taken one at a time by the driver. `push` always accepts (nothing is dropped); it reports
 * whether the queue is above its bound so the caller can pause the socket that pushed:
 * that is the backpressure. A ring buffer keeps push/shift O(1) without array shifting.
 * @module
 */

export class InputQueue<T> {
  private items: (T | undefined)[]
  private head = 0
  private count = 0
  /** Above this many items, `push` returns false (the caller should pause its source). */
  readonly bound: number

  constructor(bound: number) {
    this.bound = bound
    this.items = new Array(64)
  }

  get length(): number {
    return this.count
  }

  /** Append; false means the queue is over its bound (the item was still accepted). */
  push(item: T): boolean {
    if (this.count === this.items.length) this.grow()
    this.items[(this.head + this.count) % this.items.length] = item
    this.count++
    return this.count <= this.bound
  }

  /** The item `shift` would take, left in place. */
  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head]
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined
    this.head = (this.head + 1) % this.items.length
    this.count--
    return item
  }

  private grow(): void {
    const next = new Array<T | undefined>(this.items.length * 2)
    for (let i = 0; i < this.count; i++) next[i] = this.items[(this.head + i) % this.items.length]
    this.items = next
    this.head = 0
  }
}

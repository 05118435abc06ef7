/** src/in-order.ts: settlements run when the consumer takes their event's position, in order. */
import { describe, expect, it } from 'vitest'
import { InOrder } from '../../src/in-order.js'

describe('InOrder', () => {
  it('runs each settlement when its position is taken, in registration order; a past position runs at once', () => {
    const order = new InOrder()
    const ran: string[] = []
    order.at(2, () => ran.push('a'))
    order.at(2, () => ran.push('b'))
    order.at(3, () => ran.push('c'))
    order.took()
    expect(ran).toEqual([])
    order.took()
    expect(ran).toEqual(['a', 'b'])
    order.at(1, () => ran.push('past'))
    expect(ran).toEqual(['a', 'b', 'past'])
    order.took()
    expect(ran).toEqual(['a', 'b', 'past', 'c'])
  })
})

/**
 * machines/lib/slab.ts: parts of a shared buffer, each handed out once (pubsub's ids, cached
 * message bytes and signed bytes are cut from slabs).
 */
import { describe, expect, it } from 'vitest'
import { createSlab, slabPart } from '../../machines/lib/slab.js'

describe('slab', () => {
  it('hands out zero-filled parts that never overlap, and a fresh buffer when one is full', () => {
    const slab = createSlab(10)
    const a = slabPart(slab, 4)
    const b = slabPart(slab, 4)
    a.fill(1)
    expect([...b]).toEqual([0, 0, 0, 0])
    expect(a.buffer).toBe(b.buffer)
    const c = slabPart(slab, 4) // 8 + 4 > 10: a new buffer
    expect(c.buffer).not.toBe(a.buffer)
    expect([...a]).toEqual([1, 1, 1, 1])
  })

  it('starts the next part on a multiple of align', () => {
    const slab = createSlab(64)
    const a = slabPart(slab, 3, 8)
    const b = slabPart(slab, 5, 8)
    expect([a.byteOffset, b.byteOffset]).toEqual([0, 8])
    expect(b.length).toBe(5)
  })

  it('refuses a part larger than a buffer', () => {
    expect(() => slabPart(createSlab(8), 9)).toThrow(RangeError)
  })
})

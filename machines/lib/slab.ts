/**
 * Slabs: many small byte arrays cut from one shared buffer instead of an ArrayBuffer each (an
 * ArrayBuffer of its own costs about as much as hashing a few hundred bytes). A part is handed
 * out once, never reused, from a zero-filled buffer, so it is what `new Uint8Array(size)` would
 * be and stays valid while held; a buffer lives while any part of it does.
 * @module
 */

/** A shared buffer and the bytes of it handed out. */
export interface Slab {
  buffer: Uint8Array
  used: number
  /** Bytes of each new buffer. */
  readonly bytes: number
}

const EMPTY = new Uint8Array(0)

/** A slab that makes its first buffer, of `bytes`, with its first part. */
export function createSlab(bytes: number): Slab {
  return { buffer: EMPTY, used: 0, bytes }
}

/**
 * The next `size` bytes of `slab` (at most `slab.bytes`), a fresh buffer when the current one
 * has no room; the part after it starts on a multiple of `align`.
 */
export function slabPart(slab: Slab, size: number, align = 1): Uint8Array {
  if (size > slab.bytes) throw new RangeError(`slab part of ${size} bytes: at most ${slab.bytes}`)
  if (slab.used + size > slab.buffer.length) {
    slab.buffer = new Uint8Array(slab.bytes)
    slab.used = 0
  }
  const at = slab.used
  slab.used = Math.ceil((at + size) / align) * align
  return slab.buffer.subarray(at, at + size)
}

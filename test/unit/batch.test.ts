/**
 * Batch frames (src/codec/batch.ts): what a sender writes decodes, part by part, to the frames
 * it was given, in order, at every header size; what a receiver refuses, with its reason.
 */
import { describe, expect, it } from 'vitest'
import { BATCH_PROTOCOL, MAX_BATCH_PARTS, batchParts, encodeBatch } from '../../src/codec/batch.js'
import { decodeFrame, encodeFrame } from '../../src/codec/frame.js'
import { CodecError } from '../../src/errors.js'

function roundTrip(frames: Uint8Array[]): Uint8Array[] {
  const bytes = encodeBatch(frames, frames.reduce((n, f) => n + f.length, 0))
  const outer = decodeFrame(bytes, { maxFrameBytes: 2 ** 32 - 1 })
  expect(outer.protocol).toBe(BATCH_PROTOCOL)
  const parts = batchParts(outer.body, Number.MAX_SAFE_INTEGER)
  if (parts instanceof CodecError) throw parts
  return parts
}

describe('encodeBatch / batchParts', () => {
  it('two frames come back byte for byte, in order, as views of the batch', () => {
    const a = encodeFrame('/a/1', { n: 1 })
    const b = encodeFrame('/b/1', [2, new Uint8Array(3)])
    const parts = roundTrip([a, b])
    expect(parts).toEqual([a, b])
    expect(decodeFrame(parts[0])).toEqual({ protocol: '/a/1', body: { n: 1 } })
    expect(decodeFrame(parts[1]).body).toEqual([2, new Uint8Array(3)])
  })

  it('every array and bin header size: 15, 16 and 300 parts; parts of 255, 256, 65,535 and 65,536 bytes', () => {
    for (const count of [15, 16, 300]) {
      const frames = Array.from({ length: count }, (_, i) => encodeFrame('/n/1', i))
      expect(roundTrip(frames).map((p) => decodeFrame(p).body)).toEqual(frames.map((_, i) => i))
    }
    const sized = [255, 256, 65_535, 65_536].map((n) => {
      const frame = new Uint8Array(n)
      frame.set(encodeFrame('/p', null))
      return frame
    })
    expect(roundTrip(sized)).toEqual(sized)
  })

  it(`more than ${MAX_BATCH_PARTS} parts: batch-too-large`, () => {
    const parts = Array.from({ length: MAX_BATCH_PARTS + 1 }, () => encodeFrame('/n/1', 0))
    const refused = batchParts(parts)
    expect(refused).toBeInstanceOf(CodecError)
    expect((refused as CodecError).code).toBe('batch-too-large')
    expect(batchParts(parts.slice(1))).toHaveLength(MAX_BATCH_PARTS)
  })

  it('not a non-empty array of bin, or a batch inside a batch: batch-malformed', () => {
    const pair = [encodeFrame('/a', 1), encodeFrame('/a', 2)]
    const inner = encodeBatch(pair, pair[0].length + pair[1].length)
    for (const body of [[], {}, 'x', null, [encodeFrame('/a', 1), 'text'], [inner]]) {
      const refused = batchParts(body)
      expect(refused).toBeInstanceOf(CodecError)
      expect((refused as CodecError).code).toBe('batch-malformed')
    }
  })
})

/**
 * Frame codec throughput: encode + decode of one frame, with and without the structural pre-scan.
 *
 * The "no scan" rows run a Packr/Unpackr with the same pinned options directly, so their
 * difference to the codec rows is the cost of the safety fence (scan, shape check, UTF-8
 * validation, result view). Run: `npx tsx bench/codec.ts [--write]`; `--write` stores the
 * figures in bench/results/codec.json.
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { Packr, Unpackr } from 'msgpackr'
import { DEFAULT_CODEC_LIMITS, PACK_OPTIONS, UNPACK_OPTIONS, decodeFrame, encodeFrame, scanFrame } from '../src/codec/frame.js'

// The codec's own options, without its pre-scan and shape checks.
const rawPackr = new Packr({ ...PACK_OPTIONS })
const rawUnpackr = new Unpackr({ ...UNPACK_OPTIONS })

/** The codec's decode path minus `scanFrame`: same view, unpack and shape check. */
function decodeWithoutScan(bytes: Uint8Array): { protocol: string; body: unknown } {
  const value = rawUnpackr.unpack(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)) as unknown[]
  if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== 'string') throw new Error('shape')
  return { protocol: value[0], body: value[1] }
}
/** The codec's encode path minus `scanFrame`. */
function encodeWithoutScan(protocol: string, body: unknown): Uint8Array {
  const packed = rawPackr.pack([protocol, body])
  return new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength)
}

interface Row {
  case: string
  op: string
  frameBytes: number
  framesPerSecond: number
  megabytesPerSecond: number
}

/** Frames per second of `run` over ~`ms` milliseconds. */
function rate(run: () => void, ms: number): number {
  let n = 0
  const start = process.hrtime.bigint()
  let elapsed = 0
  while (elapsed < ms * 1e6) {
    for (let i = 0; i < 200; i++) run()
    n += 200
    elapsed = Number(process.hrtime.bigint() - start)
  }
  return (n * 1e9) / elapsed
}

/**
 * Measure several ops on one case round-robin (7 rounds of 150 ms each, median), so that
 * load from other processes and GC debt spread evenly over the variants being compared.
 */
function compare(name: string, frameBytes: number, ops: Array<[string, () => void]>): Row[] {
  for (const [, run] of ops) for (let i = 0; i < 20_000; i++) run() // warm up
  const rates: number[][] = ops.map(() => [])
  for (let round = 0; round < 7; round++) ops.forEach(([, run], i) => rates[i].push(rate(run, 150)))
  return ops.map(([op], i) => {
    const fps = rates[i].sort((a, b) => a - b)[3]
    return { case: name, op, frameBytes, framesPerSecond: Math.round(fps), megabytesPerSecond: +((fps * frameBytes) / 1e6).toFixed(1) }
  })
}

const bodies: Array<[string, unknown]> = [
  ['bin 128 B', new Uint8Array(128).fill(7)],
  ['bin 64 KiB', new Uint8Array(64 * 1024).fill(7)],
  [
    'pubsub-like object',
    { topic: 'chat/room-1', from: '3HhGPB6ht33n51YFaocqBtGePb3xqT4VgnjYbd81eeZW', seq: 123456, data: new Uint8Array(128).fill(1), hops: 3 },
  ],
]

const rows: Row[] = []
let sink = 0
for (const [name, body] of bodies) {
  const frame = encodeFrame('/xswarm/pubsub/1', body)
  const size = frame.length
  rows.push(
    ...compare(name, size, [
      ['encode+decode (codec)', () => void (sink += decodeFrame(encodeFrame('/xswarm/pubsub/1', body)).protocol.length)],
      ['encode+decode (no scan)', () => void (sink += decodeWithoutScan(encodeWithoutScan('/xswarm/pubsub/1', body)).protocol.length)],
    ]),
    ...compare(name, size, [
      ['encode (codec)', () => void (sink += encodeFrame('/xswarm/pubsub/1', body).length)],
      ['encode (no scan)', () => void (sink += encodeWithoutScan('/xswarm/pubsub/1', body).length)],
    ]),
    ...compare(name, size, [
      ['decode (codec)', () => void (sink += decodeFrame(frame).protocol.length)],
      ['decode (no scan)', () => void (sink += decodeWithoutScan(frame).protocol.length)],
      ['scan only', () => void (sink += scanFrame(frame, DEFAULT_CODEC_LIMITS) === null ? 1 : 0)],
    ]),
  )
}

console.table(rows)
if (sink === 42) console.log('') // keep the work observable
if (process.argv.includes('--write')) {
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
  const out = { node: process.version, date: new Date().toISOString(), rows }
  writeFileSync(new URL('./results/codec.json', import.meta.url), JSON.stringify(out, null, 2) + '\n')
}

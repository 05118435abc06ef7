// # Which code allocates ArrayBuffers in the light phase (diagnostic preload, not a benchmark)
//
// V8 counts the bytes of ArrayBuffers allocated since its last mark-compact against the old
// generation's limit, so at 64 KiB they, not the JS heap, decide when the next full GC starts
// (bench/README, "the n = 10, 64 KiB light phase is a phase of full GCs"). This preload counts
// them by the code that made them, over latency-tail.mjs's light phase (its --mark lines):
//
//   node --expose-gc -r ./bench/pubsub/arraybuffer-count.cjs bench/pubsub/latency-tail.mjs \
//        --nodes 10 --size 65536 --publisher rr --seconds 15 --mark
//
// It prints, per delivery (AB_DELIVERIES, default 1350 = 15 s x 10 msg/s x 9 receivers), the
// bytes of socket reads and of every allocation of AB_MIN (4096) bytes or more, in units of 64
// KiB, and the AB_TOP (30) sites with most bytes (4 frames of stack each). Counted: Buffer.alloc*,
// new Uint8Array / ArrayBuffer (over 64 bytes, where V8 puts them outside the heap), slice,
// node:crypto Cipheriv/Decipheriv update, and net sockets' reads. Not counted: what native code
// allocates otherwise. Wrapping these slows everything: the latencies of such a run mean nothing.
const MIN = Number(process.env.AB_MIN ?? 4096)
const BIG = 60000
const here = __filename
const sites = new Map()
let on = false
let total = 0, reads = 0, readBytes = 0

function site () {
  const o = {}
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 12
  Error.captureStackTrace(o, site)
  Error.stackTraceLimit = limit
  return o.stack.split('\n').slice(1).filter((l) => !l.includes(here)).slice(0, 4)
    .map((l) => l.trim().replace(/^at /, '').replace(/\(?file:\/\/[^ ]*?\/(dist|node_modules|bench)\//, '($1/')).join(' < ')
}

function note (bytes, kind) {
  if (!on || bytes < MIN) return
  total += bytes
  const key = `${kind}${bytes >= BIG ? ' (64 KiB+)' : ''} ${site()}`
  const entry = sites.get(key) ?? { n: 0, bytes: 0 }
  entry.n++
  entry.bytes += bytes
  sites.set(key, entry)
}

for (const name of ['allocUnsafe', 'allocUnsafeSlow', 'alloc']) {
  const original = Buffer[name]
  Buffer[name] = function (size, ...rest) { note(size, `Buffer.${name}`); return original.call(this, size, ...rest) }
}
const U8 = Uint8Array
globalThis.Uint8Array = new Proxy(U8, {
  construct (target, args, newTarget) {
    const a = args[0]
    if (typeof a === 'number') note(a > 64 ? a : 0, 'new Uint8Array')
    else if (a != null && typeof a === 'object' && !(a instanceof ArrayBuffer) && a.length > 64) note(a.length, 'new Uint8Array(copy)')
    return Reflect.construct(target, args, newTarget)
  },
})
const slice = U8.prototype.slice
U8.prototype.slice = function (start, end) { const r = slice.call(this, start, end); note(r.length > 64 ? r.length : 0, 'slice'); return r }
const AB = ArrayBuffer
globalThis.ArrayBuffer = new Proxy(AB, { construct (t, args, nt) { note(args[0] > 64 ? args[0] : 0, 'new ArrayBuffer'); return Reflect.construct(t, args, nt) } })
const crypto = require('node:crypto')
const key = Buffer.alloc(32), nonce = Buffer.alloc(12)
for (const proto of [crypto.createCipheriv, crypto.createDecipheriv].map((make) => Object.getPrototypeOf(make('chacha20-poly1305', key, nonce, { authTagLength: 16 })))) {
  const update = proto.update
  proto.update = function (...args) { const r = update.apply(this, args); note(r.length, 'cipher.update'); return r }
}
const { Readable } = require('node:stream')
const { Socket } = require('node:net')
const push = Readable.prototype.push
Readable.prototype.push = function (chunk, ...rest) {
  if (on && chunk?.buffer && this instanceof Socket) { reads++; readBytes += chunk.buffer.byteLength }
  return push.call(this, chunk, ...rest)
}

function report () {
  const deliveries = Number(process.env.AB_DELIVERIES ?? 1350)
  const per = (bytes) => (bytes / 65536 / deliveries).toFixed(2)
  console.error(`per delivery, in 64 KiB: socket reads ${per(readBytes)} (${reads} reads), allocations of ${MIN} B or more ${per(total)}`)
  for (const [k, v] of [...sites].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, Number(process.env.AB_TOP ?? 30))) {
    console.error(`${per(v.bytes).padStart(6)} ${String(v.n).padStart(6)}x  ${k}`)
  }
}

const fs = require('node:fs')
const writeSync = fs.writeSync
fs.writeSync = function (fd, text, ...rest) {
  if (fd === 1 && typeof text === 'string' && text.startsWith('PHASE-START')) on = true
  if (fd === 1 && typeof text === 'string' && text.startsWith('PHASE-END')) { on = false; report() }
  return writeSync.call(this, fd, text, ...rest)
}

/**
 * The secure channel: handshakes per second, AEAD alone, and throughput on one connection.
 *
 *  - `handshake.<suite>` / `handshake.identity.<suite>`: a Noise XX handshake in memory (both
 *    sides), bare and with the identity payload verified both ways; nativeSuite vs nobleSuite.
 *  - `aead.<suite>.<op>.64KiB` (MB/s) and `aead.<suite>.<op>.64B` (ops/s): ChaCha20-Poly1305
 *    through the Noise CipherState (`encryptWithAd`/`decryptWithAd`, as the driver calls it).
 *  - `throughput.rawWs.{mask,zeroMask}`: the `ws` package alone, 64 KiB client → server, with
 *    the random RFC 6455 mask and with an all-zero mask (which ws skips on both ends).
 *  - `throughput.plainWs`: the raw ws transport (src/transport/ws.ts) on 127.0.0.1, 64 KiB
 *    bodies framed with msgpackr (`encodeFrame`/`tryDecodeFrame`), no encryption, no swarm; the
 *    sender keeps at most 4 MiB buffered. The plain baseline.
 *  - `throughput.swarm.<transport>`: 64 KiB bodies from a user protocol on one swarm to another,
 *    through everything (queue, machines, msgpackr, ChaCha20-Poly1305 with nativeSuite),
 *    window 32 frames, one ack per 8. MB/s of body bytes delivered to the receiving protocol.
 * @module
 */
import { randomBytes } from 'node:crypto'
import { WebSocket, WebSocketServer } from 'ws'
import type { CryptoSuite } from '../../machines/lib/crypto.js'
import { nobleSuite } from '../../machines/lib/crypto-noble.js'
import { decryptWithAd, encryptWithAd } from '../../machines/secure/cipher-state.js'
import { encodeFrame, resolveCodecLimits, tryDecodeFrame } from '../../src/codec/frame.js'
import { nativeSuite } from '../../src/crypto/native.js'
import type { Conn } from '../../src/transport/transport.js'
import { createWsTransport } from '../../src/transport/ws.js'
import { BLAST_ID } from './blast.js'
import { handshaker } from './handshake.js'
import { blastRate } from './queue.js'
import { bounded, now, opsPerSecond, progress, rateFigure, rateFromSamples, turn, type Budget, type Figure } from './util.js'

const KIB64 = 64 * 1024
const SUITES: CryptoSuite[] = [nativeSuite, nobleSuite]

function handshakes(budget: Budget): Figure[] {
  const out: Figure[] = []
  for (const suite of SUITES) {
    out.push(rateFigure(`handshake.${suite.name}`, opsPerSecond(handshaker(suite, false), budget.ms, 1), 'handshakes/s', `bare Noise XX in memory, both sides, ${suite.name}Suite`))
    out.push(rateFigure(`handshake.identity.${suite.name}`, opsPerSecond(handshaker(suite, true), budget.ms, 1), 'handshakes/s', `Noise XX + identity payload verified both ways, ${suite.name}Suite`))
  }
  return out
}

function aead(budget: Budget): Figure[] {
  const out: Figure[] = []
  const empty = new Uint8Array(0)
  for (const suite of SUITES) {
    for (const size of [KIB64, 64]) {
      const key = randomBytes(32)
      const plain = randomBytes(size)
      const label = size === KIB64 ? '64KiB' : '64B'
      const enc = { k: key, n: 0 }
      const rEnc = opsPerSecond(() => encryptWithAd(suite, enc, empty, plain), budget.ms / 2, size === KIB64 ? 1 : 16)
      // Decrypt a fixed ciphertext with a rewound nonce each time (the nonce must match).
      const sealed = encryptWithAd(suite, { k: key, n: 0 }, empty, plain)!
      const dec = { k: key, n: 0 }
      const rDec = opsPerSecond(() => {
        dec.n = 0
        if (decryptWithAd(suite, dec, empty, sealed) === null) throw new Error('decrypt failed')
      }, budget.ms / 2, size === KIB64 ? 1 : 16)
      for (const [op, r] of [['encrypt', rEnc], ['decrypt', rDec]] as const) {
        if (size === KIB64) {
          const mb = { ...r, perSec: (r.perSec * size) / 1e6, best: (r.best * size) / 1e6, worst: (r.worst * size) / 1e6, perCpuSecond: ((r.perCpuSecond ?? NaN) * size) / 1e6 }
          out.push(rateFigure(`aead.${suite.name}.${op}.${label}`, mb, 'MB/s', `ChaCha20-Poly1305 ${op}, 64 KiB messages, ${suite.name}Suite`))
        } else {
          out.push(rateFigure(`aead.${suite.name}.${op}.${label}`, r, 'ops/s', `ChaCha20-Poly1305 ${op}, 64-byte messages, ${suite.name}Suite`))
        }
      }
    }
  }
  return out
}

/** Raw ws transport + msgpackr framing, one connection, one way. */
async function plainWs(ms: number): Promise<Figure> {
  const codec = resolveCodecLimits({ maxFrameBytes: 1024 * 1024 })
  const server = createWsTransport({ maxMessageBytes: 1024 * 1024 })
  const client = createWsTransport({ maxMessageBytes: 1024 * 1024 })
  let received = 0
  let bytes = 0
  const samples: [number, number][] = []
  const listener = await server.listen('ws://127.0.0.1:0', (conn) => conn.attach({
    data(m) {
      const frame = tryDecodeFrame(m, codec)
      if (frame instanceof Error) throw frame
      received++
      bytes += (frame.body as Uint8Array).length
      if (received % 16 === 0) samples.push([now(), bytes])
    },
    closed() {},
  }))
  const conn: Conn = await client.dial(listener.addresses[0])
  conn.attach({ data() {}, closed() {} })
  const body = new Uint8Array(KIB64).fill(0xab)
  const HIGH_WATER = 4 * 1024 * 1024
  const warm = Math.min(500, ms / 4)
  const start = now()
  await bounded('plain ws', ms + warm + 10_000, (async () => {
    while (now() - start < warm + ms) {
      for (let i = 0; i < 64 && conn.bufferedAmount < HIGH_WATER; i++) conn.send(encodeFrame(BLAST_ID, body, codec))
      await turn()
    }
  })())
  conn.close('done')
  await Promise.all([client.close(), server.close()])
  const measured = samples.filter(([t]) => t >= start + warm)
  const rate = rateFromSamples(measured, Math.max(100, ms / 10))
  const mb = { ...rate, perSec: rate.perSec / 1e6, best: rate.best / 1e6, worst: rate.worst / 1e6 }
  return rateFigure('throughput.plainWs', mb, 'MB/s', 'ws transport + msgpackr frames, 64 KiB bodies, no encryption, no swarm', { messages: received })
}

/**
 * The `ws` package alone, client → server, 64 KiB binary messages: with the RFC 6455 random mask
 * (ws masks and unmasks in a JS loop unless the optional `bufferutil` addon is installed) and
 * with an all-zero mask (`generateMask`), which ws skips on both ends.
 */
async function rawWsThroughput(ms: number, zeroMask: boolean): Promise<Figure> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 1024 * 1024 })
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()))
  let bytes = 0
  let count = 0
  const samples: [number, number][] = []
  wss.on('connection', (ws) => ws.on('message', (data: Buffer) => {
    bytes += data.length
    if (++count % 16 === 0) samples.push([now(), bytes])
  }))
  const port = (wss.address() as { port: number }).port
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false, ...(zeroMask ? { generateMask: (mask: Buffer) => { mask.fill(0) } } : {}) })
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
  const body = Buffer.alloc(KIB64, 0xab)
  const warm = Math.min(500, ms / 4)
  const start = now()
  await bounded('raw ws throughput', ms + warm + 10_000, (async () => {
    while (now() - start < warm + ms) {
      for (let i = 0; i < 64 && ws.bufferedAmount < 4 * 1024 * 1024; i++) ws.send(body, { binary: true })
      await turn()
    }
  })())
  ws.terminate()
  for (const client of wss.clients) client.terminate()
  await new Promise<void>((resolve) => wss.close(() => resolve()))
  const rate = rateFromSamples(samples.filter(([t]) => t >= start + warm), Math.max(100, ms / 10))
  const mb = { ...rate, perSec: rate.perSec / 1e6, best: rate.best / 1e6, worst: rate.worst / 1e6 }
  return rateFigure(`throughput.rawWs.${zeroMask ? 'zeroMask' : 'mask'}`, mb, 'MB/s',
    `ws package alone, 64 KiB client → server, ${zeroMask ? 'all-zero mask (masking skipped)' : 'random mask (JS mask/unmask loops)'}`)
}

export async function secureBench(budget: Budget): Promise<Figure[]> {
  const out: Figure[] = []
  progress('handshakes: native vs noble')
  out.push(...handshakes(budget))
  progress('AEAD alone: native vs noble')
  out.push(...aead(budget))
  for (const zero of [false, true]) {
    progress(`throughput: ws package alone, ${zero ? 'zero' : 'random'} mask`)
    out.push(await rawWsThroughput(budget.ms, zero))
  }
  progress('throughput: plain ws transport + msgpackr')
  out.push(await plainWs(budget.ms))
  for (const kind of ['ws', 'memory'] as const) {
    progress(`throughput: encrypted, through the full swarm over ${kind}`)
    const r = await blastRate(kind, budget.ms, { size: KIB64, window: 32, ackEvery: 8 })
    const mb = { ...r.rate, perSec: (r.rate.perSec * KIB64) / 1e6, best: (r.rate.best * KIB64) / 1e6, worst: (r.rate.worst * KIB64) / 1e6 }
    out.push(rateFigure(`throughput.swarm.${kind}`, mb, 'MB/s', `64 KiB bodies swarm → swarm over ${kind}, encrypted (native), window 32`, { messages: r.received, elapsedMs: Math.round(r.elapsedMs) }))
  }
  return out
}

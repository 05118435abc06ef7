/**
 * Transport benchmark: the ws transport on loopback (127.0.0.1), both ends in one process.
 *
 * Figures: one-way throughput (messages/s and MB/s) for 128 B and 64 KiB messages, with and
 * without cork batching (the `batch` option), and connection setups/s (listen once; dial, open,
 * close N times, sequentially and 16 at a time). Prints one line per figure and a JSON summary;
 * it asserts nothing (figures vary by machine).
 * Run after a build: `node dist/bench/transport.js [seconds per throughput figure, default 2]`.
 * @module
 */
import type { Conn, Transport } from '../src/transport/transport.js'
import { createWsTransport } from '../src/transport/ws.js'

const seconds = Number(process.argv[2] ?? 2)
const HIGH_WATER = 4 * 1024 * 1024
const BURST = 1024

async function pair(batch: boolean): Promise<{ server: Transport; client: Transport; address: string }> {
  const server = createWsTransport({ maxMessageBytes: 1024 * 1024, batch })
  const client = createWsTransport({ maxMessageBytes: 1024 * 1024, batch })
  const listener = await server.listen('ws://127.0.0.1:0', (conn) => conn.attach({ data() {}, closed() {} }))
  return { server, client, address: listener.addresses[0] }
}

/** Sends `size`-byte messages one way for about `seconds`, in bursts bounded by bufferedAmount. */
async function throughput(size: number, batch: boolean): Promise<{ msgsPerSec: number; mbPerSec: number }> {
  const server = createWsTransport({ maxMessageBytes: 1024 * 1024, batch })
  const client = createWsTransport({ maxMessageBytes: 1024 * 1024, batch })
  let received = 0
  let bytes = 0
  const listener = await server.listen('ws://127.0.0.1:0', (conn) =>
    conn.attach({
      data(m) {
        received++
        bytes += m.byteLength
      },
      closed() {},
    }),
  )
  const conn = await client.dial(listener.addresses[0])
  conn.attach({ data() {}, closed() {} })
  const message = new Uint8Array(size).fill(7)
  let sent = 0
  const start = performance.now()
  const deadline = start + seconds * 1000
  while (performance.now() < deadline) {
    for (let i = 0; i < BURST && conn.bufferedAmount < HIGH_WATER; i++) {
      conn.send(message)
      sent++
    }
    await new Promise((resolve) => setImmediate(resolve))
  }
  while (received < sent) await new Promise((resolve) => setImmediate(resolve))
  const elapsed = (performance.now() - start) / 1000
  await Promise.all([client.close(), server.close()])
  return { msgsPerSec: received / elapsed, mbPerSec: bytes / elapsed / 1e6 }
}

/** Dial, wait for open, close and wait for `closed`: one setup. */
async function setup(client: Transport, address: string): Promise<void> {
  const conn: Conn = await client.dial(address)
  await new Promise<void>((resolve) => {
    conn.attach({ data() {}, closed: () => resolve() })
    conn.close('bench')
  })
}

async function setups(n: number, parallel: number): Promise<number> {
  const { server, client, address } = await pair(true)
  let next = 0
  const start = performance.now()
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++
      await setup(client, address)
    }
  }
  await Promise.all(Array.from({ length: parallel }, worker))
  const elapsed = (performance.now() - start) / 1000
  await Promise.all([client.close(), server.close()])
  return n / elapsed
}

const results: Record<string, number> = {}
for (const size of [128, 64 * 1024])
  for (const batch of [true, false]) {
    const r = await throughput(size, batch)
    const key = `ws ${size === 128 ? '128 B' : '64 KiB'} ${batch ? 'corked' : 'uncorked'}`
    results[`${key} msg/s`] = Math.round(r.msgsPerSec)
    results[`${key} MB/s`] = Math.round(r.mbPerSec * 10) / 10
    console.log(`${key.padEnd(26)} ${Math.round(r.msgsPerSec).toLocaleString('en').padStart(10)} msg/s ${r.mbPerSec.toFixed(1).padStart(8)} MB/s`)
  }
for (const parallel of [1, 16]) {
  const rate = await setups(500, parallel)
  results[`ws setups/s x${parallel}`] = Math.round(rate)
  console.log(`${`ws setups (N=500, ${parallel} at a time)`.padEnd(36)} ${Math.round(rate).toLocaleString('en').padStart(8)} /s`)
}
console.log(JSON.stringify({ bench: 'transport', node: process.version, seconds, results }))

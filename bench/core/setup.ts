/**
 * Connection setups per second: dial + Noise XX handshake (with the identity binding) + both
 * sides have handed out `peer.connected`, between swarms in one process on 127.0.0.1.
 *
 * One listener swarm; `count` fresh dialer swarms (created before the clock starts), each
 * dialing the listener once, `concurrency` dials in flight (a worker pool). The rate is setups
 * divided by the time from the first dial to the last pair of `peer.connected`; per-setup
 * latency percentiles are kept as detail. Connections stay open until the figure is taken.
 *
 * Limits: the listener runs with `maxConnections: 4096` and `maxPendingConnections: 1024`
 * (defaults 1024 and 128; 64 in flight fits the defaults, the raise only guarantees that no
 * setup is refused while earlier ones are still being torn down). Each dialer makes one dial,
 * so `maxPendingDials` (default 64, per swarm) is never reached.
 *
 * Baselines in the same run: raw `ws` connect+open (no handshake, no swarm) at the same
 * concurrency, and the bare Noise XX handshake in memory (noise.ts, nativeSuite), with and
 * without the identity payload.
 * @module
 */
import { WebSocket, WebSocketServer } from 'ws'
import { nativeSuite } from '../../src/crypto/native.js'
import { handshaker } from './handshake.js'
import { isConnected, Net, startSwarm, type Driven, type TransportKind } from './swarms.js'
import { bounded, load, now, opsPerSecond, percentile, progress, rateFigure, type Budget, type Figure } from './util.js'

/** Run `count` jobs with `concurrency` in flight; returns per-job latencies (ms) and the elapsed time. */
async function pool(count: number, concurrency: number, job: (i: number) => Promise<void>): Promise<{ elapsedMs: number; cpuMs: number; latencies: number[] }> {
  let next = 0
  const latencies: number[] = []
  const cpu0 = process.cpuUsage()
  const start = now()
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++
      const t0 = now()
      await job(i)
      latencies.push(now() - t0)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  const elapsedMs = now() - start
  const cpu = process.cpuUsage(cpu0)
  return { elapsedMs, cpuMs: (cpu.user + cpu.system) / 1000, latencies: latencies.sort((a, b) => a - b) }
}

function setupFigure(name: string, count: number, r: { elapsedMs: number; cpuMs: number; latencies: number[] }, note: string): Figure {
  return {
    name, value: (count * 1000) / r.elapsedMs, unit: 'setups/s', note,
    detail: {
      count, elapsedMs: Math.round(r.elapsedMs),
      /** Process CPU time (all threads) per setup, both ends: robust to a busy neighbour. */
      cpuMsPerSetup: Math.round((r.cpuMs / count) * 100) / 100,
      /** Setups per second of process CPU time: the rate on a dedicated core. */
      perCpuSecond: Math.round((count * 1000) / r.cpuMs),
      load: load(),
      p50Ms: Math.round(percentile(r.latencies, 0.5) * 100) / 100,
      p99Ms: Math.round(percentile(r.latencies, 0.99) * 100) / 100,
    },
  }
}

/** Raw ws: connect + open, no handshake; all kept open until the end. */
async function rawWs(count: number, concurrency: number): Promise<Figure> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, clientTracking: true })
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()))
  const port = (wss.address() as { port: number }).port
  const clients: WebSocket[] = []
  const r = await bounded('raw ws setups', 60_000, pool(count, concurrency, (i) => new Promise<void>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false })
    clients[i] = ws
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })))
  for (const ws of clients) ws.terminate()
  for (const ws of wss.clients) ws.terminate()
  await new Promise<void>((resolve) => wss.close(() => resolve()))
  return setupFigure(`setup.rawWs.c${concurrency}`, count, r, `raw ws connect+open, ${concurrency} in flight (no handshake)`)
}

/** Called around the timed part of `swarmSetups` (a profiler hooks in here). */
export const setupHooks: { start?: () => void; stop?: () => Promise<void> | void } = {}

/** Swarm setups: fresh dialers, one dial each, `concurrency` in flight. */
export async function swarmSetups(kind: TransportKind, count: number, concurrency: number): Promise<Figure> {
  const net = new Net(kind)
  const listener = await startSwarm(net, { limits: { maxConnections: 4096, maxPendingConnections: 1024 } })
  const dialers: Driven[] = []
  for (let i = 0; i < count; i++) dialers.push(await startSwarm(net, { listens: false }))
  const address = listener.address
  setupHooks.start?.()
  const r = await bounded(`swarm setups over ${kind}`, 120_000, pool(count, concurrency, async (i) => {
    const d = dialers[i]
    const a = d.next('dialer peer.connected', isConnected(listener.peerId), 30_000)
    const b = listener.next('listener peer.connected', isConnected(d.peerId), 30_000)
    d.swarm.dial(address)
    await Promise.all([a, b])
  }))
  await setupHooks.stop?.()
  await Promise.all(dialers.map((d) => d.close()))
  await listener.close()
  return setupFigure(`setup.swarm.${kind}.c${concurrency}`, count, r, `dial + Noise XX + both peer.connected over ${kind}, ${concurrency} in flight`)
}

export async function setupBench(budget: Budget): Promise<Figure[]> {
  const out: Figure[] = []
  const count = budget.quick ? 32 : 256
  progress('bare Noise XX handshakes (native)')
  out.push(rateFigure('noise.xx.native', opsPerSecond(handshaker(nativeSuite, false), budget.ms, 1), 'handshakes/s', 'bare Noise XX in memory, both sides (noise.ts, nativeSuite)'))
  out.push(rateFigure('noise.xx+identity.native', opsPerSecond(handshaker(nativeSuite, true), budget.ms, 1), 'handshakes/s', 'Noise XX + ed25519 identity payload verified both ways'))
  for (const c of [1, 16, 64]) {
    progress(`raw ws setups, ${c} in flight`)
    out.push(await rawWs(count * 2, c))
  }
  for (const c of [1, 16, 64]) {
    progress(`swarm setups over ws, ${c} in flight`)
    out.push(await swarmSetups('ws', count, c))
  }
  progress('swarm setups over memory, 16 in flight')
  out.push(await swarmSetups('memory', count, 16))
  return out
}

/**
 * Inputs per second through the root queue of one swarm, and XState baselines measured in the
 * same run, so a reader sees where the overhead sits.
 *
 * Layers, cheapest first:
 *  - `xstate.*`: one machine counting raw events; a root forwarding to one of 100 children with
 *    `sendTo` (deferred, resolved by id) vs a direct `ref.send` from its action (what the swarm
 *    root does in `routeFrame`); the same direct root with a no-op inspection observer.
 *  - `queue.cmd`: `swarm.command(...)` (argument checks + push) then the driver steps: the root
 *    forwards `cmd.protocol` to the protocol actor.
 *  - `queue.frame.direct`: `io.conn.frame` inputs pushed on the driver of an authenticated
 *    connection: queue + root `routeFrame` + protocol actor `message`. The pure-queue figure.
 *  - `queue.frame.raw`: encrypted bytes handed to the connection's handler, as a socket would:
 *    rate check + queue + ChaCha20-Poly1305 decrypt + msgpack decode + parse + the above.
 *  - `e2e.<transport>.frames`: a user protocol on one swarm sends 16-byte frames to another
 *    (window 256, ack every 64) over the in-memory transport or ws on 127.0.0.1: frames per
 *    second delivered to the receiving protocol (each is one input there; the sender also
 *    settles one ack input per 64 frames and encrypts, encodes and sends every frame).
 *  - `*.inspect`: the same with `createSwarm({ inspect: () => {} })` (a no-op observer).
 * @module
 */
import { createActor, setup, sendTo, spawnChild, type AnyActorRef, type InspectionEvent } from 'xstate'
import { encryptWithAd, type CipherState } from '../../machines/secure/cipher-state.js'
import { encodeFrame } from '../../src/codec/frame.js'
import { nativeSuite } from '../../src/crypto/native.js'
import type { Driver } from '../../src/runtime/driver.js'
import { BLAST_ID, blastProtocol } from './blast.js'
import { capturing, connect, Net, startSwarm, type Driven, type ShellConnView, type TransportKind } from './swarms.js'
import { bounded, now, opsPerSecond, progress, rateFigure, rateFromSamples, timedBatches, turn, type Budget, type Figure, type Rate } from './util.js'

// ---------------------------------------------------------------------------------------------
// XState baselines

const counter = setup({
  types: { context: {} as { n: number }, events: {} as { type: 'tick' } },
  actions: { count: ({ context }) => { context.n++ } },
}).createMachine({ context: { n: 0 }, on: { tick: { actions: 'count' } } })

type FwdEvent = { type: 'fwd'; i: number }

const viaSendTo = setup({
  types: { events: {} as FwdEvent },
  actors: { counter },
}).createMachine({
  entry: Array.from({ length: 100 }, (_, i) => spawnChild('counter', { id: `c${i}` })),
  on: { fwd: { actions: sendTo(({ event }) => `c${event.i}`, { type: 'tick' }) } },
})

const viaDirect = setup({
  types: { events: {} as FwdEvent, context: {} as { refs: AnyActorRef[] } },
  actors: { counter },
  actions: { forward: ({ context, event }) => context.refs[event.i].send({ type: 'tick' }) },
}).createMachine({
  context: ({ spawn }) => ({ refs: Array.from({ length: 100 }, (_, i) => spawn('counter', { id: `c${i}` })) }),
  on: { fwd: { actions: 'forward' } },
})

function xstateBaselines(budget: Budget): Figure[] {
  const out: Figure[] = []
  const raw = createActor(counter).start()
  const tick = { type: 'tick' as const }
  const r1 = opsPerSecond(() => raw.send(tick), budget.ms)
  out.push(rateFigure('xstate.rawEvent', r1, 'events/s', 'actor.send into one machine (named action mutating context)'))

  const events = Array.from({ length: 100 }, (_, i) => ({ type: 'fwd' as const, i }))
  let k = 0
  const a = createActor(viaSendTo).start()
  const r2 = opsPerSecond(() => a.send(events[k++ % 100]), budget.ms)
  out.push(rateFigure('xstate.sendTo100', r2, 'events/s', 'root → one of 100 children via sendTo (deferred, by id)'))

  const b = createActor(viaDirect).start()
  const r3 = opsPerSecond(() => b.send(events[k++ % 100]), budget.ms)
  out.push(rateFigure('xstate.directSend100', r3, 'events/s', 'root → one of 100 children via ref.send in its action'))

  const c = createActor(viaDirect, { inspect: () => {} }).start()
  const r4 = opsPerSecond(() => c.send(events[k++ % 100]), budget.ms)
  out.push(rateFigure('xstate.directSend100.inspect', r4, 'events/s', 'same, with a no-op inspection observer'))
  for (const actor of [raw, a, b, c]) actor.stop()
  return out
}

// ---------------------------------------------------------------------------------------------
// Through the swarm's queue

interface DirectPair { receiver: Driven; sender: Driven; sc: ShellConnView; driver: Driver }

export async function directPair(inspect: boolean): Promise<DirectPair> {
  const net = new Net('memory')
  const cap = capturing(net.transport())
  const receiver = await startSwarm(net, {
    transports: [cap.transport],
    protocols: [blastProtocol({ ackEvery: 0 })],
    timeouts: { keepAlive: 3_600_000 },
    ...(inspect ? { inspect: (_: InspectionEvent) => {} } : {}),
  })
  const sender = await startSwarm(net, { listens: false, protocols: [blastProtocol()], timeouts: { keepAlive: 3_600_000 } })
  await connect(sender, receiver)
  const sc = cap.handlers[0]
  return { receiver, sender, sc, driver: sc.host }
}

/** Settle everything queued (the background consumer is not running during a synchronous loop). */
export function drain(driver: Driver): void {
  while (driver.step()) { /* settle */ }
}

async function queueFigures(budget: Budget, inspect: boolean): Promise<Figure[]> {
  const out: Figure[] = []
  const suffix = inspect ? '.inspect' : ''
  const BATCH = 1024

  // cmd.protocol through the public API
  {
    const { receiver, sender, driver } = await directPair(inspect)
    const swarm = receiver.swarm
    const stop = { type: 'blast.stop' }
    const r = timedBatches(budget.ms, BATCH, () => {}, () => {
      for (let i = 0; i < BATCH; i++) swarm.command(BLAST_ID, stop)
      drain(driver)
    })
    out.push(rateFigure(`queue.cmd${suffix}`, r, 'inputs/s', 'swarm.command → queue → root → protocol actor'))
    await turn()
    await Promise.all([sender.close(), receiver.close()])
  }

  // io.conn.frame pushed on the driver
  {
    const { receiver, sender, sc, driver } = await directPair(inspect)
    const body = new Uint8Array(16)
    const input = { type: 'io.conn.frame' as const, connId: sc.id, protocol: BLAST_ID, body }
    const r = timedBatches(budget.ms, BATCH, () => {}, () => {
      for (let i = 0; i < BATCH; i++) driver.push(input)
      drain(driver)
    })
    const count = receiver.next('blast.count', (e) => e.type === 'blast.count', 5_000)
    receiver.swarm.command(BLAST_ID, { type: 'blast.count' })
    const received = ((await count) as unknown as { received: number }).received
    out.push(rateFigure(`queue.frame.direct${suffix}`, r, 'inputs/s', 'io.conn.frame → root routeFrame → protocol message', { receivedByProtocol: received }))
    await Promise.all([sender.close(), receiver.close()])
  }

  // raw encrypted bytes into the connection handler
  {
    const { receiver, sender, sc, driver } = await directPair(inspect)
    if (!sc.recvCipher) throw new Error('connection not secured')
    const peerSend: CipherState = { k: sc.recvCipher.k, n: sc.recvCipher.n }
    const frame = encodeFrame(BLAST_ID, new Uint8Array(16))
    const empty = new Uint8Array(0)
    const batch: Uint8Array[] = new Array(BATCH)
    const r = timedBatches(budget.ms, BATCH, () => {
      for (let i = 0; i < BATCH; i++) batch[i] = encryptWithAd(nativeSuite, peerSend, empty, frame)!
    }, () => {
      for (let i = 0; i < BATCH; i++) sc.data(batch[i])
      drain(driver)
    })
    const stats = receiver.swarm.stats()
    out.push(rateFigure(`queue.frame.raw${suffix}`, r, 'inputs/s', 'socket bytes → rate check → queue → decrypt → decode → root → protocol', { framesIn: stats.framesIn }))
    await Promise.all([sender.close(), receiver.close()])
  }
  return out
}

/** One swarm blasts small frames to another; frames/s delivered to the receiving protocol. */
export async function blastRate(kind: TransportKind, ms: number, opts: { size: number; window: number; ackEvery: number; inspect?: boolean }): Promise<{ rate: Rate; received: number; elapsedMs: number }> {
  const net = new Net(kind)
  const inspect = opts.inspect ? { inspect: (_: InspectionEvent) => {} } : {}
  const progressEvery = opts.size >= 16_384 ? 16 : 1024
  const receiver = await startSwarm(net, { protocols: [blastProtocol({ ackEvery: opts.ackEvery, progressEvery })], ...inspect })
  const sender = await startSwarm(net, { listens: false, protocols: [blastProtocol()], ...inspect })
  await connect(sender, receiver)
  const samples: [number, number][] = []
  receiver.on((e) => {
    if (e.type === 'blast.progress') samples.push([now(), (e as unknown as { received: number }).received])
  })
  const warm = Math.min(500, ms / 4)
  sender.swarm.command(BLAST_ID, { type: 'blast.start', peer: receiver.peerId, size: opts.size, count: Number.MAX_SAFE_INTEGER, window: opts.window })
  // The clock starts at the first progress report (the first window has to cross the sockets).
  await bounded(`blast over ${kind}: first progress`, 15_000, (async () => {
    while (samples.length === 0) await new Promise((resolve) => setTimeout(resolve, 5))
  })())
  const start = now()
  await bounded('blast', ms + warm + 10_000, (async () => {
    while (now() - start < warm + ms) await new Promise((resolve) => setTimeout(resolve, 20))
  })())
  sender.swarm.command(BLAST_ID, { type: 'blast.stop' })
  const measured = samples.filter(([t]) => t >= start + warm)
  if (measured.length < 2) throw new Error(`blast over ${kind}: no progress (${samples.length} samples)`)
  const rate = rateFromSamples(measured, Math.max(100, ms / 10))
  const received = measured[measured.length - 1][1] - measured[0][1]
  const elapsedMs = measured[measured.length - 1][0] - measured[0][0]
  await Promise.all([sender.close(), receiver.close()])
  return { rate, received, elapsedMs }
}

export async function queueBench(budget: Budget): Promise<Figure[]> {
  const out: Figure[] = []
  progress('xstate baselines')
  out.push(...xstateBaselines(budget))
  progress('swarm queue (direct)')
  out.push(...(await queueFigures(budget, false)))
  progress('swarm queue (direct, inspect)')
  out.push(...(await queueFigures(budget, true)))
  for (const kind of ['memory', 'ws'] as const) {
    for (const inspect of [false, true]) {
      if (inspect && kind === 'ws') continue
      progress(`end-to-end frames over ${kind}${inspect ? ' (inspect)' : ''}`)
      const r = await blastRate(kind, budget.ms, { size: 16, window: 256, ackEvery: 64, inspect })
      out.push(rateFigure(
        `e2e.${kind}.frames${inspect ? '.inspect' : ''}`, r.rate, 'frames/s',
        `swarm → swarm over ${kind}, 16 B bodies, window 256${inspect ? ', no-op inspect on both' : ''}`,
        { received: r.received, elapsedMs: Math.round(r.elapsedMs) },
      ))
    }
  }
  return out
}

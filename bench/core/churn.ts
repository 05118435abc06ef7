/**
 * Churn: thousands of connect/disconnect cycles against one swarm, and memory per connection.
 *
 *  - `churn.<transport>`: `dialers` swarms each loop {dial the listener, both sides
 *    `peer.connected`, hang up, both sides `peer.disconnected`} until `cycles` cycles are done
 *    in all. Figures: ms per cycle (elapsed / cycles, all dialers together) over the first and
 *    the last 1,000 cycles, and their ratio (flat: about 1). The root keeps connection actors in
 *    Maps, so a cycle must not get slower as the count of past connections grows. Detail: heap
 *    growth per cycle after a full GC (a leak shows here).
 *  - `xstate.spawnStop.<n>` vs `xstate.mapKept.<n>`: one spawn + one stop of a child while `n`
 *    other children are alive, with XState's `spawnChild`/`stopChild` (which copy the parent's
 *    `children` object on every spawn and stop: O(n)) and with the Map-kept actors of
 *    machines/lib/runtime.ts (`spawnTracked`/`stopTracked`, what the swarm root uses).
 *  - `memory.<transport>.perConnection`: `n` dialer swarms connect to one listener and stay
 *    connected; heapUsed after a full GC, after minus before connecting, divided by `n`. Both
 *    ends are in this process, so the figure is the cost of one connection on BOTH ends (each end:
 *    connection actor and handshake leftovers in the machines, shell state, transport objects).
 * @module
 */
import { createActor, setup, spawnChild, stopChild, type AnyActorRef } from 'xstate'
import { spawnTracked, stopTracked } from '../../machines/lib/runtime.js'
import { connect, disconnect, Net, startSwarm, type Driven, type TransportKind } from './swarms.js'
import { bounded, hasGc, heapUsed, load, now, opsPerSecond, progress, rateFigure, type Budget, type Figure } from './util.js'

// ---------------------------------------------------------------------------------------------
// XState children: spawnChild/stopChild vs Map-kept actors

const leaf = setup({}).createMachine({ id: 'leaf' })

type ChildEvent = { type: 'add'; id: string } | { type: 'remove'; id: string }

const viaSpawnChild = setup({
  types: { events: {} as ChildEvent },
  actors: { leaf },
}).createMachine({
  on: {
    add: { actions: spawnChild('leaf', { id: ({ event }) => (event as { id: string }).id }) },
    remove: { actions: stopChild(({ event }) => (event as { id: string }).id) },
  },
})

const viaMap = setup({
  types: { events: {} as ChildEvent, context: {} as { refs: Map<string, AnyActorRef> } },
  actions: {
    add: ({ context, event, self }) => { context.refs.set(event.id, spawnTracked(self, leaf, { id: event.id })) },
    remove: ({ context, event }) => {
      const ref = context.refs.get(event.id)
      if (ref) stopTracked(ref)
      context.refs.delete(event.id)
    },
  },
}).createMachine({
  context: () => ({ refs: new Map() }),
  on: { add: { actions: 'add' }, remove: { actions: 'remove' } },
})

function childCycles(budget: Budget): Figure[] {
  const out: Figure[] = []
  for (const n of [1000, 5000]) {
    for (const [name, logic] of [['spawnStop', viaSpawnChild], ['mapKept', viaMap]] as const) {
      const actor = createActor(logic as typeof viaMap).start()
      for (let i = 0; i < n; i++) actor.send({ type: 'add', id: `bg${i}` })
      let k = 0
      const rate = opsPerSecond(() => {
        const id = `x${k++}`
        actor.send({ type: 'add', id })
        actor.send({ type: 'remove', id })
      }, Math.min(budget.ms, 1500), 4)
      actor.stop()
      out.push(rateFigure(`xstate.${name}.${n}`, { ...rate, perSec: 1e6 / rate.perSec, best: 1e6 / rate.best, worst: 1e6 / rate.worst, perCpuSecond: undefined }, 'µs/cycle',
        `spawn + stop one child with ${n} alive (${name === 'spawnStop' ? 'spawnChild/stopChild' : 'Map + spawnTracked/stopTracked'})`))
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Connection churn against one swarm

async function churn(kind: TransportKind, cycles: number, dialerCount: number, deadlineMs: number): Promise<Figure[]> {
  const net = new Net(kind)
  const listener = await startSwarm(net)
  const dialers: Driven[] = []
  for (let i = 0; i < dialerCount; i++) dialers.push(await startSwarm(net, { listens: false }))
  // Warm up (JIT) with one cycle each, then measure.
  await Promise.all(dialers.map(async (d) => { await connect(d, listener); await disconnect(d, listener) }))
  const heapBefore = heapUsed()
  const done: number[] = []
  let started = 0
  const start = now()
  const deadline = start + deadlineMs
  await bounded(`churn over ${kind}`, deadlineMs + 30_000, Promise.all(dialers.map(async (d) => {
    while (started < cycles && now() < deadline) {
      started++
      await connect(d, listener)
      await disconnect(d, listener)
      done.push(now())
    }
  })))
  const heapAfter = heapUsed()
  await Promise.all(dialers.map((d) => d.close()))
  await listener.close()
  const n = done.length
  const block = Math.min(1000, Math.floor(n / 5))
  const first = (done[block - 1] - start) / block
  const last = (done[n - 1] - done[n - 1 - block]) / block
  const note = `${dialerCount} dialers cycling connect+disconnect against one swarm over ${kind}`
  const detail = { cycles: n, block, elapsedMs: Math.round(done[n - 1] - start), load: load() }
  return [
    { name: `churn.${kind}.first`, value: first, unit: 'ms/cycle', note: `${note}: first ${block} of ${n}`, detail },
    { name: `churn.${kind}.last`, value: last, unit: 'ms/cycle', note: `${note}: last ${block} of ${n}`, detail },
    { name: `churn.${kind}.lastOverFirst`, value: last / first, unit: 'ratio', note: 'flat churn: about 1' },
    { name: `churn.${kind}.heapPerCycle`, value: (heapAfter - heapBefore) / n, unit: 'B/cycle', note: 'heapUsed growth after GC per cycle (a leak shows here)', detail: { heapBefore, heapAfter } },
  ]
}

async function memoryPerConnection(kind: TransportKind, count: number): Promise<Figure> {
  const net = new Net(kind)
  const listener = await startSwarm(net, { limits: { maxConnections: count + 64, maxPendingConnections: 1024 } })
  const dialers: Driven[] = []
  for (let i = 0; i < count; i++) dialers.push(await startSwarm(net, { listens: false }))
  const before = heapUsed()
  for (let i = 0; i < count; i += 32) {
    await Promise.all(dialers.slice(i, i + 32).map((d) => connect(d, listener, 30_000)))
  }
  const after = heapUsed()
  await Promise.all(dialers.map((d) => d.close()))
  await listener.close()
  return {
    name: `memory.${kind}.perConnection`, value: (after - before) / count / 1024, unit: 'KiB/conn',
    note: `heapUsed delta / ${count} open connections, both ends in this process`,
    detail: { count, before, after, exactGc: hasGc() },
  }
}

export async function churnBench(budget: Budget): Promise<Figure[]> {
  const out: Figure[] = []
  progress('xstate spawnChild/stopChild vs Map-kept children')
  out.push(...childCycles(budget))
  const cycles = budget.quick ? 500 : 5000
  for (const kind of ['memory', 'ws'] as const) {
    progress(`churn over ${kind}: ${cycles} cycles`)
    out.push(...(await churn(kind, cycles, 8, budget.quick ? 30_000 : 180_000)))
  }
  for (const kind of ['memory', 'ws'] as const) {
    progress(`memory per connection over ${kind}`)
    out.push(await memoryPerConnection(kind, budget.quick ? 100 : 500))
  }
  return out
}

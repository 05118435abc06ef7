/**
 * Inspection: `createSwarm({ inspect })` hands every actor of the swarm to an XState inspection
 * observer — the root, the protocol actors and each connection actor (`d<n>` outbound, `c<n>`
 * inbound), with the events and snapshots that show a connection's way through
 * handshaking → authenticating → open. Also: an `@statelyai/inspect` inspector fits the option
 * (its `createInspector` with an in-memory adapter runs for real; the Sky and WebSocket
 * inspectors are checked at the type level only, no network is opened).
 * @module
 */
import { createInspector, type createSkyInspector, type createWebSocketInspector, type StatelyInspectionEvent } from '@statelyai/inspect'
import { describe, expect, it } from 'vitest'
import type { AnyActorRef, InspectionEvent } from 'xstate'
import type { SwarmOptions } from '../src/create-swarm.js'
import { createSimulation } from '../src/testing/simulation.js'
import { connectSim, createSimTestSwarm, eventsOf, useSwarmCleanup } from './helpers/swarm-test.js'

useSwarmCleanup()

/** Type-level: the Stately inspectors' `inspect` is an acceptable `inspect` option (never called). */
export function stately(inspector: ReturnType<typeof createWebSocketInspector> | ReturnType<typeof createSkyInspector>): SwarmOptions {
  return { inspect: inspector.inspect }
}

const valueText = (v: unknown): string =>
  typeof v === 'string' ? v : Object.entries(v as Record<string, unknown>).map(([k, s]) => `${k}.${valueText(s)}`).join(',')

describe('inspect', () => {
  it('the observer sees the root, the protocol actors and the connection actors, and each connection\'s transitions', async () => {
    const seen: InspectionEvent[] = []
    const sim = createSimulation()
    const a = await createSimTestSwarm(sim, { seed: 1, inspect: (ev) => { seen.push(ev) } })
    const b = await createSimTestSwarm(sim, { seed: 2 })
    const c = await createSimTestSwarm(sim, { seed: 3 })
    await connectSim(sim, a, b) // outbound from A: d1
    await connectSim(sim, c, a) // inbound to A: c<connId>

    const actors = seen.filter((e) => e.type === '@xstate.actor').map((e) => e.actorRef as AnyActorRef)
    const ids = actors.map((r) => r.id)
    const systemIds = actors.map((r) => (r as unknown as { systemId?: string }).systemId)
    expect(systemIds).toContain('swarm')
    expect(systemIds).toContain('protocol:/xswarm/ping/1')
    expect(ids).toContain('d1')
    const inbound = ids.filter((id) => /^c\d+$/.test(id))
    expect(inbound).toHaveLength(1)
    // The handshake runs inside each connection actor (its `handshaking` region), not as a child.
    expect(ids).not.toContain('handshake')

    for (const id of ['d1', inbound[0]]) {
      const values = seen
        .filter((e) => e.type === '@xstate.snapshot' && (e.actorRef as AnyActorRef).id === id)
        .map((e) => valueText((e as unknown as { snapshot: { value: unknown } }).snapshot.value))
      // The handshake's states (`handshaking.sendingInitiation`, `.awaitingResponse`, ...) count as one state.
      const distinct = values.map((v) => v.split('.')[0] === 'handshaking' ? 'handshaking' : v).filter((v, i, all) => v !== all[i - 1])
      // The dialer waits for the responder's key confirmation (`confirming`) before it asks the root.
      const expected = id === 'd1' ? ['dialing', 'handshaking', 'confirming', 'authenticating', 'open.idle'] : ['handshaking', 'authenticating', 'open.idle']
      expect(distinct.slice(0, expected.length), id).toEqual(expected)
      // The events that moved it, as the observer saw them delivered to that actor.
      const events = seen
        .filter((e) => e.type === '@xstate.event' && (e.actorRef as AnyActorRef).id === id)
        .map((e) => (e as { event: { type: string } }).event.type)
      // Each handshake message arrives as a frame; the done event of a child is gone.
      expect(events.filter((e) => e === 'conn.frame').length).toBeGreaterThanOrEqual(2)
      expect(events).not.toContain('xstate.done.actor.handshake')
      expect(events).toContain('conn.accepted')
      if (id === 'd1') expect(events).toContain('io.conn.opened')
    }
    // The root saw its inputs.
    const rootEvents = seen.filter((e) => e.type === '@xstate.event' && (e.actorRef as unknown as { systemId?: string }).systemId === 'swarm')
    expect(rootEvents.map((e) => (e as { event: { type: string } }).event.type)).toEqual(expect.arrayContaining(['cmd.dial', 'io.conn.opened', 'conn.authenticated']))
  })

  it('without `inspect` nothing is observed and nothing breaks; with it, the event stream is the same', async () => {
    // b is inspected in both runs, a only in the first: b's observer must see b's actors only.
    const run = async (inspect: boolean): Promise<{ log: string[]; observedA: number; observedB: number }> => {
      const sim = createSimulation()
      const log: string[] = []
      const seenA: InspectionEvent[] = []
      const seenB: InspectionEvent[] = []
      const opts = inspect ? { inspect: (ev: InspectionEvent) => { seenA.push(ev) } } : {}
      const a = await createSimTestSwarm(sim, { seed: 1, ...opts })
      const b = await createSimTestSwarm(sim, { seed: 2, inspect: (ev) => { seenB.push(ev) } })
      await connectSim(sim, a, b)
      await sim.run({ forMs: 30_000 })
      log.push(...eventsOf(a).map((e) => JSON.stringify(e)), String(a.stats().inputs))
      const systemOf = (ev: InspectionEvent) => (ev.actorRef as AnyActorRef).system
      const bSystem = systemOf(seenB[0])
      expect(seenB.every((ev) => systemOf(ev) === bSystem)).toBe(true)
      expect(seenA.every((ev) => systemOf(ev) !== bSystem)).toBe(true)
      return { log, observedA: seenA.length, observedB: seenB.length }
    }
    const inspected = await run(true)
    const plain = await run(false)
    expect(inspected.observedA).toBeGreaterThan(100)
    expect(plain.observedA).toBe(0)
    expect(plain.observedB).toBeGreaterThan(100)
    expect(inspected.log).toEqual(plain.log)
  })

  it('an @statelyai/inspect inspector (in-memory adapter) receives the swarm\'s actors and snapshots', async () => {
    const received: StatelyInspectionEvent[] = []
    const inspector = createInspector({ send: (event) => { received.push(event) } })
    const sim = createSimulation()
    const a = await createSimTestSwarm(sim, { seed: 1, inspect: inspector.inspect })
    const b = await createSimTestSwarm(sim, { seed: 2 })
    await connectSim(sim, a, b)
    // The inspector converts and forwards events when idle (a timer): wait for them, bounded.
    for (let i = 0; i < 200 && !received.some((e) => e.type === '@xstate.actor' && (e as { name: string }).name === 'd1'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    const actorNames = received.filter((e) => e.type === '@xstate.actor').map((e) => (e as { name: string }).name)
    expect(actorNames).toEqual(expect.arrayContaining(['swarm', 'protocol:/xswarm/ping/1', 'd1']))
    expect(received.some((e) => e.type === '@xstate.snapshot')).toBe(true)
    expect(received.some((e) => e.type === '@xstate.event')).toBe(true)
    expect(stately).toBeTypeOf('function')
  })

  it('the stream an inspector serializes is readable: maps show their entries, no functions, no raw bytes, no secret key', async () => {
    const received: StatelyInspectionEvent[] = []
    const inspector = createInspector({ send: (event) => { received.push(event) } })
    const secretKey = new Uint8Array(32).fill(0xab)
    const sim = createSimulation()
    const a = await createSimTestSwarm(sim, { seed: 1, secretKey, inspect: inspector.inspect })
    const b = await createSimTestSwarm(sim, { seed: 2 })
    a.subscribe('readable')
    b.subscribe('readable')
    await connectSim(sim, a, b)
    await sim.run({ forMs: 2000 })
    for (let i = 0; i < 200 && !received.some((e) => e.type === '@xstate.snapshot' && JSON.stringify(e).includes(b.peerId)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    const texts = received.map((e) => JSON.stringify(e))
    // The root's context holds its peers in Maps: their entries are shown (JSON alone shows `{}`).
    const root = received.filter((e) => e.type === '@xstate.snapshot' && e.sessionId === received.find((r) => r.type === '@xstate.actor' && (r as { name: string }).name === 'swarm')?.sessionId)
    expect(root.length).toBeGreaterThan(0)
    expect(JSON.stringify((root.at(-1) as unknown as { snapshot: { context: unknown } }).snapshot.context)).toContain(b.peerId)
    // No byte array as {"0":…,"1":…}, no function turned into {"type": name} inside contexts or events.
    for (const text of texts) expect(text).not.toMatch(/\{"0":\d+,"1":\d+/)
    const contexts = received.flatMap((e) => ('snapshot' in e ? [JSON.stringify((e.snapshot as { context?: unknown }).context ?? null)] : []))
    for (const text of contexts) expect(text).not.toMatch(/"type":"(bound |function|anonymous)/)
    // The identity's secret key appears nowhere (not even its first bytes as hex).
    for (const text of texts) expect(text).not.toContain('abababab')
  })
})

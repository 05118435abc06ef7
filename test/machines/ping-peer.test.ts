/**
 * The ping protocol's per-peer chart (`pingPeerMachine`, its `handler`) and the peer-chart API
 * behind it (machines/lib/peer-chart.ts): `xstate/graph` walks the chart (every state reached,
 * every transition taken), and every edge is replayed on the real ping behaviour, whose entry
 * for the peer must be in the model's state with the frames and events the chart's actions say.
 * @module
 */
import { describe, expect, it } from 'vitest'
import { assign, createActor, createMachine, setup, SimulatedClock, type AnyMachineSnapshot, type AnyTransitionDefinition } from 'xstate'
import { getAdjacencyMap, getShortestPaths, getStateNodes } from 'xstate/graph'
import { nobleSuite } from '../../machines/lib/crypto-noble.js'
import { isAtRest, MAX_DELAYS_PER_TICK, peerChart, tickPeerChart } from '../../machines/lib/peer-chart.js'
import { defineProtocol } from '../../machines/lib/protocol.js'
import { bindRuntime } from '../../machines/lib/runtime.js'
import { createSignerIssuer } from '../../machines/lib/signer.js'
import { PING_ID, pingMachine, pingPeerMachine, pingProtocol, type PingContext, type PingPeerEvent } from '../../machines/protocols/ping.machine.js'

const INTERVAL = 1000
const AFTER = 'xstate.after.pongTimeout.pingPeer.awaitingPong'
const EVENTS: Array<PingPeerEvent | { type: typeof AFTER }> = [
  { type: 'ping.due', lostAfter: 3 * INTERVAL },
  { type: 'ping.pong', matches: true },
  { type: 'ping.pong', matches: false },
  { type: AFTER },
]
const options = { events: EVENTS, serializeState: (s: AnyMachineSnapshot) => String(s.value) }

/** The ping behaviour with one connected peer B; model events become what causes them. */
function realPing() {
  const clock = new SimulatedClock()
  const out: Array<{ type: string; [k: string]: unknown }> = []
  const actor = createActor(pingMachine, {
    clock,
    input: {
      peerId: 'Me', protocol: PING_ID, seed: new Uint8Array(32), options: { interval: INTERVAL }, addresses: [],
      crypto: nobleSuite, signer: createSignerIssuer(nobleSuite, new Uint8Array(32)).issue(PING_ID), publicKey: new Uint8Array(32),
    },
  })
  bindRuntime(actor, { sink: () => {}, now: () => clock.now() })
  actor.on('*', (e) => { out.push(e as never) })
  actor.start()
  const ctx = (): PingContext => actor.getSnapshot().context
  // B connects (and is pinged at once): answer it, so B starts `ready`.
  actor.send({ type: 'peer.connected', peer: 'B', direction: 'outbound', address: '' })
  actor.send({ type: 'message', peer: 'B', body: [1, ctx().peers.get('B')!.seq] })
  out.length = 0
  return {
    state: () => ctx().peers.get('B')!.state,
    drain: () => out.splice(0),
    apply(event: PingPeerEvent | { type: typeof AFTER }): void {
      clock.increment(10)
      const seq = ctx().peers.get('B')!.seq
      if (event.type === 'ping.due') actor.send({ type: 'ping.send', peer: 'B' })
      else if (event.type === 'ping.pong') actor.send({ type: 'message', peer: 'B', body: [1, event.matches ? seq : seq + 100] })
      // A lost ping's delay is delivered at the next interval, before that interval's ping: let
      // the delay pass, then take the interval's ping back out of the picture by answering it.
      else {
        clock.increment(3 * INTERVAL)
        const fresh = ctx().peers.get('B')!.seq
        if (fresh !== seq) actor.send({ type: 'message', peer: 'B', body: [1, fresh] })
      }
    },
  }
}

describe('ping per-peer chart (the protocol handler)', () => {
  const paths = getShortestPaths(pingPeerMachine, options as never)

  it('reaches every state and takes every transition definition', () => {
    const taken = new Set<AnyTransitionDefinition>()
    for (const path of paths) for (const event of EVENTS) for (const def of path.state.machine.getTransitionData(path.state as never, event as never) ?? []) taken.add(def)
    const all = getStateNodes(pingPeerMachine.root).flatMap((node) => [...node.transitions.values()].flat())
    expect(all.filter((def) => !taken.has(def)).map((def) => `${def.source.id} --${def.eventType}-->`)).toEqual([])
    expect(new Set(paths.map((p) => String(p.state.value)))).toEqual(new Set(['ready', 'awaitingPong']))
  })

  it('the ping behaviour follows the model on every edge, with the frames and events of the actions', () => {
    const head = new Map(paths.map((p) => [String(p.state.value), p.steps.map((s) => s.event).filter((e) => (e.type as string) !== 'xstate.init')]))
    let edges = 0
    for (const [source, { transitions }] of Object.entries(getAdjacencyMap(pingPeerMachine, options as never))) {
      for (const { event, state: target } of Object.values(transitions) as Array<{ event: PingPeerEvent; state: AnyMachineSnapshot }>) {
        const ping = realPing()
        for (const step of head.get(source)!) ping.apply(step as PingPeerEvent)
        ping.drain()
        ping.apply(event)
        const label = `${source} + ${JSON.stringify(event)}`
        expect(ping.state(), label).toBe(String(target.value))
        const types = ping.drain().map((e) => (e.type === 'effect.send' ? `send ${JSON.stringify((e.body as number[])[0])}` : e.type))
        if (source === 'ready' && event.type === 'ping.due') expect(types, label).toEqual(['send 0'])
        else if (source === 'awaitingPong' && event.type === 'ping.pong' && event.matches) expect(types, label).toEqual(['ping.rtt'])
        else if ((event.type as string) !== AFTER) expect(types, label).toEqual([])
        edges++
      }
    }
    expect(edges).toBe(8)
  })

  it('the protocol declares it as its handler, and the behaviour keeps one readable entry per peer', () => {
    expect(pingProtocol().handler?.machine).toBe(pingPeerMachine)
    const ping = realPing()
    ping.apply({ type: 'ping.due', lostAfter: 3000 })
    expect(ping.state()).toBe('awaitingPong')
  })
})

describe('peer charts (machines/lib/peer-chart.ts)', () => {
  const door = setup({
    types: { events: {} as { type: 'open'; ms: number } | { type: 'shut' } },
    actions: { creak: () => {} },
    delays: { wait: ({ event }) => (event as { ms?: number }).ms ?? 0 },
  }).createMachine({
    id: 'door', initial: 'shut',
    states: { shut: { on: { open: { target: 'open', actions: 'creak' } } }, open: { after: { wait: 'shut' }, on: { shut: 'shut' } } },
  })

  it('steps an entry in place, runs the named actions with the caller\'s argument, and keeps delays as due times', () => {
    const log: string[] = []
    const chart = peerChart(door, { creak: (arg: string, _params, event) => { log.push(`${arg}:${event.type}`) } })
    const entry = chart.start(0, 'a')
    expect(entry).toEqual({ state: 'shut' })
    expect(isAtRest(chart, entry)).toBe(true)
    chart.send(entry, { type: 'open', ms: 500 }, 100, 'a')
    expect(entry).toEqual({ state: 'open', timers: [{ id: 'xstate.after.wait.door.open', at: 600 }] })
    expect(log).toEqual(['a:open'])
    expect(tickPeerChart(chart, entry, 599, 'a')).toBe(false)
    expect(tickPeerChart(chart, entry, 600, 'a')).toBe(true)
    expect(entry).toEqual({ state: 'shut' })
    chart.send(entry, { type: 'open', ms: 500 }, 700, 'a')
    chart.send(entry, { type: 'shut' }, 800, 'a')
    expect(entry).toEqual({ state: 'shut' }) // leaving the state cancelled its delay
  })

  it('refuses a chart whose actions have no implementation, and a chart that assigns context', () => {
    expect(() => peerChart(door, {})).toThrow(/no implementation of action "creak"/)
    const assigning = createMachine({ id: 'assigning', context: { n: 0 }, on: { bump: { actions: assign({ n: ({ context }) => context.n + 1 }) } } })
    const chart = peerChart(assigning, {})
    const entry = chart.start(0, undefined)
    expect(() => chart.send(entry, { type: 'bump' }, 0, undefined)).toThrow(/keeps no context/)
  })

  it('delivers at most MAX_DELAYS_PER_TICK delays per tick (a zero delay back into its own state cannot loop)', () => {
    const spin = setup({ actions: { turn: () => {} } }).createMachine({ id: 'spin', initial: 'a', states: { a: { after: { 0: { target: 'a', reenter: true, actions: 'turn' } } } } })
    let turns = 0
    const chart = peerChart(spin, { turn: () => { turns++ } })
    const entry = chart.start(0, undefined)
    expect(tickPeerChart(chart, entry, 0, undefined)).toBe(true)
    expect(turns).toBe(MAX_DELAYS_PER_TICK)
  })

  it('defineProtocol checks a handler', () => {
    expect(() => defineProtocol({ id: '/x/y/1', machine: door, handler: door as never })).toThrow(/expected a peer chart/)
    expect(defineProtocol({ id: '/x/y/1', machine: door, handler: peerChart(door, { creak: () => {} }) }).handler?.machine).toBe(door)
  })
})

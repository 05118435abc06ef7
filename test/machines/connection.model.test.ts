/**
 * Model-based test of the connection machine with `xstate/graph`: walk every reachable state
 * and every transition, then replay each walk on a real actor and check it lands where the
 * model said.
 *
 * How: `getAdjacencyMap` explores the machine (handshake steps stubbed, see
 * connection-harness.ts) from an outbound and an inbound start (and one whose first handshake
 * write fails), with one sample event per event
 * type (several where a guard or the handshake's outcome makes the difference: handshake frames
 * carry the outcome the fake steps produce). For every edge of that map, the shortest path to
 * its source state plus the edge itself is replayed on a real actor under a SimulatedClock:
 * `xstate.after.*` becomes advancing the clock by that delay. The keep-alive's end comes in two
 * samples, `heard: false` and `heard: true` (a frame of another protocol arrived during the
 * wait): the model's `heardDuringWait` reads the flag, and the replay of `heard: true` stamps
 * the connection's traffic (as the root would) 1 ms into the wait (the dialer's wait after a
 * keep-alive frame ends `keepAliveLead` before `keepAlive`, so the end is not one fixed delay).
 * Transitions actually taken are read from `@xstate.microstep` inspection events, and the test
 * asserts that every state node was entered and every transition definition of the machine
 * (eventless ones included) was taken at least once.
 * @module
 */
import { describe, expect, it } from 'vitest'
import { type AnyMachineSnapshot, type AnyStateMachine, type AnyTransitionDefinition, type InspectionEvent } from 'xstate'
import { getAdjacencyMap, getShortestPaths, getStateNodes, type AdjacencyMap } from 'xstate/graph'
import {
  HANDSHAKE_PROTOCOL, PEER_B, brokenHandshake, TIMEOUTS, failWrite, failure, inboundInput, outboundInput, startConnection, success,
  testConnectionMachine,
} from './connection-harness.js'
import type { ConnectionInput } from '../../machines/connection.machine.js'

type Ev = { type: string; [k: string]: unknown }

const machine = testConnectionMachine
/**
 * The graph is walked with xstate/graph's mock actor scope, which has no parent, so the actions
 * that message the root (`sendParent`, found by their `to`) become no-ops for the walk.
 * Replays run the unmodified machine.
 */
const parentSends = Object.fromEntries(
  Object.entries(machine.implementations.actions)
    .filter(([, impl]) => (impl as { type?: string; to?: unknown }).type === 'xstate.sendTo' && (impl as { to?: unknown }).to === '#_parent')
    .map(([name]) => [name, () => {}]),
)
const model = machine.provide({
  actions: parentSends as never,
  // The walk shares no clock or traffic with the replays: the sample says whether a frame arrived.
  guards: { heardDuringWait: ({ event }) => (event as { heard?: boolean }).heard === true },
})
const KEEP_ALIVE_ENDS = 'xstate.after.keepAlive.connection.open.idle'

/** Sample events; `conn.frame` pong depends on the ping sequence number in context. */
function samples(snapshot: AnyMachineSnapshot): Ev[] {
  const seq = (snapshot.context as { pingSeq: number }).pingSeq
  return [
    { type: 'io.conn.opened', connId: 5, remoteAddr: 'memory://b' },
    { type: 'io.dial.failed', reason: 'connection-refused' },
    { type: 'conn.frame', protocol: HANDSHAKE_PROTOCOL, body: new Uint8Array([9]) },
    { type: 'conn.frame', protocol: '/xswarm/conn/1', body: [0, 41] },
    { type: 'conn.frame', protocol: '/xswarm/conn/1', body: [1, seq] },
    { type: 'conn.frame', protocol: '/xswarm/conn/1', body: [2, 0] },
    { type: 'conn.frame', protocol: '/other/1', body: 'junk' },
    { type: 'io.conn.invalid', reason: 'decrypt-failed' },
    { type: 'io.conn.closed', reason: 'connection-lost', byRemote: true },
    { type: 'conn.accepted' },
    { type: 'conn.close', reason: 'hung-up' },
    // Handshake frames that end the (fake) handshake steps with a chosen outcome.
    { type: 'conn.frame', protocol: HANDSHAKE_PROTOCOL, body: success(PEER_B) },
    { type: 'conn.frame', protocol: HANDSHAKE_PROTOCOL, body: success('PeerX') },
    { type: 'conn.frame', protocol: HANDSHAKE_PROTOCOL, body: failure('handshake-bad-signature') },
    { type: 'conn.frame', protocol: HANDSHAKE_PROTOCOL, body: failWrite('handshake-too-long') },
    // The keep-alive wait ends with nothing received (ping), or after a frame of another protocol.
    { type: KEEP_ALIVE_ENDS, heard: false },
    { type: KEEP_ALIVE_ENDS, heard: true },
  ]
}

/**
 * Every event type some active state node has a transition for, with our samples where we have
 * them. (xstate/graph's default uses the own event descriptors, which leave out transitions that
 * neither target nor act, like `closing`'s `conn.close: {}`; those are taken too.)
 */
function eventsFor(snapshot: AnyMachineSnapshot): Ev[] {
  if (snapshot.status === 'done') return [] // a final state takes no events
  const all = samples(snapshot)
  const types = new Set(snapshot._nodes.flatMap((node) => [...node.transitions.keys()]))
  // `settled` runs alongside the open substates' own timers; delays fire in time order, so it
  // is offered only where it is the earliest one (idle: keepAlive is longer).
  if (!snapshot.matches({ open: 'idle' })) types.delete('xstate.after.settled.connection.open')
  return [...types].flatMap((type) => {
    const mine = all.filter((e) => e.type === type)
    return mine.length > 0 ? mine : [{ type }]
  })
}

/** A model state: its value and the context that decides what happens next (of pingSeq, only whether it is 0). */
function serializeState(snapshot: AnyMachineSnapshot): string {
  const c = snapshot.context as { reason: string | null; wasOpen: boolean; peer: string | null; connId?: number; pingSeq: number }
  // Whether a ping was ever sent decides what a pong is (a late pong of ours, or a violation).
  return JSON.stringify({ value: snapshot.value, reason: c.reason, wasOpen: c.wasOpen, peer: c.peer, connId: c.connId, pinged: c.pingSeq > 0 })
}

const options = (input: ConnectionInput) => ({
  input,
  events: (s: AnyMachineSnapshot) => eventsFor(s),
  serializeState: (s: AnyMachineSnapshot) => serializeState(s),
  limit: 10_000,
})

const DELAYS: Record<string, number> = {
  dialTimeout: TIMEOUTS.dial,
  handshakeTimeout: TIMEOUTS.handshake,
  keepAlive: TIMEOUTS.keepAlive,
  pingTimeout: TIMEOUTS.pingTimeout,
  probeTimeout: TIMEOUTS.probe,
  settled: TIMEOUTS.handshake,
  closeTimeout: TIMEOUTS.close,
}

/** Every transition definition of the machine, with a readable name. */
function allTransitions(): Map<AnyTransitionDefinition, string> {
  const out = new Map<AnyTransitionDefinition, string>()
  for (const node of [machine.root, ...getStateNodes(machine.root)]) {
    for (const [type, list] of node.transitions) list.forEach((t, i) => out.set(t, `${node.id} --${type}[${i}]-->`))
    ;(node.always ?? []).forEach((t, i) => out.set(t, `${node.id} --always[${i}]-->`))
  }
  return out
}

interface Replay { taken: Set<AnyTransitionDefinition>; entered: Set<string> }

/** Replay `events` from `input` on a real actor; returns the final snapshot. */
function replay(input: ConnectionInput, events: Ev[], seen: Replay): AnyMachineSnapshot {
  const inspect = (ev: InspectionEvent): void => {
    if (ev.type !== '@xstate.microstep') return
    const snap = ev.snapshot as AnyMachineSnapshot
    if (snap.machine !== machine) return
    for (const t of (ev as unknown as { _transitions: AnyTransitionDefinition[] })._transitions) {
      seen.taken.add(t)
      seen.entered.add(t.source.id) // transient states (`starting`) are left within the same macrostep
    }
    for (const node of snap._nodes) seen.entered.add(node.id)
  }
  const h = startConnection(input, { inspect })
  for (const node of (h.conn.getSnapshot() as AnyMachineSnapshot)._nodes) seen.entered.add(node.id)
  for (const event of events) {
    if (event.type.startsWith('xstate.after.')) {
      const delay = DELAYS[event.type.split('.')[2]]
      if (event.heard === true) {
        h.advance(1)
        h.hear()
        h.advance(delay - 1)
      } else h.advance(delay)
    } else {
      h.send(event)
    }
  }
  return h.conn.getSnapshot() as AnyMachineSnapshot
}

describe('connection machine: model-based (xstate/graph)', () => {
  const starts: [string, ConnectionInput, number][] = [
    ['outbound', outboundInput(), 10],
    ['inbound', inboundInput(), 10],
    // The initiator's first write (message 1) can fail only with a broken configuration.
    ['outbound, a broken handshake configuration', outboundInput({ handshake: brokenHandshake(true) }), 5],
  ]
  const seen: Replay = { taken: new Set(), entered: new Set() }
  let edges = 0

  for (const [name, input, atLeast] of starts) {
    it(`${name}: every edge of the state graph, replayed on a real actor, reaches the state the model predicts`, () => {
      const adjacency: AdjacencyMap<AnyMachineSnapshot, Ev> = getAdjacencyMap(model as AnyStateMachine, options(input) as never)
      const shortest = new Map<string, Ev[]>()
      for (const path of getShortestPaths(model as AnyStateMachine, options(input) as never)) {
        shortest.set(serializeState(path.state as AnyMachineSnapshot), path.steps.map((s) => s.event as Ev))
      }
      const states = Object.keys(adjacency)
      expect(states.length).toBeGreaterThan(atLeast)
      for (const [source, { transitions }] of Object.entries(adjacency)) {
        const head = shortest.get(source)
        expect(head, `no path to ${source}`).toBeDefined()
        for (const { event, state: target } of Object.values(transitions) as { event: Ev; state: AnyMachineSnapshot }[]) {
          const events = [...head!, event as Ev]
          const reached = replay(input, events, seen)
          const label = `${source} + ${JSON.stringify((event as Ev).type)} (path: ${events.map((e) => e.type).join(' → ')})`
          expect(serializeState(reached), label).toBe(serializeState(target as AnyMachineSnapshot))
          edges++
        }
      }
    })
  }

  it('together the walks entered every state node and took every transition of the machine', () => {
    expect(edges).toBeGreaterThan(100)
    const nodes = [machine.root, ...getStateNodes(machine.root)].map((n) => n.id)
    expect(nodes.filter((id) => !seen.entered.has(id))).toEqual([])
    const all = allTransitions()
    expect(all.size).toBeGreaterThan(30)
    const missing = [...all].filter(([t]) => !seen.taken.has(t)).map(([, label]) => label)
    expect(missing).toEqual([])
  })
})

/**
 * lib/peer-chart.ts steps a chart by working out once what a transition does from a state and
 * keeping it: for long seeded random runs of each built-in peer chart (and a chart with a delay
 * computed from the event), it must agree with XState's own `transition()` on every step — the
 * state, the named actions in order with their params, and the pending delays (due times
 * resolved from each event).
 * @module
 */
import { describe, expect, it } from 'vitest'
import { initialTransition, setup, transition, type AnyMachineSnapshot, type AnyStateMachine, type EventObject } from 'xstate'
import { peerChart, type PeerChartEntry } from '../../machines/lib/peer-chart.js'
import { membershipMachine } from '../../machines/pubsub/membership.machine.js'
import { receiveMachine } from '../../machines/pubsub/receive.machine.js'
import { pingPeerMachine } from '../../machines/protocols/ping.machine.js'
import { swarmPeerMachine } from '../../machines/swarm/peer.machine.js'

/** A chart whose delay and whose guard read the event, with a nested state and a self re-entry. */
const timedMachine = setup({
  types: { events: {} as { type: 'go'; ms: number; fast: boolean } | { type: 'stop' } },
  guards: { isFast: ({ event }) => event.type === 'go' && event.fast },
  actions: { begin: () => {}, tick: () => {}, end: () => {} },
  delays: { wait: ({ event }) => (event as { ms?: number }).ms ?? 5 },
}).createMachine({
  id: 'timed',
  initial: 'idle',
  states: {
    idle: { on: { go: [{ guard: 'isFast', target: 'busy.quick', actions: 'begin' }, { target: 'busy.slow', actions: 'begin' }] } },
    busy: {
      initial: 'slow',
      exit: 'end',
      states: {
        slow: { after: { wait: { target: 'slow', reenter: true, actions: 'tick' } } },
        quick: { after: { 10: 'slow' } },
      },
      on: { stop: 'idle', go: { target: '.slow', reenter: true, actions: { type: 'tick', params: { again: true } } } },
    },
  },
})

const rand = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32)

type Emitted = { name: string; params: unknown }

/** Samples of each chart, and the ids of its delayed events (fed as time passing). */
const CHARTS: Array<{ machine: AnyStateMachine; samples: (r: () => number) => EventObject }> = [
  {
    machine: membershipMachine,
    samples: (r) => {
      const b = Math.floor(r() * 3) * 1000
      return [
        { type: 'member.graft' },
        { type: 'member.graftReceived', negativeScore: r() < 0.3, subscribed: r() < 0.8, meshFull: r() < 0.3, backoff: b },
        { type: 'member.prune', backoff: b }, { type: 'member.pruneReceived', backoff: b }, { type: 'member.left' },
        { type: 'xstate.after.backoff.pubsubMembership.backoff' },
      ][Math.floor(r() * 6)] as EventObject
    },
  },
  {
    machine: pingPeerMachine,
    samples: (r) => [{ type: 'ping.due', lostAfter: Math.floor(r() * 4) * 100 }, { type: 'ping.pong', matches: r() < 0.5 }, { type: 'xstate.after.pongTimeout.pingPeer.awaitingPong' }][Math.floor(r() * 3)] as EventObject,
  },
  {
    machine: swarmPeerMachine,
    samples: (r) => {
      const b = () => r() < 0.5
      return [
        { type: 'peer.authenticated', bound: b(), atLimit: b(), winner: ['none', 'current', 'new'][Math.floor(r() * 3)], probeable: b() },
        { type: 'peer.connectionEnded', bound: b(), held: b(), reason: r() < 0.5 ? 'duplicate' : 'connection-lost', replacement: b(), closing: b() },
        { type: 'peer.probeAnswered' }, { type: 'peer.probeFailed' },
      ][Math.floor(r() * 4)] as EventObject
    },
  },
  {
    machine: timedMachine,
    samples: (r) => [{ type: 'go', ms: Math.floor(r() * 5) * 7, fast: r() < 0.5 }, { type: 'stop' }, { type: 'xstate.after.wait.timed.busy.slow' }, { type: 'xstate.after.10.timed.busy.quick' }][Math.floor(r() * 4)] as EventObject,
  },
]

/** XState's `transition()`, performed like a peer chart: the state, the named actions, the timers. */
function reference(machine: AnyStateMachine) {
  let [snapshot, first] = initialTransition(machine) as [AnyMachineSnapshot, Array<{ type: string; params?: any }>]
  const timers: Array<{ id: string; at: number }> = []
  const emitted: Emitted[] = []
  const perform = (list: Array<{ type: string; params?: any }>, now: number): void => {
    for (const a of list) {
      if (a.type === 'xstate.raise' && typeof a.params?.delay === 'number') {
        timers.push({ id: a.params.id, at: now + a.params.delay })
        timers.sort((x, y) => x.at - y.at)
      } else if (a.type === 'xstate.cancel') {
        for (let i = timers.length - 1; i >= 0; i--) if (timers[i].id === a.params.sendId) timers.splice(i, 1)
      } else if (!a.type.startsWith('xstate.')) emitted.push({ name: a.type, params: a.params })
    }
  }
  perform(first, 0)
  return {
    send(event: EventObject, now: number): void {
      const [next, list] = transition(machine, snapshot, event) as [AnyMachineSnapshot, Array<{ type: string; params?: any }>]
      snapshot = next
      perform(list, now)
    },
    state: () => (typeof snapshot.value === 'string' ? snapshot.value : JSON.stringify(snapshot.value)),
    timers: () => timers.slice(),
    emitted,
  }
}

describe('peer chart stepping (a transition worked out once per state)', () => {
  for (const { machine, samples } of CHARTS) {
    it(`${machine.id}: agrees with XState's transition() on 1,000 random steps`, () => {
      const r = rand(7)
      const emitted: Emitted[] = []
      const actions = Object.fromEntries(Object.keys(machine.implementations.actions).map((name) => [name, (_: unknown, params: unknown) => { emitted.push({ name, params }) }]))
      const chart = peerChart(machine, actions)
      const entry: PeerChartEntry = chart.start(0, undefined)
      const ref = reference(machine)
      for (let i = 1; i <= 1000; i++) {
        const event = samples(r)
        chart.send(entry, event as never, i * 10, undefined)
        ref.send(event, i * 10)
        const at = `step ${i}: ${JSON.stringify(event)}`
        expect(entry.state, at).toBe(ref.state())
        expect(entry.timers ?? [], at).toEqual(ref.timers())
      }
      expect(emitted).toEqual(ref.emitted)
      expect(emitted.length).toBeGreaterThan(50)
    })
  }
})

describe('peer chart stepping: every transition choice of the receive chart', () => {
  // A flat chart with named guards is chosen without XState's getTransitionData
  // (lib/peer-chart.ts transitionSelector): from every state, every answer to the guards'
  // questions must lead where XState's transition() leads, with the same actions.
  const questions = ['subscribed', 'knownCopy', 'seen', 'own', 'authentic', 'validator', 'validationsFull'] as const
  const events: EventObject[] = []
  for (let bits = 0; bits < 1 << questions.length; bits++) {
    events.push({ type: 'message.arrived', ...Object.fromEntries(questions.map((q, i) => [q, (bits & (1 << i)) !== 0])) } as EventObject)
  }
  for (const verdict of ['accept', 'reject', 'ignore']) for (const subscribed of [true, false]) events.push({ type: 'message.verdict', verdict, subscribed } as EventObject)
  events.push({ type: 'unknown.event' })

  it('agrees with XState in every state for every event', () => {
    let emitted: string[] = []
    const actions = Object.fromEntries(Object.keys(receiveMachine.implementations.actions).map((name) => [name, () => { emitted.push(name) }]))
    const chart = peerChart(receiveMachine, actions)
    let compared = 0
    for (const state of Object.keys(receiveMachine.root.states)) {
      for (const event of events) {
        emitted = []
        const entry: PeerChartEntry = { state }
        chart.send(entry, event as never, 0, undefined)
        const [next, list] = transition(receiveMachine, receiveMachine.resolveState({ value: state, context: undefined as never }), event as never) as [AnyMachineSnapshot, Array<{ type: string }>]
        const at = `${state} + ${JSON.stringify(event)}`
        expect(entry.state, at).toBe(next.value)
        expect(emitted, at).toEqual(list.map((a) => a.type).filter((t) => !t.startsWith('xstate.')))
        compared++
      }
    }
    expect(compared).toBe(8 * (128 + 7))
  })
})

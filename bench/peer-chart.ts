/**
 * The cost of one pure step of a per-peer chart, three ways, side by side in one run:
 *
 *   npx tsx bench/peer-chart.ts
 *
 *  - `transition()`: XState's pure `transition(logic, snapshot, event)` (what lib/peer-chart.ts
 *    stepped with before), which builds an inert actor and system on every call;
 *  - `pureStep`: `logic.transition` with one reused inert actor scope (lib/pure-step.ts, what
 *    actors/pairs.ts stepped the pair chart with before it became a peer chart);
 *  - `peerChart.send`: lib/peer-chart.ts now: XState selects the transition, and what it does
 *    from that state is worked out once and kept (its actions run as no-ops here).
 *
 * For each chart a fixed cycle of events that takes transitions (with and without `after`
 * delays); µs per step, the median of 9 rounds of at least 200 ms each, and the 1-minute load
 * average. Nothing is asserted; the figures go to stdout.
 * @module
 */
import { cpus, loadavg } from 'node:os'
import { initialTransition, transition, type AnyMachineSnapshot, type AnyStateMachine, type EventObject } from 'xstate'
import { peerChart, type PeerChartEntry } from '../machines/lib/peer-chart.js'
import { pureStep } from '../machines/lib/pure-step.js'
import { membershipMachine } from '../machines/pubsub/membership.machine.js'
import { pingPeerMachine } from '../machines/protocols/ping.machine.js'
import { swarmPeerMachine } from '../machines/swarm/peer.machine.js'
import { receiveMachine } from '../machines/pubsub/receive.machine.js'
import { pairMachine, RESEND_DUE } from '../machines/actors/pair.machine.js'

interface Case { name: string; machine: AnyStateMachine; cycle: EventObject[]; restart?: boolean }

const CASES: Case[] = [
  {
    name: 'pubsubMembership (graft, prune with backoff, backoff over)',
    machine: membershipMachine,
    cycle: [
      { type: 'member.graftReceived', negativeScore: false, subscribed: true, meshFull: false, backoff: 60_000 },
      { type: 'member.prune', backoff: 60_000 },
      { type: 'xstate.after.backoff.pubsubMembership.backoff' },
    ] as unknown as EventObject[],
  },
  {
    name: 'pingPeer (ping due, pong)',
    machine: pingPeerMachine,
    cycle: [{ type: 'ping.due', lostAfter: 30_000 }, { type: 'ping.pong', matches: true }] as unknown as EventObject[],
  },
  {
    name: 'swarmPeer (connect, a duplicate loses, disconnect)',
    machine: swarmPeerMachine,
    cycle: [
      { type: 'peer.authenticated', bound: false, atLimit: false, winner: 'none', probeable: false },
      { type: 'peer.authenticated', bound: false, atLimit: false, winner: 'current', probeable: false },
      { type: 'peer.connectionEnded', bound: true, held: false, reason: 'connection-lost', replacement: false, closing: false },
    ] as unknown as EventObject[],
  },
  {
    name: 'pair (pending, resend period, settled)',
    machine: pairMachine,
    cycle: [
      { type: 'pair.pending', connected: true, resendMs: 500 },
      { type: RESEND_DUE, resendMs: 500 },
      { type: 'pair.settled' },
    ] as unknown as EventObject[],
  },
  {
    // Each message starts `arrived` (a chart per message): the cycle restarts it after each outcome.
    name: 'pubsubReceive (a duplicate; a new message delivered)',
    machine: receiveMachine,
    restart: true,
    cycle: [
      { type: 'message.arrived', subscribed: true, knownCopy: true, seen: false, own: false, authentic: true, validator: false, validationsFull: false },
      { type: 'message.arrived', subscribed: true, knownCopy: false, seen: false, own: false, authentic: true, validator: false, validationsFull: false },
    ] as unknown as EventObject[],
  },
]

const noop = (): void => {}

/** µs per step of `run(steps)`, the median of 9 rounds of at least 200 ms. */
function measure(run: (steps: number) => void): number {
  run(2000) // warm-up
  const rounds: number[] = []
  for (let r = 0; r < 9; r++) {
    let steps = 0
    const start = performance.now()
    while (performance.now() - start < 200) {
      run(1000)
      steps += 1000
    }
    rounds.push(((performance.now() - start) * 1000) / steps)
  }
  return rounds.sort((a, b) => a - b)[4]
}

function bench(c: Case): Record<string, number> {
  const [initial] = initialTransition(c.machine)
  // transition(): the snapshot follows the cycle.
  const viaTransition = measure((steps) => {
    let s: AnyMachineSnapshot = initial
    for (let i = 0; i < steps; i++) s = transition(c.machine, c.restart ? initial : s, c.cycle[i % c.cycle.length])[0]
  })
  const viaPureStep = measure((steps) => {
    let s: AnyMachineSnapshot = initial
    for (let i = 0; i < steps; i++) s = pureStep(c.machine, c.restart ? initial : s, c.cycle[i % c.cycle.length])[0]
  })
  const names = Object.keys(c.machine.implementations.actions)
  const chart = peerChart(c.machine, Object.fromEntries(names.map((n) => [n, noop])))
  const viaPeerChart = measure((steps) => {
    const entry: PeerChartEntry = chart.start(0, undefined)
    for (let i = 0; i < steps; i++) {
      if (c.restart) entry.state = chart.initial
      chart.send(entry, c.cycle[i % c.cycle.length] as never, i, undefined)
    }
  })
  return { transition: viaTransition, pureStep: viaPureStep, peerChart: viaPeerChart }
}

console.log(`peer chart step cost, µs per step (median of 9 rounds); node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}`)
console.log(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
for (const c of CASES) {
  const r = bench(c)
  console.log(`${c.name.padEnd(58)} transition() ${r.transition.toFixed(2).padStart(7)}  pureStep ${r.pureStep.toFixed(2).padStart(6)}  peerChart.send ${r.peerChart.toFixed(2).padStart(6)}`)
}
console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)

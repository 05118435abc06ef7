/**
 * Model-based test of the root's per-peer chart (machines/swarm/peer.machine.ts): `xstate/graph`
 * walks it with sample facts (every state reached), and on a real root, fed the inputs of
 * each situation (a new peer, a duplicate that wins or loses, the per-peer limit, a probe
 * answered or not, a replacement, a disconnect), the peer's entry must reach the state the
 * model predicts from the facts the root computed, and every transition of the chart must be
 * taken by some situation (guarded branches included).
 * @module
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { transition, type AnyMachineSnapshot, type AnyTransitionDefinition } from 'xstate'
import { getShortestPaths, getStateNodes } from 'xstate/graph'
import { swarmPeer } from '../../machines/swarm/peers.js'
import { swarmPeerMachine, type SwarmPeerEvent } from '../../machines/swarm/peer.machine.js'
import type { PeerChartEntry } from '../../machines/lib/peer-chart.js'
import {
  auth, boundReplacementAtLimit, connectX, dialAny, ended, hash, input, opened, probing, securedReplacement, startRoot, X,
} from './swarm-fixtures.js'
import type { Ev } from './model-walk.js'

const FACTS: SwarmPeerEvent[] = []
for (const bound of [false, true]) for (const atLimit of [false, true]) for (const winner of ['none', 'current', 'new'] as const) {
  for (const probeable of [false, true]) FACTS.push({ type: 'peer.authenticated', bound, atLimit, winner, probeable })
}
for (const bound of [false, true]) for (const held of [false, true]) for (const reason of ['duplicate', 'connection-lost']) {
  for (const replacement of [false, true]) for (const closing of [false, true]) FACTS.push({ type: 'peer.connectionEnded', bound, held, reason, replacement, closing })
}
FACTS.push({ type: 'peer.probeAnswered' }, { type: 'peer.probeFailed' })

/** Situations on a real root: the inputs (after `cmd.start`) and, for the last one, the source state of the peer's step. */
const limit3 = { ...input, limits: { ...input.limits, maxConnectionsPerPeer: 3, maxConnections: 4 } }
const SITUATIONS: Array<{ name: string; inputs: Ev[]; root?: typeof input }> = [
  { name: 'a new peer', inputs: connectX },
  { name: 'a new peer at the limit (its closing connections make room)', inputs: [...boundReplacementAtLimit, ended('d1', 'handshake-timeout', { direction: 'outbound' }), opened(4), auth('c4', X)] },
  { name: 'a replacement confirms', inputs: [...securedReplacement, ended('c1', 'duplicate'), auth('d1', X)] },
  { name: 'a replacement confirms at the limit', inputs: [...boundReplacementAtLimit, auth('d1', X, 6)] },
  { name: 'a duplicate wins', inputs: [...connectX, opened(2), auth('c2', X, 1)] },
  { name: 'a duplicate wins at the limit', inputs: [...connectX, opened(2), auth('c2', X, 9), opened(3), auth('c3', X, 1)] },
  { name: 'a duplicate over the limit', inputs: [...connectX, opened(2), auth('c2', X, 9), opened(3), auth('c3', X)] },
  { name: 'a duplicate loses', inputs: [...connectX, opened(2), auth('c2', X, 9)] },
  { name: 'a duplicate loses to a settled connection: probe', inputs: probing },
  { name: 'the remote kept our other connection', inputs: [...securedReplacement, ended('c1', 'duplicate')] },
  { name: 'the connection ends', inputs: [...connectX, ended('c1', 'hung-up', { peer: X })] },
  { name: 'the swarm closes', inputs: [...connectX, { type: 'cmd.close' }, ended('c1', 'swarm-closed', { peer: X })] },
  { name: 'probing: the probe is answered', inputs: [...probing, { type: 'conn.probe.answered', key: 'c1' }] },
  { name: 'probing: the probe fails', inputs: [...probing, { type: 'conn.probe.failed', key: 'c1' }] },
  { name: 'probing: the probed connection dies', inputs: [...probing, ended('c1', 'connection-lost', { peer: X })] },
  { name: 'probing: the held connection ends', inputs: [...probing, ended('c2', 'connection-lost', { peer: X })] },
  { name: 'probing: the probed one closed by the remote, which kept our dial', inputs: [...probing, dialAny, opened(7, 1), { type: 'conn.secured', key: 'd1', peer: X, handshakeHash: hash(6) }, ended('c1', 'duplicate')] },
  { name: 'probing: the probed one closed as a duplicate, nothing else', inputs: [...probing, ended('c1', 'duplicate')] },
  { name: 'probing: a third over the limit', inputs: [...probing, opened(3), auth('c3', X, 9)] },
  { name: 'probing: a third wins at the limit', inputs: [...probing, opened(3), auth('c3', X, 1)] },
  { name: 'probing: a third wins', inputs: [...probing, opened(3), auth('c3', X, 1)], root: limit3 },
  { name: 'probing: a third loses', inputs: [...probing, opened(3), auth('c3', X, 9)], root: limit3 },
]

interface Step { from: string; event: SwarmPeerEvent; to: string }

/** Run a situation on a real root; every step of X's chart, with its source and resulting state. */
function run(inputs: Ev[], root = input): Step[] {
  const steps: Step[] = []
  const send = swarmPeer.send.bind(swarmPeer)
  const spy = vi.spyOn(swarmPeer, 'send').mockImplementation((entry: PeerChartEntry, event, now, arg) => {
    const from = entry.state
    send(entry, event, now, arg)
    steps.push({ from, event: event as SwarmPeerEvent, to: entry.state })
  })
  try {
    const actor = startRoot(() => {}, root)
    actor.send({ type: 'cmd.start' })
    for (const e of inputs) actor.send(e)
    const state = (actor.snapshot().context.peers.get(X) as PeerChartEntry | undefined)?.state ?? 'disconnected'
    expect(state, 'the entry in the root is the last step\'s').toBe(steps.at(-1)?.to)
  } finally {
    spy.mockRestore()
  }
  return steps
}

const snapshotOf = (state: string): AnyMachineSnapshot => swarmPeerMachine.resolveState({ value: state, context: undefined as never })

afterEach(() => { vi.restoreAllMocks() })

describe('root per-peer chart (swarmPeer): model-based', () => {
  it('xstate/graph reaches every state from the sample facts', () => {
    const paths = getShortestPaths(swarmPeerMachine, { events: FACTS, serializeState: (s: AnyMachineSnapshot) => String(s.value) } as never)
    expect(new Set(paths.map((p) => String(p.state.value)))).toEqual(new Set(['disconnected', 'connected', 'probing']))
  })

  it('on a real root every step reaches the state the model predicts, and every transition is taken', () => {
    const taken = new Set<AnyTransitionDefinition>()
    for (const { name, inputs, root } of SITUATIONS) {
      const steps = run(inputs, root)
      expect(steps.length, name).toBeGreaterThan(0)
      for (const { from, event, to } of steps) {
        const source = snapshotOf(from)
        const [next] = transition(swarmPeerMachine, source, event)
        expect(String(next.value), `${name}: ${from} + ${JSON.stringify(event)}`).toBe(to)
        for (const def of swarmPeerMachine.getTransitionData(source as never, event as never) ?? []) taken.add(def)
      }
    }
    const all = getStateNodes(swarmPeerMachine.root).flatMap((node) => [...node.transitions.values()].flat())
    expect(all.filter((def) => !taken.has(def)).map((def) => `${def.source.id} --${def.eventType}[${all.filter((d) => d.source === def.source && d.eventType === def.eventType).indexOf(def)}]-->`)).toEqual([])
  })

  it('a peer that disconnects leaves no entry; the bound connection is in the entry', () => {
    const actor = startRoot(() => {})
    actor.send({ type: 'cmd.start' })
    for (const e of probing) actor.send(e)
    expect(actor.snapshot().context.peers.get(X)).toMatchObject({ state: 'probing', key: 'c1', direction: 'inbound' })
    actor.send({ type: 'conn.probe.failed', key: 'c1' })
    expect(actor.snapshot().context.peers.get(X)).toMatchObject({ state: 'connected', key: 'c2' })
    actor.send(ended('c2', 'hung-up', { peer: X }))
    expect(actor.snapshot().context.peers.has(X)).toBe(false)
  })
})

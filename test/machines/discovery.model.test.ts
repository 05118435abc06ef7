/**
 * Model-based test of the discovery chart (machines/discovery/discovery.machine.ts) with
 * `xstate/graph`: disabled and active, the three timing regions (bootstrap attempts, the
 * connection manager, the refresh walk), and every guarded branch of connections, failed
 * dials, messages and findPeer. Each edge is replayed on a real discovery actor under a
 * SimulatedClock (below a recording root, as in src/discovery/probe.ts); see model-walk.ts.
 *
 * The model abstracts the data: one peer P is connected or not (model actions count it, and
 * the region guards `hasConnections`, `hasNoConnections`, `isOnline` read that count: P always
 * connects outbound at its /p2p address, so it enters the routing table), and the guards that
 * inspect a message, a failed dial or a findPeer take the branch the sample names in `branch`.
 * The replays check the real guards: together they must take every transition.
 */
import { describe, expect, it } from 'vitest'
import { assign, createActor, fromTransition, SimulatedClock, type AnyMachineSnapshot, type InspectionEvent } from 'xstate'
import { discoveryMachine } from '../../machines/discovery/discovery.machine.js'
import type { DiscoveryOptions } from '../../machines/discovery/options.js'
import { bindRuntime, spawnTracked } from '../../machines/lib/runtime.js'
import { protocolSystemId } from '../../machines/lib/protocol.js'
import { simInput, simPeerId } from '../../src/discovery/probe.js'
import { walkAndReplay, withoutActions, type Ev, type Sample } from './model-walk.js'

const ME = simPeerId('model-me')
const P = simPeerId('model-p')
const Q = simPeerId('model-q')
const P_ADDR = `memory://p/p2p/${P}`
const Q_ADDR = `memory://q/p2p/${Q}`
const TICK = 1_000
const REFRESH = 4_000
const BASE: DiscoveryOptions = {
  tickInterval: TICK, refreshInterval: REFRESH, lowWatermark: 1, highWatermark: 4, maxLookups: 2,
  knownPeers: [{ peer: Q, addresses: [Q_ADDR] }],
  bootstrapBackoff: { base: 1_000, max: 1_000, jitter: 0 },
}
const INPUTS = [
  simInput(ME, [`memory://me/p2p/${ME}`], { ...BASE, bootstrap: ['memory://boot'] }, new Uint8Array(32)),
  simInput(ME, [`memory://me/p2p/${ME}`], { ...BASE, refreshInterval: 0 }, new Uint8Array(32)),
  simInput(ME, [], { ...BASE, enabled: false }, new Uint8Array(32)),
]

const connectP: Ev = { type: 'peer.connected', peer: P, direction: 'outbound', address: P_ADDR }
const message = (body: unknown, branch: string, before?: Ev[]): Sample => ({ type: 'message', peer: P, body, branch, ...(before ? { before } : {}) })
const findPeer = (peer: unknown, branch: string, before?: Ev[]): Sample => ({ type: 'discovery.findPeer', peer, queryId: 1, branch, ...(before ? { before } : {}) })

/** Samples while P is not connected (index 0) or connected (index 1). */
function samplesFor(connected: boolean): Sample[] {
  const common: Sample[] = [
    { type: 'swarm.listening', addresses: [`memory://me/p2p/${ME}`] },
    { type: 'discovery.export' },
    { type: 'discovery.protect', peer: P },
    { type: 'discovery.unprotect', peer: P },
    { type: 'lookup.query', lookupId: 'lookup:99', peers: [P] },
    { type: 'xstate.done.actor.lookup:99', output: { rounds: 0 } },
    { type: 'xstate.error.actor.lookup:99', error: 'x' },
    { type: 'dial.failed', address: 'memory://nowhere', reason: 'x', branch: 'isUnknownDial' },
    findPeer('not a peer id', 'isInvalidPeerId'),
    findPeer(ME, 'isSelfOrConnected'),
    { type: 'swarm.closing' },
    { type: 'xstate.after.tickInterval.discovery.active.manager.watching' },
    { type: 'xstate.after.bootstrapBackoff.discovery.active.bootstrap.dialing' },
    { type: 'xstate.after.refreshInterval.discovery.active.refresh.walking' },
  ]
  if (!connected) {
    return [
      ...common,
      connectP,
      message({ t: 'find', id: 1, target: new Uint8Array(32) }, 'isFromUnconnectedPeer'),
      findPeer(Q, 'hasNoRoutes'),
      // The bootstrap address has no peer id (harmless); Q, known, was dialed to fill (backoff).
      { type: 'dial.failed', address: 'memory://boot', reason: 'x', branch: 'isHarmlessDialFailure' },
      { type: 'dial.failed', address: Q_ADDR, peer: Q, reason: 'x', branch: 'backOffPeer' },
    ]
  }
  return [
    ...common,
    { type: 'peer.disconnected', peer: P, reason: 'x' },
    message({ t: 'hello', addrs: [P_ADDR], peers: [] }, 'isFirstHello'),
    message({ t: 'find', id: 1, target: new Uint8Array(32) }, 'isFind'),
    // Connecting made us online: the self-lookup queried P with request id 1.
    message({ t: 'found', id: 1, peers: [] }, 'isAwaitedAnswer'),
    findPeer(P, 'isSelfOrConnected'),
    findPeer(Q, 'isAtLookupLimit', [{ type: 'discovery.findPeer', peer: Q, queryId: 8 }]),
    findPeer(Q, 'startFindLookup'),
  ]
}

function connectedIn(snapshot: AnyMachineSnapshot): boolean {
  const c = snapshot.context as { modelConnected?: number; connected: Map<string, unknown> }
  return 'modelConnected' in c ? c.modelConnected === 1 : c.connected.has(P)
}

function samples(snapshot: AnyMachineSnapshot): Sample[] {
  const types = [...new Set(snapshot._nodes.flatMap((node) => [...node.transitions.keys()]))]
  const handled = (type: string): boolean => types.some((t) => t === type || (t.endsWith('.*') && type.startsWith(t.slice(0, -1))))
  return samplesFor(connectedIn(snapshot)).filter((e) => handled(e.type))
}

const serialize = (snapshot: AnyMachineSnapshot): string => JSON.stringify({ value: snapshot.value, connected: connectedIn(snapshot) })

const branch = (name: string) => ({ event }: { event: Sample }) => event.branch === name
const model = withoutActions(discoveryMachine).provide({
  actions: {
    trackConnection: assign({ modelConnected: 1 } as never),
    untrackConnection: assign({ modelConnected: 0 } as never),
  } as never,
  guards: {
    hasConnections: ({ context }: { context: { modelConnected?: number } }) => context.modelConnected === 1,
    hasNoConnections: ({ context }: { context: { modelConnected?: number } }) => context.modelConnected !== 1,
    isOnline: ({ context }: { context: { modelConnected?: number } }) => context.modelConnected === 1,
    isNewConnection: ({ context }: { context: { modelConnected?: number } }) => context.modelConnected !== 1,
    isTrackedConnection: ({ context }: { context: { modelConnected?: number } }) => context.modelConnected === 1,
    ...Object.fromEntries([
      'isUnknownDial', 'isHarmlessDialFailure', 'isFromUnconnectedPeer', 'isFirstHello', 'isFind', 'isAwaitedAnswer',
      'isInvalidPeerId', 'isSelfOrConnected', 'isAtLookupLimit', 'hasNoRoutes',
    ].map((name) => [name, branch(name)])),
  } as never,
})

function start(inspect: (event: InspectionEvent) => void, input: unknown) {
  const clock = new SimulatedClock()
  const root = createActor(fromTransition((s: null) => s, null), { clock, inspect, systemId: 'swarm' })
  bindRuntime(root, { sink: () => {}, now: () => clock.now() })
  root.start()
  const id = protocolSystemId('/xswarm/discovery/1')
  const actor = spawnTracked(root, discoveryMachine, { id: 'discovery', systemId: id, input })
  const advance = (ms: number): void => {
    const end = clock.now() + ms
    while (clock.now() < end) clock.set(Math.min(end, clock.now() + 10))
  }
  return {
    send(event: Ev): void {
      if (!event.type.startsWith('xstate.after.')) return actor.send(event as never)
      const delay = event.type.split('.')[2]
      advance(delay === 'refreshInterval' ? REFRESH * 1.25 : TICK)
    },
    snapshot: () => actor.getSnapshot() as AnyMachineSnapshot,
  }
}

describe('discovery chart: model-based (xstate/graph)', () => {
  it('every edge replayed on a real actor reaches the predicted state; every transition is taken', () => {
    const { edges, states } = walkAndReplay({ machine: discoveryMachine, model, inputs: INPUTS, samples, serialize, start })
    expect(states).toBeGreaterThan(5)
    expect(edges).toBeGreaterThan(40)
  })
})

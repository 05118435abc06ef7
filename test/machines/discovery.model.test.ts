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
 *
 * Provider records: the model also counts whether a key is provided, due and being announced
 * (`provideKey`, `markAllDue`, `startAnnounce`, the announce lookup's end). The sample
 * `xstate.done.actor.announce` stands for the end of the announce lookup: the replay sends it as
 * the done event of the real announce lookup child, whatever its id.
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
const REPUBLISH = 200_000 // longer than any path of ticks and refreshes; the sweep (TTL/4) comes first
const TTL = 400_000
const BASE: DiscoveryOptions = {
  tickInterval: TICK, refreshInterval: REFRESH, lowWatermark: 1, highWatermark: 4, maxLookups: 2,
  republishInterval: REPUBLISH, providerTtl: TTL, queryTimeout: 600_000, contactTimeout: 600_000, lookupLinger: TICK / 2,
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
const KEY = new Uint8Array(32).fill(7)
const findProviders = (key: unknown, branch: string, before?: Ev[]): Sample => ({ type: 'discovery.findProviders', key, queryId: 2, branch, ...(before ? { before } : {}) })

const R = simPeerId('model-r')
const AS_LOOKUP_CONNECTION: Ev[] = [
  { type: 'peer.disconnected', peer: P, reason: 'trimmed' },
  { type: 'discovery.findPeer', peer: R, queryId: 5 },
  connectP,
]

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
    { type: 'xstate.after.republishInterval.discovery.active.providers.republish.waiting' },
    { type: 'xstate.after.providerSweep.discovery.active.providers.expiry.waiting' },
    { type: 'discovery.provide', key: KEY },
    { type: 'discovery.unprovide', key: KEY },
    { type: 'xstate.done.actor.announce' },
    findProviders(new Uint8Array(3), 'isInvalidProviderQuery'),
  ]
  if (!connected) {
    return [
      ...common,
      connectP,
      message({ t: 'find', id: 1, target: new Uint8Array(32) }, 'isFromUnconnectedPeer'),
      findPeer(Q, 'hasNoRoutes'),
      findProviders(KEY, 'hasNoRoutes'),
      // The bootstrap address has no peer id (harmless); Q, known, was dialed to fill (backoff).
      { type: 'dial.failed', address: 'memory://boot', reason: 'x', branch: 'isHarmlessDialFailure' },
      { type: 'dial.failed', address: Q_ADDR, peer: Q, reason: 'x', branch: 'countFailedDial' },
    ]
  }
  return [
    ...common,
    { type: 'peer.disconnected', peer: P, reason: 'x' },
    // Trimmed (by P) while the self-lookup's query to P is in flight: P is dialed again.
    { type: 'peer.disconnected', peer: P, reason: 'trimmed', branch: 'isTrimmedWhileNeeded' },
    // P's connection made a lookup's (redialed after a trim, or dialed to ask it for R): the
    // linger passes while it is open; it closes (lookupConnections back to none).
    { type: 'xstate.after.tickInterval.discovery.active.manager.watching', before: AS_LOOKUP_CONNECTION },
    { type: 'peer.disconnected', peer: P, reason: 'y', before: AS_LOOKUP_CONNECTION },
    message({ t: 'hello', addrs: [P_ADDR], peers: [] }, 'isFirstHello'),
    message({ t: 'find', id: 1, target: new Uint8Array(32) }, 'isFind'),
    // Connecting made us online: the self-lookup queried P with request id 1.
    message({ t: 'found', id: 1, peers: [] }, 'isAwaitedAnswer'),
    findPeer(P, 'isSelfOrConnected'),
    findPeer(Q, 'isAtLookupLimit', [{ type: 'discovery.findPeer', peer: Q, queryId: 8 }]),
    findPeer(Q, 'startFindLookup'),
    message({ t: 'provide', key: KEY, addrs: [P_ADDR] }, 'isProvide'),
    message({ t: 'provided', key: KEY, code: 'key-full' }, 'isProvideRefusal'),
    message({ t: 'getp', id: 3, key: KEY }, 'isGetProviders'),
    findProviders(KEY, 'isAtLookupLimit', [{ type: 'discovery.findPeer', peer: Q, queryId: 8 }]),
    findProviders(KEY, 'startProvidersLookup'),
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

/** Provided, due, announcing (0/1 each), from the model's counters or the real context. */
function providingIn(snapshot: AnyMachineSnapshot): number[] {
  const c = snapshot.context as { modelProvided?: number; modelDue?: number; modelAnnouncing?: number; provided: Map<string, { due: boolean }>; announcing?: string }
  if ((snapshot as { machine?: unknown }).machine === model) return [c.modelProvided ?? 0, c.modelDue ?? 0, c.modelAnnouncing ?? 0]
  return [c.provided.size, [...c.provided.values()].some((p) => p.due) ? 1 : 0, c.announcing === undefined ? 0 : 1]
}

/**
 * The `lookupConnections` region is left out of the compared state: whether P's connection is a
 * lookup's (P redialed for a query after a trim) depends on lookup data the model does not keep.
 * The replays still have to take each of its transitions (P redialed, then the linger passing).
 */
function valueOf(snapshot: AnyMachineSnapshot): unknown {
  const value = snapshot.value as { active?: Record<string, unknown> }
  if (typeof value !== 'object' || !value.active) return value
  const { lookupConnections: _, ...active } = value.active
  return { active }
}

const serialize = (snapshot: AnyMachineSnapshot): string =>
  JSON.stringify({ value: valueOf(snapshot), connected: connectedIn(snapshot), providing: providingIn(snapshot) })
type ModelContext = { modelConnected?: number; modelProvided?: number; modelDue?: number; modelAnnouncing?: number }

const branch = (name: string) => ({ event }: { event: Sample }) => event.branch === name
const model = withoutActions(discoveryMachine).provide({
  actions: {
    trackConnection: assign({ modelConnected: 1 } as never),
    untrackConnection: assign({ modelConnected: 0 } as never),
    // P is the announce lookup's only peer: losing it ends that lookup at once (a trim does not: P is dialed again)
    failQueriesToPeer: assign({ modelAnnouncing: 0 } as never),
    provideKey: assign(({ context }: { context: ModelContext }) => (context.modelProvided === 1 ? {} : { modelProvided: 1, modelDue: 1 })) as never,
    unprovideKey: assign({ modelProvided: 0, modelDue: 0 } as never),
    markAllDue: assign(({ context }: { context: ModelContext }) => ({ modelDue: context.modelProvided ?? 0 })) as never,
    startAnnounce: assign({ modelDue: 0, modelAnnouncing: 1 } as never),
    cancelLookups: assign({ modelAnnouncing: 0 } as never),
    finishLookup: assign(({ event }: { event: Ev }) => (event.type === 'xstate.done.actor.announce' ? { modelAnnouncing: 0 } : {})) as never,
  } as never,
  guards: {
    hasConnections: ({ context }: { context: { modelConnected?: number } }) => context.modelConnected === 1,
    hasNoConnections: ({ context }: { context: { modelConnected?: number } }) => context.modelConnected !== 1,
    isOnline: ({ context }: { context: { modelConnected?: number } }) => context.modelConnected === 1,
    isNewConnection: ({ context }: { context: { modelConnected?: number } }) => context.modelConnected !== 1,
    isTrackedConnection: ({ context }: { context: { modelConnected?: number } }) => context.modelConnected === 1,
    isTrimmedWhileNeeded: ({ context, event }: { context: { modelConnected?: number }; event: Sample }) =>
      context.modelConnected === 1 && event.branch === 'isTrimmedWhileNeeded',
    canAnnounce: ({ context }: { context: ModelContext }) => context.modelDue === 1 && context.modelConnected === 1 && context.modelAnnouncing !== 1,
    isAnnounceDone: ({ context }: { context: ModelContext }) => context.modelAnnouncing !== 1,
    ...Object.fromEntries([
      'isUnknownDial', 'isHarmlessDialFailure', 'isFromUnconnectedPeer', 'isFirstHello', 'isFind', 'isAwaitedAnswer',
      'isInvalidPeerId', 'isSelfOrConnected', 'isAtLookupLimit', 'hasNoRoutes',
      'isProvide', 'isProvideRefusal', 'isGetProviders', 'isInvalidProviderQuery',
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
      if (event.type === 'xstate.done.actor.announce') {
        const id = (actor.getSnapshot().context as { announcing?: string }).announcing ?? 'none'
        return actor.send({ type: `xstate.done.actor.${id}`, output: { lookupId: id, rounds: 1, queried: 1, closest: [] } } as never)
      }
      if (!event.type.startsWith('xstate.after.')) return actor.send(event as never)
      const delay = event.type.split('.')[2]
      advance(delay === 'refreshInterval' ? REFRESH * 1.25 : delay === 'republishInterval' ? REPUBLISH : delay === 'providerSweep' ? TTL / 4 : TICK)
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

/**
 * `/xswarm/discovery/1`: bootstrap, peer exchange, Kademlia FIND_NODE, random walks and the
 * connection manager, as one protocol statechart (systemId `protocol:/xswarm/discovery/1`).
 *
 *   starting ─┬─[isDisabled]─▶ disabled   (static mode: answers findPeer/export only)
 *             └─▶ active (parallel) ──(swarm.closing)──▶ closed
 *                  bootstrap: checking → idle | dialing ⇄ after(bootstrapBackoff) (a bootstrap attempt) ⇄ connected
 *                  manager:   starting → watching ⟲ after(tickInterval; the first at a seeded point of the first
 *                             interval): purgeStaleDials, expireHeardPeers, trimConnections, fillConnections, resumeTickInterval
 *                  lookupConnections: none ─[hasLookupConnections]─▶ lingering ⟲ after(lookupLinger):
 *                             releaseLookupConnections (those idle for lookupLinger) ─[hasNoLookupConnections]─▶ none
 *                  refresh:   waitingForRoutes → joining (self-lookup) → walking ⟲ after(refreshInterval ±25%):
 *                             a random walk and a self-lookup, in turn (libp2p's periodic bootstrap)
 *                  providers (parallel):
 *                    announce:  idle ─[canAnnounce]─▶ announcing (one announce lookup) ─[isAnnounceDone]─▶ idle
 *                    republish: waiting ⟲ after(republishInterval): markAllDue (every provided key again)
 *                    expiry:    waiting ⟲ after(providerSweep): dropExpiredProviders
 *   In `active`, decisions are guards on the transitions:
 *     peer.connected [isNewConnection]: trackConnection, rememberConnectedPeer, greetPeer, sendAwaitedQueries
 *     peer.disconnected: [isTrimmedWhileNeeded] untrackConnection, redialForWork, fillConnections ·
 *                        [isTrackedConnection] untrackConnection, failQueriesToPeer, fillConnections
 *     dial.failed: [isUnknownDial] dropHeardAddress (a dial replaced by a newer one) · [isHarmlessDialFailure] forgetDial ·
 *                  countFailedDial, failQueriesToDialedPeer, forgetDial, fillConnections
 *                  (countFailedDial: a heard address is dropped, a peer known only by hearsay
 *                  forgotten with its last one, else backoff; connections.ts)
 *     message: [isFromUnconnectedPeer] ignored · [isFirstHello] learnFromHello · [isFind] answerFind ·
 *              [isProvide] storeProvider · [isProvideRefusal] reportProvideRefusal ·
 *              [isGetProviders] answerGetProviders ·
 *              [isAwaitedAnswer] passAnswerToLookup · (a second hello, an unasked answer: ignored)
 *     discovery.findPeer: [isInvalidPeerId] · [isSelfOrConnected] · [isAtLookupLimit] · [hasNoRoutes] · startFindLookup
 *     discovery.findProviders: [isInvalidProviderQuery] · [isAtLookupLimit] · [hasNoRoutes] answerProvidersAtOnce ·
 *                              startProvidersLookup   (provider records: providers.ts)
 * (The `always` guards of a region are mutually exclusive, so eventless transitions cannot loop:
 * `isOnline` needs a connection, and `walking` leaves only when there is none.)
 *
 * Chart and data: each lookup is a child actor (lookup.machine.ts: querying ⇄ waiting →
 * evaluating → found | done | cancelled), spawned with `spawnChild` (a few at a time, bounded by
 * maxLookups). The peer store, routing table, connections, dials and in-flight queries are data
 * in context, mutated in place by the named actions (connections.ts, exchange.ts, queries.ts);
 * what those steps ask for (frames, user events, dial and hang-up requests, lookup events and
 * children) collects in `context.out`, and the `flush` action that ends every transition
 * performs it in order. An event for a lookup that has just finished finds no child; XState then
 * delivers it to this actor, which ignores it.
 *
 * User commands (via `cmd.protocol` to this protocol): `discovery.findPeer {peer, queryId}`,
 * `discovery.export`, `discovery.protect {peer, tag?}`, `discovery.unprotect {peer, tag?}`,
 * `discovery.provide {key}`, `discovery.unprovide {key}`, `discovery.findProviders {key, queryId, timeout?}`.
 * User events: `peer.discovered`, `discovery.peer.found`, `discovery.peer.notFound`,
 * `discovery.exported`, `discovery.providers.found`, `discovery.providers.failed`,
 * `discovery.provide.refused` (see context.ts).
 * @module
 */
import { setup, type AnyActorRef } from 'xstate'
import { enqueueActions } from '../lib/enqueue.js'
import { defineProtocol, type ProtocolDefinition, type ProtocolInput } from '../lib/protocol.js'
import { nextFloat } from '../lib/rng.js'
import { inputTime } from '../lib/runtime.js'
import type { SendEffect } from '../vocab.js'
import { backoffDelay } from './backoff.js'
import { peerKey, tableSize } from './kbucket.js'
import { lookupMachine } from './lookup.machine.js'
import { parseMessage, type DiscoveryMessage } from './messages.js'
import { resolveOptions, type DiscoveryOptions } from './options.js'
import { exportPeers } from './peer-store.js'
import {
  createContext, DISCOVERY_ID, ownAddresses,
  type DiscoveryCommand, type DiscoveryContext, type DiscoveryEvent, type DiscoveryUserEvent, type Out,
} from './context.js'
import {
  countFailedDial, dialBootstrap, dropHeardAddress, failedDialKey, fill, isHarmlessDialFailure, protect, purgeStaleDials,
  releaseLookupConnections, rememberConnectedPeer, trackConnection, trim, unprotect, untrackConnection,
} from './connections.js'
import { onFind, onFound, onHello, sendHello } from './exchange.js'
import {
  answerProvidersAtOnce, dropOffers, flushOffers, hasDueKey, isValidFindProviders, markAllDue, onGetProviders, onProvide,
  onProvided, onProvidersAnswer, provide, refuseFindProviders, startAnnounce, startProvidersLookup, unprovide,
} from './providers.js'
import { expireProviders } from './provider-store.js'
import { expireHeardPeers } from './peers.js'
import {
  answerFindPeerAtOnce, cancelLookups, failQueriesTo, flushAwaiting, hasWorkFor, MANAGER_REASONS, onLookupDone, onLookupQuery,
  randomKey, redialForWork, refuseFindPeer, startFindLookup, startLookup,
} from './queries.js'
import type { FindMessage, FoundMessage, GetProvidersMessage, HelloMessage, ProvidedMessage, ProvideMessage, ProvidersMessage } from './messages.js'

export { DISCOVERY_ID }

type E<T extends DiscoveryEvent['type']> = Extract<DiscoveryEvent, { type: T }>
type Args = { context: DiscoveryContext; event: DiscoveryEvent; self: AnyActorRef }

/**
 * A named step: run `fn` with the input time; what it asks for waits in `context.out` for
 * `flush`. Steps run while the transition is resolved (an `enqueueActions` callback), as `flush`
 * does: custom actions of the initial state would run only after the actor has started, i.e.
 * after the `flush` meant to follow them. (Typed loosely for `setup`: XState's action generics
 * do not survive being built outside it.)
 */
function step<T extends DiscoveryEvent['type'] | undefined = undefined>(
  fn: (ctx: DiscoveryContext, event: T extends DiscoveryEvent['type'] ? E<T> : DiscoveryEvent, now: number, out: Out[]) => void,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): any {
  return enqueueActions(({ context, event, self }: Args) => fn(context, event as never, inputTime(self), context.out))
}

/** The dial a `dial.failed` is about (a dial of ours, by peer id or address). */
const dialKeyOf = (ctx: DiscoveryContext, event: DiscoveryEvent): string | undefined =>
  event.type === 'dial.failed' ? failedDialKey(ctx, event.address, event.peer) : undefined

const messageOf = (event: DiscoveryEvent): DiscoveryMessage | undefined => (event.type === 'message' ? event.body : undefined)

export const discoveryMachine = setup({
  types: {
    context: {} as DiscoveryContext,
    events: {} as DiscoveryEvent,
    input: {} as ProtocolInput<DiscoveryOptions>,
    emitted: {} as SendEffect | DiscoveryUserEvent,
  },
  actors: { lookup: lookupMachine },
  guards: {
    isDisabled: ({ context }) => !context.options.enabled,
    hasNoBootstrap: ({ context }) => context.options.bootstrap.length === 0,
    hasConnections: ({ context }) => context.connected.size > 0,
    hasNoConnections: ({ context }) => context.connected.size === 0,
    isOnline: ({ context }) => context.connected.size > 0 && tableSize(context.table) > 0,
    refreshDisabled: ({ context }) => context.options.refreshInterval === 0,
    hasLookupConnections: ({ context }) => context.lookupConnections > 0,
    hasNoLookupConnections: ({ context }) => context.lookupConnections === 0,
    isNewConnection: ({ context, event }) =>
      event.type === 'peer.connected' && event.peer !== context.peerId && !context.connected.has(event.peer),
    isTrackedConnection: ({ context, event }) => event.type === 'peer.disconnected' && context.connected.has(event.peer),
    /**
     * A connection closed by a connection manager (we hung up, or the remote says `trimmed`)
     * while lookup queries or provider records waited on it: the peer is not gone.
     */
    isTrimmedWhileNeeded: ({ context, event }) => event.type === 'peer.disconnected' && context.connected.has(event.peer)
      && (context.hangingUp.has(event.peer) || MANAGER_REASONS.has(event.reason)) && hasWorkFor(context, event.peer),
    isUnknownDial: ({ context, event }) => dialKeyOf(context, event) === undefined,
    /** A bootstrap address without a peer id, or a peer connected anyway: nothing to hold against it. */
    isHarmlessDialFailure: ({ context, event }) => isHarmlessDialFailure(context, dialKeyOf(context, event)!),
    isFromUnconnectedPeer: ({ context, event }) => event.type === 'message' && !context.connected.has(event.peer),
    /** Only the first `hello` of a connection counts (a peer cannot flood the store through one connection). */
    isFirstHello: ({ context, event }) =>
      messageOf(event)?.t === 'hello' && context.connected.get((event as E<'message'>).peer)?.greeted === false,
    isFind: ({ event }) => messageOf(event)?.t === 'find',
    isProvide: ({ event }) => messageOf(event)?.t === 'provide',
    isProvideRefusal: ({ event }) => messageOf(event)?.t === 'provided',
    isGetProviders: ({ event }) => messageOf(event)?.t === 'getp',
    /** A `found` or `providers` answering a request we have in flight, from the peer we asked. */
    isAwaitedAnswer: ({ context, event }) => {
      const body = messageOf(event)
      return (body?.t === 'found' || body?.t === 'providers') && context.pending.get(body.id)?.peer === (event as E<'message'>).peer
    },
    isInvalidProviderQuery: ({ event }) => !isValidFindProviders(event as E<'discovery.findProviders'>),
    /** Online, a provided key is due and no announce runs (it is the one lookup besides maxLookups). */
    canAnnounce: ({ context }) => context.announcing === undefined && hasDueKey(context)
      && context.connected.size > 0 && tableSize(context.table) > 0,
    isAnnounceDone: ({ context }) => context.announcing === undefined,
    isInvalidPeerId: ({ event }) => {
      const peer = (event as E<'discovery.findPeer'>).peer as unknown
      return typeof peer !== 'string' || peerKey(peer) === undefined
    },
    isSelfOrConnected: ({ context, event }) => {
      const peer = (event as E<'discovery.findPeer'>).peer
      return peer === context.peerId || context.connected.has(peer)
    },
    isAtLookupLimit: ({ context }) => context.lookups.size - (context.announcing === undefined ? 0 : 1) >= context.options.maxLookups,
    hasNoRoutes: ({ context }) => tableSize(context.table) === 0,
  },
  actions: {
    trackConnection: step<'peer.connected'>((ctx, e, now) => trackConnection(ctx, e.peer, e.address, e.direction, now)),
    rememberConnectedPeer: step<'peer.connected'>((ctx, e, now, out) => rememberConnectedPeer(ctx, e.peer, e.address, e.direction, now, out)),
    /** Peer exchange: our addresses and a sample of the peers we know. */
    greetPeer: step<'peer.connected'>((ctx, e, _now, out) => sendHello(ctx, e.peer, out)),
    /** Lookups waiting for this peer's connection send their queries now. */
    sendAwaitedQueries: step<'peer.connected'>((ctx, e, _now, out) => { flushAwaiting(ctx, e.peer, out); flushOffers(ctx, e.peer, out) }),
    untrackConnection: step<'peer.disconnected'>((ctx, e, now) => untrackConnection(ctx, e.peer, now)),
    failQueriesToPeer: step<'peer.disconnected'>((ctx, e, _now, out) => failQueriesTo(ctx, e.peer, out)),
    /** Dial the peer again; its queries and provider records wait for the connection. */
    redialForWork: step<'peer.disconnected'>((ctx, e, now, out) => redialForWork(ctx, e.peer, now, out)),
    dropHeardAddress: step<'dial.failed'>((ctx, e) => { if (e.peer !== undefined) dropHeardAddress(ctx, e.peer, e.address) }),
    countFailedDial: step<'dial.failed'>((ctx, e, now) => countFailedDial(ctx, dialKeyOf(ctx, e)!, e.address, now)),
    failQueriesToDialedPeer: step((ctx, e, _now, out) => failQueriesTo(ctx, dialKeyOf(ctx, e)!, out)),
    forgetDial: step((ctx, e) => { const key = dialKeyOf(ctx, e)!; ctx.dialing.delete(key); dropOffers(ctx, key) }),
    learnFromHello: step<'message'>((ctx, e, now, out) => onHello(ctx, e.peer, e.body as HelloMessage, now, out)),
    answerFind: step<'message'>((ctx, e, _now, out) => onFind(ctx, e.peer, e.body as FindMessage, out)),
    passAnswerToLookup: step<'message'>((ctx, e, now, out) => e.body.t === 'providers'
      ? onProvidersAnswer(ctx, e.peer, e.body as ProvidersMessage, now, out)
      : onFound(ctx, e.peer, e.body as FoundMessage, now, out)),
    storeProvider: step<'message'>((ctx, e, now, out) => onProvide(ctx, e.peer, e.body as ProvideMessage, now, out)),
    reportProvideRefusal: step<'message'>((ctx, e, _now, out) => onProvided(ctx, e.peer, e.body as ProvidedMessage, out)),
    answerGetProviders: step<'message'>((ctx, e, now, out) => onGetProviders(ctx, e.peer, e.body as GetProvidersMessage, now, out)),
    provideKey: step<'discovery.provide'>((ctx, e, _now, out) => provide(ctx, e.key, out)),
    unprovideKey: step<'discovery.unprovide'>((ctx, e) => unprovide(ctx, e.key)),
    refuseFindProviders: enqueueActions(({ context, event }: Args, params: { reason: string }) =>
      refuseFindProviders(event as E<'discovery.findProviders'>, params.reason, context.out)) as ReturnType<typeof step>,
    answerProvidersAtOnce: step<'discovery.findProviders'>((ctx, e, now, out) => answerProvidersAtOnce(ctx, e, now, out)),
    startProvidersLookup: step<'discovery.findProviders'>((ctx, e, now, out) => startProvidersLookup(ctx, e, now, out)),
    providersUnavailable: step<'discovery.findProviders'>((ctx, e, _now, out) => refuseFindProviders(e, ctx.options.enabled ? 'closed' : 'disabled', out)),
    startAnnounce: step((ctx, _e, _now, out) => startAnnounce(ctx, out)),
    markAllDue: step((ctx) => markAllDue(ctx)),
    dropExpiredProviders: step((ctx, _e, now) => { expireProviders(ctx.providerStore, now) }),
    updateAddresses: step<'swarm.listening'>((ctx, e) => { ctx.addresses = ownAddresses(ctx.peerId, e.addresses) }),
    refuseFindPeer: enqueueActions(({ context, event }: Args, params: { reason: string }) =>
      refuseFindPeer(event as E<'discovery.findPeer'>, params.reason, context.out)) as ReturnType<typeof step>,
    answerFindPeerAtOnce: step<'discovery.findPeer'>((ctx, e, _now, out) => answerFindPeerAtOnce(ctx, e.peer, e.queryId, out)),
    startFindLookup: step<'discovery.findPeer'>((ctx, e, _now, out) => startFindLookup(ctx, e.peer, e.queryId, out)),
    answerUnavailable: step<'discovery.findPeer'>((ctx, e, _now, out) => refuseFindPeer(e, ctx.options.enabled ? 'closed' : 'disabled', out)),
    protectPeer: step<'discovery.protect'>((ctx, e) => protect(ctx, e.peer, e.tag)),
    unprotectPeer: step<'discovery.unprotect'>((ctx, e) => unprotect(ctx, e.peer, e.tag)),
    /** A lookup asks to query peers: send FIND_NODE now, after a dial, or fail the query. */
    dispatchQueries: step<'lookup.query'>((ctx, e, now, out) => onLookupQuery(ctx, e, now, out)),
    finishLookup: step((ctx, e, now, out) => {
      const id = e.type.replace(/^xstate\.(done|error)\.actor\./, '')
      onLookupDone(ctx, id, e.type.startsWith('xstate.done.') ? (e as { output?: never }).output : undefined, now, out)
    }),
    cancelLookups: step((ctx, _e, _now, out) => cancelLookups(ctx, out)),
    exportPeers: step((ctx, _e, now, out) => { out.push({ kind: 'emit', event: { type: 'discovery.exported', peers: exportPeers(ctx.store, now) } }) }),
    dialBootstrap: step((ctx, _e, now, out) => dialBootstrap(ctx, now, out)),
    scheduleBootstrapRetry: step((ctx) => {
      ctx.bootstrapDelay = backoffDelay(ctx.bootstrapAttempt, ctx.options.bootstrapBackoff, ctx.rng)
      ctx.bootstrapAttempt++
    }),
    resetBootstrap: step((ctx) => { ctx.bootstrapAttempt = 0 }),
    /** After the first tick (drawn within the first interval, context.ts), one every tickInterval. */
    resumeTickInterval: step((ctx) => { ctx.tickDelay = ctx.options.tickInterval }),
    scheduleRefresh: step((ctx) => {
      // ±25% so nodes that joined together do not all refresh (and hit the same peers) together
      ctx.refreshDelay = Math.max(1, Math.round(ctx.options.refreshInterval * (0.75 + 0.5 * nextFloat(ctx.rng))))
    }),
    /** Below the low watermark: dial random known peers. */
    fillConnections: step((ctx, _e, now, out) => fill(ctx, now, out)),
    /** Above the high watermark: hang up on unprotected idle peers down to the low one. */
    trimConnections: step((ctx, _e, now, out) => trim(ctx, now, out)),
    /** Lookup connections idle for lookupLinger: hung up (`lookup-done`), or kept as ordinary ones. */
    releaseLookupConnections: step((ctx, _e, now, out) => releaseLookupConnections(ctx, now, out)),
    purgeStaleDials: step((ctx, _e, now, out) => purgeStaleDials(ctx, now, out)),
    expireHeardPeers: step((ctx, _e, now) => expireHeardPeers(ctx, now)),
    startSelfLookup: step((ctx, _e, _now, out) => { startLookup(ctx, { kind: 'self', target: ctx.selfKey }, out) }),
    refreshRoutes: step((ctx, _e, _now, out) => {
      // alternate: a self-lookup (keeps our neighbourhood, and us in theirs) and a random walk
      const self = ctx.refreshCount++ % 2 === 0
      startLookup(ctx, self ? { kind: 'self', target: ctx.selfKey } : { kind: 'walk', target: randomKey(ctx) }, out)
    }),
    /** Perform, in order, what this transition's steps asked for. */
    flush: enqueueActions(({ context, enqueue }) => {
      const out = context.out
      if (out.length === 0) return
      context.out = []
      for (const o of out) {
        switch (o.kind) {
          case 'emit': enqueue.emit(o.event); break
          case 'swarm': enqueue.sendTo(({ system }) => system.get('swarm') as AnyActorRef, o.event as never); break
          case 'lookup': enqueue.sendTo(({ self: me }) => me.getSnapshot().children[o.id] as AnyActorRef, o.event as never); break
          case 'spawn': enqueue.spawnChild('lookup', { id: o.id, input: o.input }); break
          case 'stop': enqueue.stopChild(o.id); break
        }
      }
    }),
  },
  delays: {
    bootstrapBackoff: ({ context }) => context.bootstrapDelay,
    tickInterval: ({ context }) => context.tickDelay,
    lookupLinger: ({ context }) => context.options.lookupLinger,
    refreshInterval: ({ context }) => context.refreshDelay,
    republishInterval: ({ context }) => context.options.republishInterval,
    /** Expired records are skipped when read; the sweep frees their memory. */
    providerSweep: ({ context }) => Math.max(1_000, Math.floor(context.options.providerTtl / 4)),
  },
}).createMachine({
  id: 'discovery',
  context: ({ input, self }) => createContext(input, inputTime(self)),
  initial: 'starting',
  on: {
    'discovery.export': { actions: ['exportPeers', 'flush'] },
    'xstate.done.actor.*': { actions: ['finishLookup', 'flush'] },
    'xstate.error.actor.*': { actions: ['finishLookup', 'flush'] },
  },
  states: {
    starting: {
      always: [
        { guard: 'isDisabled', target: 'disabled' },
        { target: 'active' },
      ],
    },
    disabled: {
      on: {
        'discovery.findPeer': { actions: ['answerUnavailable', 'flush'] },
        'discovery.findProviders': { actions: ['providersUnavailable', 'flush'] },
        'swarm.closing': { target: 'closed' },
      },
    },
    active: {
      type: 'parallel',
      on: {
        'peer.connected': {
          guard: 'isNewConnection',
          actions: ['trackConnection', 'rememberConnectedPeer', 'greetPeer', 'sendAwaitedQueries', 'flush'],
        },
        'peer.disconnected': [
          { guard: 'isTrimmedWhileNeeded', actions: ['untrackConnection', 'redialForWork', 'fillConnections', 'flush'] },
          { guard: 'isTrackedConnection', actions: ['untrackConnection', 'failQueriesToPeer', 'fillConnections', 'flush'] },
        ],
        'dial.failed': [
          { guard: 'isUnknownDial', actions: 'dropHeardAddress' },
          { guard: 'isHarmlessDialFailure', actions: 'forgetDial' },
          { actions: ['countFailedDial', 'failQueriesToDialedPeer', 'forgetDial', 'fillConnections', 'flush'] },
        ],
        message: [
          { guard: 'isFromUnconnectedPeer' },
          { guard: 'isFirstHello', actions: ['learnFromHello', 'flush'] },
          { guard: 'isFind', actions: ['answerFind', 'flush'] },
          { guard: 'isProvide', actions: ['storeProvider', 'flush'] },
          { guard: 'isProvideRefusal', actions: ['reportProvideRefusal', 'flush'] },
          { guard: 'isGetProviders', actions: ['answerGetProviders', 'flush'] },
          { guard: 'isAwaitedAnswer', actions: ['passAnswerToLookup', 'flush'] },
        ],
        'swarm.listening': { actions: 'updateAddresses' },
        'discovery.findPeer': [
          { guard: 'isInvalidPeerId', actions: [{ type: 'refuseFindPeer', params: { reason: 'invalid-peer' } }, 'flush'] },
          { guard: 'isSelfOrConnected', actions: ['answerFindPeerAtOnce', 'flush'] },
          { guard: 'isAtLookupLimit', actions: [{ type: 'refuseFindPeer', params: { reason: 'too-many-lookups' } }, 'flush'] },
          { guard: 'hasNoRoutes', actions: [{ type: 'refuseFindPeer', params: { reason: 'no-peers' } }, 'flush'] },
          { actions: ['startFindLookup', 'flush'] },
        ],
        'discovery.findProviders': [
          { guard: 'isInvalidProviderQuery', actions: [{ type: 'refuseFindProviders', params: { reason: 'invalid-key' } }, 'flush'] },
          { guard: 'isAtLookupLimit', actions: [{ type: 'refuseFindProviders', params: { reason: 'too-many-lookups' } }, 'flush'] },
          { guard: 'hasNoRoutes', actions: ['answerProvidersAtOnce', 'flush'] },
          { actions: ['startProvidersLookup', 'flush'] },
        ],
        'discovery.provide': { actions: ['provideKey', 'flush'] },
        'discovery.unprovide': { actions: 'unprovideKey' },
        'discovery.protect': { actions: 'protectPeer' },
        'discovery.unprotect': { actions: 'unprotectPeer' },
        'lookup.query': { actions: ['dispatchQueries', 'flush'] },
        'swarm.closing': { target: 'closed', actions: ['cancelLookups', 'exportPeers', 'flush'] },
      },
      states: {
        bootstrap: {
          initial: 'checking',
          states: {
            // (Entered once, when discovery starts, before any connection: so no `connected` branch.)
            checking: {
              always: [
                { guard: 'hasNoBootstrap', target: 'idle' },
                { target: 'dialing' },
              ],
            },
            idle: {},
            /** A bootstrap attempt: dial every bootstrap address, retry after a growing backoff. */
            dialing: {
              entry: ['dialBootstrap', 'scheduleBootstrapRetry', 'flush'],
              always: { guard: 'hasConnections', target: 'connected' },
              after: { bootstrapBackoff: { target: 'dialing', reenter: true } },
            },
            connected: {
              always: { guard: 'hasNoConnections', target: 'dialing', actions: 'resetBootstrap' },
            },
          },
        },
        manager: {
          initial: 'starting',
          states: {
            starting: {
              entry: ['fillConnections', 'flush'],
              always: 'watching',
            },
            watching: {
              after: { tickInterval: { target: 'watching', reenter: true, actions: ['purgeStaleDials', 'expireHeardPeers', 'trimConnections', 'fillConnections', 'resumeTickInterval', 'flush'] } },
            },
          },
        },
        lookupConnections: {
          initial: 'none',
          states: {
            none: { always: { guard: 'hasLookupConnections', target: 'lingering' } },
            /** Connections opened for lookup queries are open: every lookupLinger, release those idle that long. */
            lingering: {
              always: { guard: 'hasNoLookupConnections', target: 'none' },
              after: { lookupLinger: { target: 'lingering', reenter: true, actions: ['releaseLookupConnections', 'flush'] } },
            },
          },
        },
        refresh: {
          initial: 'waitingForRoutes',
          states: {
            waitingForRoutes: {
              always: { guard: 'isOnline', target: 'joining' },
            },
            joining: {
              entry: ['startSelfLookup', 'flush'],
              always: [
                { guard: 'refreshDisabled', target: 'off' },
                { target: 'walking' },
              ],
            },
            walking: {
              entry: 'scheduleRefresh',
              always: { guard: 'hasNoConnections', target: 'waitingForRoutes' },
              after: { refreshInterval: { target: 'walking', reenter: true, actions: ['refreshRoutes', 'flush'] } },
            },
            off: {},
          },
        },
        providers: {
          type: 'parallel',
          states: {
            announce: {
              initial: 'idle',
              states: {
                idle: { always: { guard: 'canAnnounce', target: 'announcing' } },
                /** One provided key at a time: a lookup for its k closest peers, then `provide` to each. */
                announcing: {
                  entry: ['startAnnounce', 'flush'],
                  always: { guard: 'isAnnounceDone', target: 'idle' },
                },
              },
            },
            republish: {
              initial: 'waiting',
              states: {
                waiting: { after: { republishInterval: { target: 'waiting', reenter: true, actions: 'markAllDue' } } },
              },
            },
            expiry: {
              initial: 'waiting',
              states: {
                waiting: { after: { providerSweep: { target: 'waiting', reenter: true, actions: 'dropExpiredProviders' } } },
              },
            },
          },
        },
      },
    },
    closed: {
      on: {
        'discovery.findPeer': { actions: ['answerUnavailable', 'flush'] },
        'discovery.findProviders': { actions: ['providersUnavailable', 'flush'] },
      },
    },
  },
})

/**
 * The discovery protocol for the swarm (`discovery: false` in createSwarm means: do not register
 * it at all; `{ enabled: false }` registers it in static mode). Options are checked here and
 * throw TypeError/RangeError.
 */
export function discoveryProtocol(options: DiscoveryOptions = {}): ProtocolDefinition<DiscoveryMessage, typeof DISCOVERY_ID, DiscoveryUserEvent, DiscoveryCommand> {
  const resolved = resolveOptions(options)
  return defineProtocol<DiscoveryMessage, typeof DISCOVERY_ID>({
    id: DISCOVERY_ID,
    machine: discoveryMachine,
    parse: (body) => parseMessage(body),
    options: resolved,
  }) as ProtocolDefinition<DiscoveryMessage, typeof DISCOVERY_ID, DiscoveryUserEvent, DiscoveryCommand> // its machine's `emitted` is loose; these are what it hands out
}

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
 *                    republish: waiting ⟲ after(republishInterval; the first at a seeded point of the first
 *                               interval): markAllDue (every provided key again), resumeRepublishInterval
 *                    expiry:    waiting ⟲ after(providerSweep; the first likewise): dropExpiredProviders,
 *                               resumeProviderSweep
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
 * Chart and data: this file is the chart (states, transitions, the names of its guards, actions
 * and delays) and `flush`; the named guards are in guards.ts, the other named actions in
 * actions.ts. Each lookup is a child actor (lookup.machine.ts: querying ⇄ waiting →
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
import { inputTime } from '../lib/runtime.js'
import type { SendEffect } from '../vocab.js'
import { discoveryActions } from './actions.js'
import { createContext, DISCOVERY_ID, type DiscoveryCommand, type DiscoveryContext, type DiscoveryEvent, type DiscoveryUserEvent } from './context.js'
import { discoveryGuards } from './guards.js'
import { lookupMachine } from './lookup.machine.js'
import { parseMessage, type DiscoveryMessage } from './messages.js'
import { resolveOptions, type DiscoveryOptions } from './options.js'

export { DISCOVERY_ID }

export const discoveryMachine = setup({
  types: {
    context: {} as DiscoveryContext,
    events: {} as DiscoveryEvent,
    input: {} as ProtocolInput<DiscoveryOptions>,
    emitted: {} as SendEffect | DiscoveryUserEvent,
  },
  actors: { lookup: lookupMachine },
  guards: discoveryGuards,
  actions: {
    ...discoveryActions,
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
    republishInterval: ({ context }) => context.republishDelay,
    /** Expired records are skipped when read; the sweep frees their memory (options.ts, providerSweepInterval). */
    providerSweep: ({ context }) => context.sweepDelay,
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
                waiting: { after: { republishInterval: { target: 'waiting', reenter: true, actions: ['markAllDue', 'resumeRepublishInterval'] } } },
              },
            },
            expiry: {
              initial: 'waiting',
              states: {
                waiting: { after: { providerSweep: { target: 'waiting', reenter: true, actions: ['dropExpiredProviders', 'resumeProviderSweep'] } } },
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

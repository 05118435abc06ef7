/**
 * `/xswarm/discovery/1`: bootstrap, peer exchange, Kademlia FIND_NODE, random walks and the
 * connection manager, as one protocol statechart (systemId `protocol:/xswarm/discovery/1`).
 *
 *   starting ─┬─(options.enabled false)─▶ disabled   (static mode: answers findPeer/export only)
 *             └─▶ active (parallel) ──(swarm.closing)──▶ closed
 *                  bootstrap: checking → idle | dialing ⇄ (after backoff) | connected
 *                  manager:   starting → watching ⟲ after(tickInterval): trim/fill
 *                  refresh:   waitingForRoutes → joining (self-lookup) → walking ⟲ after(refreshInterval ±25%):
 *                             a random walk and a self-lookup, in turn (libp2p's periodic bootstrap)
 * (The `always` guards of a region are mutually exclusive, so eventless transitions cannot loop:
 * `isOnline` needs a connection, and `walking` leaves only when there is none.)
 *
 * The regions only decide *when*; what happens is in the handlers (connections.ts, exchange.ts,
 * queries.ts), which update the context and return `Out` items that `run` turns into
 * `emit(toPeer(...))`, user events, `sendTo(swarm, dialRequest | hangUpRequest)` and lookup
 * children (lookup.machine.ts, `spawnChild`/`stopChild`). An event for a lookup that has just
 * finished finds no child; XState then delivers it to this actor, which ignores it.
 *
 * User commands (via `cmd.protocol` to this protocol): `discovery.findPeer {peer, queryId}`,
 * `discovery.export`, `discovery.protect {peer, tag?}`, `discovery.unprotect {peer, tag?}`.
 * User events: `peer.discovered`, `discovery.peer.found`, `discovery.peer.notFound`,
 * `discovery.exported` (see context.ts).
 * @module
 */
import { enqueueActions, setup, type AnyActorRef } from 'xstate'
import { defineProtocol, type ProtocolDefinition, type ProtocolInput } from '../lib/protocol.js'
import { nextFloat } from '../lib/rng.js'
import { inputTime } from '../lib/runtime.js'
import type { SendEffect } from '../vocab.js'
import { backoffDelay } from './backoff.js'
import { tableSize } from './kbucket.js'
import { lookupMachine } from './lookup.machine.js'
import { parseMessage, type DiscoveryMessage } from './messages.js'
import { resolveOptions, type DiscoveryOptions } from './options.js'
import { exportPeers } from './peer-store.js'
import {
  createContext, DISCOVERY_ID, ownAddresses,
  type DiscoveryContext, type DiscoveryEvent, type DiscoveryUserEvent, type Out,
} from './context.js'
import { dialBootstrap, fill, manage, onConnected, onDialFailed, onDisconnected, protect, unprotect } from './connections.js'
import { onMessage } from './exchange.js'
import { cancelLookups, onFindPeer, onLookupDone, onLookupQuery, randomKey, startLookup } from './queries.js'

export { DISCOVERY_ID }

type Handler = (ctx: DiscoveryContext, event: DiscoveryEvent, now: number, out: Out[]) => void

/**
 * Wrap a handler as an action: run it with the input time, then perform what it asked for.
 * (Typed loosely: XState's `enqueue` generics do not survive being built outside `setup`.)
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function run(handler: Handler): any {
  return enqueueActions(({ context, event, self, enqueue }: {
    context: DiscoveryContext; event: DiscoveryEvent; self: AnyActorRef; enqueue: any
  }) => {
    const out: Out[] = []
    handler(context, event, inputTime(self), out)
    for (const o of out) {
      switch (o.kind) {
        case 'emit': enqueue.emit(o.event); break
        case 'swarm': enqueue.sendTo(({ system }: { system: { get(id: string): AnyActorRef | undefined } }) => system.get('swarm'), o.event); break
        case 'lookup': enqueue.sendTo(({ self: me }: { self: AnyActorRef }) => me.getSnapshot().children[o.id], o.event); break
        case 'spawn': enqueue.spawnChild('lookup', { id: o.id, input: o.input }); break
        case 'stop': enqueue.stopChild(o.id); break
      }
    }
  })
}

function userEvent(out: Out[], event: DiscoveryUserEvent): void {
  out.push({ kind: 'emit', event })
}

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
  },
  actions: {
    handleConnected: run((ctx, e, now, out) => {
      if (e.type === 'peer.connected') onConnected(ctx, e.peer, e.address, e.direction, now, out)
    }),
    handleDisconnected: run((ctx, e, now, out) => {
      if (e.type === 'peer.disconnected') onDisconnected(ctx, e.peer, now, out)
    }),
    handleMessage: run((ctx, e, now, out) => {
      if (e.type === 'message') onMessage(ctx, e.peer, e.body, now, out)
    }),
    handleDialFailed: run((ctx, e, now, out) => {
      if (e.type === 'dial.failed') onDialFailed(ctx, e.address, e.peer, now, out)
    }),
    updateAddresses: run((ctx, e) => {
      if (e.type === 'swarm.listening') ctx.addresses = ownAddresses(ctx.peerId, e.addresses)
    }),
    findPeer: run((ctx, e, _now, out) => {
      if (e.type === 'discovery.findPeer') onFindPeer(ctx, e.peer, e.queryId, out)
    }),
    answerUnavailable: run((ctx, e, _now, out) => {
      if (e.type !== 'discovery.findPeer') return
      const reason = ctx.options.enabled ? 'closed' : 'disabled'
      userEvent(out, { type: 'discovery.peer.notFound', queryId: e.queryId, peer: String(e.peer), rounds: 0, reason })
    }),
    protectPeer: run((ctx, e) => {
      if (e.type === 'discovery.protect') protect(ctx, e.peer, e.tag)
    }),
    unprotectPeer: run((ctx, e) => {
      if (e.type === 'discovery.unprotect') unprotect(ctx, e.peer, e.tag)
    }),
    dispatchQueries: run((ctx, e, now, out) => {
      if (e.type === 'lookup.query') onLookupQuery(ctx, e, now, out)
    }),
    finishLookup: run((ctx, e, _now, out) => {
      const id = e.type.replace(/^xstate\.(done|error)\.actor\./, '')
      onLookupDone(ctx, id, e.type.startsWith('xstate.done.') ? (e as { output?: never }).output : undefined, out)
    }),
    cancelLookups: run((ctx, _e, _now, out) => cancelLookups(ctx, out)),
    exportPeers: run((ctx, _e, now, out) => userEvent(out, { type: 'discovery.exported', peers: exportPeers(ctx.store, now) })),
    dialBootstrap: run((ctx, _e, now, out) => dialBootstrap(ctx, now, out)),
    scheduleBootstrapRetry: run((ctx) => {
      ctx.bootstrapDelay = backoffDelay(ctx.bootstrapAttempt, ctx.options.bootstrapBackoff, ctx.rng)
      ctx.bootstrapAttempt++
    }),
    resetBootstrap: run((ctx) => { ctx.bootstrapAttempt = 0 }),
    scheduleRefresh: run((ctx) => {
      // ±25% so nodes that joined together do not all refresh (and hit the same peers) together
      ctx.refreshDelay = Math.max(1, Math.round(ctx.options.refreshInterval * (0.75 + 0.5 * nextFloat(ctx.rng))))
    }),
    fillConnections: run((ctx, _e, now, out) => fill(ctx, now, out)),
    manageConnections: run((ctx, _e, now, out) => manage(ctx, now, out)),
    startSelfLookup: run((ctx, _e, _now, out) => { startLookup(ctx, { kind: 'self', target: ctx.selfKey }, out) }),
    refreshRoutes: run((ctx, _e, _now, out) => {
      // alternate: a self-lookup (keeps our neighbourhood, and us in theirs) and a random walk
      const self = ctx.refreshCount++ % 2 === 0
      startLookup(ctx, self ? { kind: 'self', target: ctx.selfKey } : { kind: 'walk', target: randomKey(ctx) }, out)
    }),
  },
  delays: {
    bootstrapBackoff: ({ context }) => context.bootstrapDelay,
    tickInterval: ({ context }) => context.options.tickInterval,
    refreshInterval: ({ context }) => context.refreshDelay,
  },
}).createMachine({
  id: 'discovery',
  context: ({ input, self }) => createContext(input, inputTime(self)),
  initial: 'starting',
  on: {
    'discovery.export': { actions: 'exportPeers' },
    'xstate.done.actor.*': { actions: 'finishLookup' },
    'xstate.error.actor.*': { actions: 'finishLookup' },
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
        'discovery.findPeer': { actions: 'answerUnavailable' },
        'swarm.closing': { target: 'closed' },
      },
    },
    active: {
      type: 'parallel',
      on: {
        'peer.connected': { actions: 'handleConnected' },
        'peer.disconnected': { actions: 'handleDisconnected' },
        'message': { actions: 'handleMessage' },
        'dial.failed': { actions: 'handleDialFailed' },
        'swarm.listening': { actions: 'updateAddresses' },
        'discovery.findPeer': { actions: 'findPeer' },
        'discovery.protect': { actions: 'protectPeer' },
        'discovery.unprotect': { actions: 'unprotectPeer' },
        'lookup.query': { actions: 'dispatchQueries' },
        'swarm.closing': { target: 'closed', actions: ['cancelLookups', 'exportPeers'] },
      },
      states: {
        bootstrap: {
          initial: 'checking',
          states: {
            checking: {
              always: [
                { guard: 'hasNoBootstrap', target: 'idle' },
                { guard: 'hasConnections', target: 'connected' },
                { target: 'dialing' },
              ],
            },
            idle: {},
            dialing: {
              entry: ['dialBootstrap', 'scheduleBootstrapRetry'],
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
              entry: 'fillConnections',
              always: 'watching',
            },
            watching: {
              after: { tickInterval: { target: 'watching', reenter: true, actions: 'manageConnections' } },
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
              entry: 'startSelfLookup',
              always: [
                { guard: 'refreshDisabled', target: 'off' },
                { target: 'walking' },
              ],
            },
            walking: {
              entry: 'scheduleRefresh',
              always: { guard: 'hasNoConnections', target: 'waitingForRoutes' },
              after: { refreshInterval: { target: 'walking', reenter: true, actions: 'refreshRoutes' } },
            },
            off: {},
          },
        },
      },
    },
    closed: {
      on: {
        'discovery.findPeer': { actions: 'answerUnavailable' },
      },
    },
  },
})

/**
 * The discovery protocol for the swarm (`discovery: false` in createSwarm means: do not register
 * it at all; `{ enabled: false }` registers it in static mode). Options are checked here and
 * throw TypeError/RangeError.
 */
export function discoveryProtocol(options: DiscoveryOptions = {}): ProtocolDefinition<DiscoveryMessage> {
  const resolved = resolveOptions(options)
  return defineProtocol<DiscoveryMessage>({
    id: DISCOVERY_ID,
    machine: discoveryMachine,
    parse: (body) => parseMessage(body),
    options: resolved,
  })
}

/**
 * The discovery machine's named actions (discovery.machine.ts), but `flush`: each a short step
 * that runs a plain function of the context, the event and the input time (connections.ts,
 * exchange.ts, queries.ts, providers.ts), which mutates the context in place and leaves what it
 * asks for (frames, user events, dial and hang-up requests, lookup events and children) in
 * `context.out`; the machine's `flush`, which ends every transition, performs it in order.
 * @module
 */
import type { AnyActorRef } from 'xstate'
import { enqueueActions } from '../lib/enqueue.js'
import { nextFloat } from '../lib/rng.js'
import { inputTime } from '../lib/runtime.js'
import { backoffDelay } from './backoff.js'
import {
  countFailedDial, dialBootstrap, dropHeardAddress, fill, protect, purgeStaleDials,
  releaseLookupConnections, rememberConnectedPeer, trackConnection, trim, unprotect, untrackConnection,
} from './connections.js'
import { ownAddresses, type DiscoveryContext, type DiscoveryEvent, type Out } from './context.js'
import { onFind, onFound, onHello, sendHello } from './exchange.js'
import { dialKeyOf, type E } from './guards.js'
import type { FindMessage, FoundMessage, GetProvidersMessage, HelloMessage, ProvidedMessage, ProvideMessage, ProvidersMessage } from './messages.js'
import { providerSweepInterval } from './options.js'
import { exportPeers } from './peer-store.js'
import { expireHeardPeers } from './peers.js'
import { expireProviders } from './provider-store.js'
import {
  answerProvidersAtOnce, dropOffers, flushOffers, markAllDue, onGetProviders, onProvide,
  onProvided, onProvidersAnswer, provide, refuseFindProviders, startAnnounce, startProvidersLookup, unprovide,
} from './providers.js'
import {
  answerFindPeerAtOnce, cancelLookups, failQueriesTo, flushAwaiting, onLookupDone, onLookupQuery,
  randomKey, redialForWork, refuseFindPeer, startFindLookup, startLookup,
} from './queries.js'

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

/** The named actions, by name (`flush` is the machine's own). */
export const discoveryActions = {
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
  /** After the first republish (drawn within the first interval, context.ts), one every republishInterval. */
  resumeRepublishInterval: step((ctx) => { ctx.republishDelay = ctx.options.republishInterval }),
  dropExpiredProviders: step((ctx, _e, now) => { expireProviders(ctx.providerStore, now) }),
  /** After the first sweep (drawn within the first period, context.ts), one every providerSweepInterval. */
  resumeProviderSweep: step((ctx) => { ctx.sweepDelay = providerSweepInterval(ctx.options) }),
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
}
